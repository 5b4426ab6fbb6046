import { ErrorCode, UnauthorizedError, UnavailableError } from '../errors.js';
import type { Authenticator, Credentials, Principal } from '../gateway/index.js';
import type { TokenReviewer } from './token-review.js';

/**
 * --auth.mode=kubernetes: a bearer token is a ServiceAccount (or other Kubernetes) token, checked
 * with a TokenReview. A ServiceAccount's principal carries its namespace and, for a token bound to
 * a pod, the pod; users named in --auth.kubernetes-admins are admins. When the API server cannot
 * be asked and the answer is not cached, the request gets 503: it is never let through unchecked
 * nor attributed by a guess.
 */
export class KubeAuthenticator implements Authenticator {
  readonly name = 'kubernetes' as const;
  private readonly admins: ReadonlySet<string>;

  constructor(
    private readonly reviewer: TokenReviewer,
    admins: readonly string[],
  ) {
    this.admins = new Set(admins);
  }

  async authenticate(credentials: Credentials): Promise<Principal | undefined> {
    if (credentials.scheme !== 'bearer') return undefined;
    const review = await this.reviewer.review(credentials.token);
    if (review === undefined) {
      throw new UnavailableError(
        ErrorCode.authUnavailable,
        'service unavailable: the bearer token could not be checked (the Kubernetes API server did not answer the TokenReview); nothing was written, retry later',
      );
    }
    if (!review.authenticated) {
      const why = review.error === undefined || review.error === '' ? '' : ` (${review.error})`;
      throw new UnauthorizedError(ErrorCode.badCredentials, `unauthorized: the Kubernetes API server did not accept the bearer token${why}`);
    }
    const name = review.user ?? '';
    return {
      source: 'kubernetes',
      name,
      admin: name !== '' && this.admins.has(name),
      ...(review.namespace === undefined ? {} : { namespace: review.namespace }),
      ...(review.podName === undefined ? {} : { pod: { name: review.podName, ...(review.podUid === undefined ? {} : { uid: review.podUid }) } }),
    };
  }
}
