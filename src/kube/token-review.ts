import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { F, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields } from './client.js';

/**
 * Bearer tokens checked with a TokenReview (TESTING.md §5.6), cached by a hash of the token as
 * Kubernetes' own delegated authentication does: every push must not cost an API call. Used by
 * both the authenticator (--auth.mode=kubernetes) and the attributor, so one push is reviewed at
 * most once. A review that could not be made (API server unreachable, no permission) is not
 * cached: the next request asks again.
 */

export interface TokenReviewOptions {
  /** How long an answer is reused (ms); rejections are kept a tenth of that. */
  readonly cacheTtlMs: number;
  /** Audiences to ask the TokenReview for; empty: the API server's. */
  readonly audiences: readonly string[];
}

export interface Reviewed {
  readonly authenticated: boolean;
  readonly user?: string;
  readonly groups?: readonly string[];
  /** The namespace of a ServiceAccount token. */
  readonly namespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  /** The API server's reason for a rejection (it names no secret). */
  readonly error?: string;
  readonly expiresAt: number;
}

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;
const MAX_CACHED = 10_000;

const tokenReviewStatus = z.object({
  authenticated: z.boolean().optional(),
  error: z.string().optional(),
  user: z
    .object({
      username: z.string().optional(),
      groups: z.array(z.string()).optional(),
      extra: z.record(z.string(), z.array(z.string())).optional(),
    })
    .optional(),
});

export interface TokenReviewerDeps {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly options: TokenReviewOptions;
  /** Time in ms (tests move it). */
  readonly now?: () => number;
}

export class TokenReviewer {
  private readonly authn: AuthenticationV1Api;
  private readonly reviews = new Map<string, Reviewed>();
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: TokenReviewerDeps) {
    this.authn = deps.kubeConfig.makeApiClient(AuthenticationV1Api);
    this.log = deps.logger.child({ [F.component]: 'kube' });
    this.now = deps.now ?? Date.now;
  }

  /** The review of a token, cached; undefined when the API server could not be asked. */
  async review(token: string): Promise<Reviewed | undefined> {
    const id = createHash('sha256').update(token).digest('hex');
    const now = this.now();
    const cached = this.reviews.get(id);
    if (cached !== undefined && cached.expiresAt > now) {
      this.deps.metrics.tokenReviews.inc({ result: 'cached' });
      return cached;
    }
    const { audiences, cacheTtlMs } = this.deps.options;
    let status: z.infer<typeof tokenReviewStatus>;
    try {
      const answer = await this.authn.createTokenReview({
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...(audiences.length === 0 ? {} : { audiences: [...audiences] }) },
        },
      });
      status = tokenReviewStatus.parse(answer.status ?? {});
    } catch (err) {
      this.deps.metrics.tokenReviews.inc({ result: 'error' });
      this.log.warn('Failed to review a bearer token', { [F.err]: apiErrorFields(err) });
      return undefined;
    }
    let reviewed: Reviewed;
    if (status.authenticated !== true) {
      this.deps.metrics.tokenReviews.inc({ result: 'rejected' });
      reviewed = { authenticated: false, expiresAt: now + cacheTtlMs / 10, ...(status.error === undefined ? {} : { error: status.error }) };
    } else {
      this.deps.metrics.tokenReviews.inc({ result: 'authenticated' });
      const user = status.user?.username;
      const sa = user === undefined ? null : SERVICE_ACCOUNT.exec(user);
      const podName = status.user?.extra?.[POD_NAME]?.[0];
      const podUid = status.user?.extra?.[POD_UID]?.[0];
      reviewed = {
        authenticated: true,
        expiresAt: now + cacheTtlMs,
        ...(user === undefined ? {} : { user }),
        ...(status.user?.groups === undefined ? {} : { groups: status.user.groups }),
        ...(sa?.[1] === undefined ? {} : { namespace: sa[1] }),
        ...(podName === undefined ? {} : { podName }),
        ...(podUid === undefined ? {} : { podUid }),
      };
    }
    if (cacheTtlMs > 0) {
      if (this.reviews.size >= MAX_CACHED) {
        for (const [key, value] of this.reviews) if (value.expiresAt <= now || this.reviews.size >= MAX_CACHED) this.reviews.delete(key);
      }
      this.reviews.set(id, reviewed);
    }
    return reviewed;
  }
}
