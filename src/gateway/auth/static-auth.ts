import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, ErrorCode, UnauthorizedError, messageOf } from '../../errors.js';
import { F, errorFields, type Logger, type Metrics } from '../../observability/index.js';
import { FileWatch, defaultFileWatchTimings } from '../file-watch.js';
import type { Authenticator, Credentials, Principal } from '../types.js';

/**
 * Static credentials for pushers outside the cluster (CI pipelines) and for Prometheus: bearer
 * tokens and basic-auth users from a JSON file (mounted from a Secret), each bound to one
 * namespace, or an admin, or neither (read only). The file is reloaded when it changes; a file
 * that does not parse leaves the previous one in force. Tokens are kept only as SHA-256 digests
 * and compared by digest, passwords in constant time; nothing of the file is ever logged.
 */

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MIN_SECRET = 16;

const common = {
  name: z.string().min(1, 'must not be empty'),
  namespace: z.string().max(63).regex(NAMESPACE, 'must be a namespace name (DNS-1123 label)').optional(),
  admin: z.boolean().optional(),
};

const tokenEntry = z
  .strictObject({
    ...common,
    token: z.string().min(MIN_SECRET, `must have at least ${MIN_SECRET} characters`).regex(/^\S+$/, 'must not contain spaces').optional(),
    tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits').optional(),
  })
  .refine((t) => (t.token === undefined) !== (t.tokenSha256 === undefined), 'needs exactly one of token and tokenSha256');

const userEntry = z.strictObject({
  ...common,
  password: z.string().min(MIN_SECRET, `must have at least ${MIN_SECRET} characters`),
});

const fileSchema = z.strictObject({
  tokens: z.array(tokenEntry).default([]),
  users: z.array(userEntry).default([]),
});

interface StaticCredentials {
  /** By SHA-256 of the token (hex). */
  readonly tokens: ReadonlyMap<string, Principal>;
  readonly users: ReadonlyMap<string, { readonly principal: Principal; readonly passwordSha256: Buffer }>;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function principalOf(entry: { name: string; namespace?: string | undefined; admin?: boolean | undefined }): Principal {
  return { source: 'static', name: entry.name, admin: entry.admin === true, ...(entry.namespace === undefined ? {} : { namespace: entry.namespace }) };
}

/** Parses the file. Error messages name entries by position and name, never a secret or a line of the file. */
export function parseStaticCredentials(text: string): StaticCredentials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8's message quotes the input around the error, which may be a token: only the position.
    const at = /position (\d+)/.exec(messageOf(err))?.[1];
    // eslint-disable-next-line preserve-caught-error -- the cause would carry the quote of the file
    throw new Error(`not valid JSON${at === undefined ? '' : ` (near character ${at})`}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; '));
  }
  const tokens = new Map<string, Principal>();
  parsed.data.tokens.forEach((entry, i) => {
    const digest = entry.tokenSha256 ?? sha256(entry.token ?? '').toString('hex');
    if (tokens.has(digest)) throw new Error(`tokens.${i} (${JSON.stringify(entry.name)}): the same token as an earlier entry`);
    tokens.set(digest, principalOf(entry));
  });
  const users = new Map<string, { principal: Principal; passwordSha256: Buffer }>();
  parsed.data.users.forEach((entry, i) => {
    if (users.has(entry.name)) throw new Error(`users.${i}: a second user named ${JSON.stringify(entry.name)}`);
    users.set(entry.name, { principal: principalOf(entry), passwordSha256: sha256(entry.password) });
  });
  return { tokens, users };
}

export interface StaticAuthDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How often the file is re-read without a change event (ms); tests shorten it. */
  readonly pollMs?: number;
}

export class StaticAuthenticator implements Authenticator {
  readonly name = 'static' as const;

  private constructor(
    private credentials: StaticCredentials,
    private readonly watch: FileWatch | undefined,
  ) {}

  /** Reads and watches the file; a file that cannot be read or parsed stops start-up. */
  static async open(path: string, deps: StaticAuthDeps): Promise<StaticAuthenticator> {
    const log = deps.logger.child({ [F.component]: 'gateway' });
    const holder: { auth?: StaticAuthenticator } = {};
    try {
      const { watch, contents } = await FileWatch.open([path], {
        pollMs: deps.pollMs ?? defaultFileWatchTimings.pollMs,
        debounceMs: defaultFileWatchTimings.debounceMs,
        onChange: ([text]) => {
          const credentials = parseStaticCredentials(text?.toString('utf8') ?? '');
          if (holder.auth !== undefined) holder.auth.credentials = credentials;
          deps.metrics.fileReloads.inc({ file: 'static_auth', result: 'success' });
          log.info('Reloaded static credentials', { file: path, tokens: credentials.tokens.size, users: credentials.users.size });
        },
        onError: (err) => {
          deps.metrics.fileReloads.inc({ file: 'static_auth', result: 'error' });
          log.error('Failed to reload static credentials; the previous ones stay in use', { file: path, [F.err]: errorFields(err) });
        },
      });
      try {
        holder.auth = new StaticAuthenticator(parseStaticCredentials(contents[0]?.toString('utf8') ?? ''), watch);
      } catch (err) {
        watch.close();
        throw err;
      }
      return holder.auth;
    } catch (err) {
      throw new ConfigError(ErrorCode.config, `invalid configuration:\n  --auth.static-file=${JSON.stringify(path)}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** From credentials already parsed (tests). */
  static of(text: string): StaticAuthenticator {
    return new StaticAuthenticator(parseStaticCredentials(text), undefined);
  }

  authenticate(credentials: Credentials): Promise<Principal | undefined> {
    if (credentials.scheme === 'bearer') {
      return Promise.resolve(this.credentials.tokens.get(sha256(credentials.token).toString('hex')));
    }
    const user = this.credentials.users.get(credentials.user);
    // Hash even for an unknown user, so that the answer takes as long either way.
    const given = sha256(credentials.password);
    if (user === undefined) return Promise.resolve(undefined);
    if (!timingSafeEqual(given, user.passwordSha256)) {
      return Promise.reject(new UnauthorizedError(ErrorCode.badCredentials, 'unauthorized: unknown user or wrong password'));
    }
    return Promise.resolve(user.principal);
  }

  close(): void {
    this.watch?.close();
  }
}
