import bcrypt from 'bcryptjs';
import { createHash } from 'node:crypto';
import { ErrorCode, TooManyRequestsError, UnauthorizedError } from '../../errors.js';
import { F, type Logger, type Metrics } from '../../observability/index.js';
import type { WebAccess } from '../types.js';
import type { WebConfig, WebConfigSource } from '../web-config.js';
import { parseCredentials } from './authenticate.js';

/**
 * What `--web.config.file` asks of every request (docs/web-configuration.md), before
 * Lethe's own authentication: its response headers, its rate limit (429) and its basic auth
 * users (401 with `WWW-Authenticate: Basic`). Health and readiness probes pass without
 * credentials and are not rate limited (the toolkit guards them too; a kubelet probe then needs
 * the password, and a busy Lethe would be restarted).
 *
 * Passwords are checked against the bcrypt hashes with bcryptjs (Node's crypto has no bcrypt);
 * an answer is remembered for a hash of user, hash and password (the toolkit caches too, since a
 * bcrypt check takes tens of milliseconds by design), and an unknown user costs as much as a
 * known one.
 */

/** A bcrypt hash (cost 10) of a random string nobody kept, compared against when the user is unknown. */
const UNKNOWN_USER_HASH = '$2b$10$lOPHy2DUhnbsPU2DYvz5/.sofr1orXNsBUrSzlbIb9Z7jxJs5vaGG';
const CACHE_SIZE = 100;

export interface WebAccessDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Unix ms now (the rate limit's clock). */
  readonly now: () => number;
}

class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  same(limit: NonNullable<WebConfig['rateLimit']>): boolean {
    return limit.burst === this.burst && limit.intervalMs === this.intervalMs;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) / this.intervalMs);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export function createWebAccess(source: WebConfigSource, deps: WebAccessDeps): WebAccess {
  const log = deps.logger.child({ [F.component]: 'gateway' });
  /** Digest of user, hash and password → whether they matched (insertion order = age). */
  const answers = new Map<string, boolean>();
  let bucket: TokenBucket | undefined;

  const refuse = (reason: string, message: string): never => {
    deps.metrics.authFailures.inc({ reason });
    log.debug('Refused request', { [F.reason]: reason });
    throw new UnauthorizedError(reason === 'missing_credentials' ? ErrorCode.unauthenticated : ErrorCode.badCredentials, `unauthorized: ${message}`, {
      details: { challenges: ['Basic'] },
    });
  };

  const passwordMatches = async (user: string, password: string, users: ReadonlyMap<string, string>): Promise<boolean> => {
    const hash = users.get(user);
    const key = createHash('sha256').update(`${user}\u0000${hash ?? ''}\u0000${password}`).digest('hex');
    const known = answers.get(key);
    if (known !== undefined) return known;
    const matched = (await bcrypt.compare(password, hash ?? UNKNOWN_USER_HASH)) && hash !== undefined;
    answers.set(key, matched);
    if (answers.size > CACHE_SIZE) answers.delete(answers.keys().next().value ?? '');
    return matched;
  };

  return {
    async check(req, res, probe) {
      const config = source.current;
      for (const [name, value] of config.headers) res.setHeader(name, value);
      if (probe) return;
      const limit = config.rateLimit;
      if (limit === undefined) {
        bucket = undefined;
      } else {
        const now = deps.now();
        if (bucket?.same(limit) !== true) bucket = new TokenBucket(limit.burst, limit.intervalMs, now);
        if (!bucket.take(now)) {
          deps.metrics.limitRejections.inc({ limit: 'rate_limit' });
          throw new TooManyRequestsError(ErrorCode.rateLimited, 'limit exceeded: too many requests (rate_limit in --web.config.file); retry later');
        }
      }
      if (config.users.size === 0) return;
      let credentials;
      try {
        credentials = parseCredentials(req.headers.authorization);
      } catch {
        return refuse('bad_credentials', 'malformed credentials in the Authorization header');
      }
      if (credentials === undefined) return refuse('missing_credentials', 'basic auth credentials are required (basic_auth_users in --web.config.file)');
      if (credentials.scheme !== 'basic') return refuse('bad_credentials', 'basic auth credentials are required (basic_auth_users in --web.config.file)');
      if (!(await passwordMatches(credentials.user, credentials.password, config.users))) {
        return refuse('bad_credentials', 'unknown user or wrong password');
      }
    },
  };
}
