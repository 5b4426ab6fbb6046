import type { Request } from 'express';
import { ErrorCode, ForbiddenError, UnauthorizedError } from '../../errors.js';
import { F, type Logger, type Metrics } from '../../observability/index.js';
import { anonymous, type Authenticator, type Credentials, type Principal } from '../types.js';
import type { Config } from '../../config/index.js';

/**
 * The authentication step: turns a request's Authorization header into a Principal through the
 * injected authenticators, and says whether that principal may use a route. With --auth.mode=none
 * nothing is checked and every caller is anonymous (the Pushgateway's behaviour); the header then
 * goes on to the attributor untouched. Credentials never reach a log line or an error message.
 */

/** What a route needs: nothing, the read permission (--auth.read), a namespace to write in, or admin. */
export type Access = 'open' | 'read' | 'write' | 'admin';

export interface AuthenticationDeps {
  readonly config: Config;
  readonly authenticators: readonly Authenticator[];
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface Authentication {
  /** The caller, once it is allowed `access`; throws 401/403/503 otherwise. */
  check(req: Request, access: Access): Promise<Principal>;
}

/** `Bearer <token>` or `Basic <base64(user:password)>`; undefined when there is no header. */
export function parseCredentials(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2] ?? '';
  if (scheme === 'bearer') return { scheme: 'bearer', token: value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
      return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    throw new UnauthorizedError(ErrorCode.badCredentials, 'unauthorized: malformed basic credentials in the Authorization header');
  }
  throw new UnauthorizedError(ErrorCode.badCredentials, 'unauthorized: the Authorization header must be "Bearer <token>" or "Basic <credentials>"');
}

export function createAuthentication(deps: AuthenticationDeps): Authentication {
  const { auth } = deps.config;
  const log = deps.logger.child({ [F.component]: 'gateway' });
  const challenges = ['Bearer realm="lethe"', ...(auth.staticFile === '' ? [] : ['Basic realm="lethe", charset="UTF-8"'])];

  const refuse = (reason: string, error: UnauthorizedError | ForbiddenError): never => {
    deps.metrics.authFailures.inc({ reason });
    log.debug('Refused request', { [F.reason]: reason, [F.err]: { name: error.name, code: error.code, message: error.message } });
    throw error;
  };
  const unauthorized = (reason: string, code: string, message: string): never =>
    refuse(reason, new UnauthorizedError(code, `unauthorized: ${message}`, { details: { challenges } }));

  const authenticate = async (req: Request): Promise<Principal> => {
    let credentials: Credentials | undefined;
    try {
      credentials = parseCredentials(req.headers.authorization);
    } catch (err) {
      if (err instanceof UnauthorizedError) return unauthorized('bad_credentials', err.code, err.message.replace(/^unauthorized: /, ''));
      throw err;
    }
    if (credentials === undefined) return anonymous;
    for (const authenticator of deps.authenticators) {
      let principal: Principal | undefined;
      try {
        principal = await authenticator.authenticate(credentials);
      } catch (err) {
        if (err instanceof UnauthorizedError) return unauthorized('bad_credentials', err.code, err.message.replace(/^unauthorized: /, ''));
        deps.metrics.authFailures.inc({ reason: 'unavailable' });
        throw err;
      }
      if (principal !== undefined) return principal;
    }
    return credentials.scheme === 'bearer'
      ? unauthorized('bad_credentials', ErrorCode.badCredentials, 'the bearer token is not known')
      : unauthorized('bad_credentials', ErrorCode.badCredentials, 'unknown user or wrong password');
  };

  return {
    async check(req, access) {
      if (!auth.enabled || access === 'open') return anonymous;
      if (access === 'read' && auth.read === 'anyone') return anonymous;
      const principal = await authenticate(req);
      if (principal.source === 'anonymous') {
        return unauthorized('missing_credentials', ErrorCode.unauthenticated, 'credentials are required (a bearer token or, for static users, basic auth)');
      }
      const needsAdmin = access === 'admin' || (access === 'read' && auth.read === 'admin');
      if (needsAdmin && !principal.admin) {
        return refuse('not_admin', new ForbiddenError(ErrorCode.notAdmin, 'forbidden: this needs admin credentials'));
      }
      if (access === 'write' && !principal.admin && principal.namespace === undefined) {
        return refuse(
          'no_namespace',
          new ForbiddenError(ErrorCode.noNamespace, 'forbidden: these credentials are not bound to a namespace; they may read but not push or delete'),
        );
      }
      return principal;
    },
  };
}

/**
 * The namespace a caller's writes are confined to: its own, unless authentication is off or the
 * caller is an admin (then none). A non-admin caller without a namespace never gets here
 * (check() refuses it), and is refused again rather than left unconfined.
 */
export function writeNamespace(config: Config, principal: Principal): string | undefined {
  if (!config.auth.enabled || principal.admin) return undefined;
  if (principal.namespace === undefined) {
    throw new ForbiddenError(ErrorCode.noNamespace, 'forbidden: these credentials are not bound to a namespace; they may read but not push or delete');
  }
  return principal.namespace;
}
