import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, ErrorCode } from '../../errors.js';
import { SCHEMES, redactRedisUrl } from './url.js';

export { isRedisUrl, redactRedisUrl } from './url.js';

/**
 * Redis URLs and connections. Accepted forms:
 *
 *   redis://[user:password@]host[:port][/db]          plain TCP (valkey:// is the same)
 *   rediss://…                                         TLS (valkeys:// is the same)
 *   redis+sentinel://[user:password@]h1:26379[,h2:26379…]/<primary name>[/db][?sentinelPassword=…]
 *   rediss+sentinel://…                                the same over TLS (to Sentinels and Redis)
 *
 * The client follows a Sentinel failover by itself; the store then resyncs its local view.
 */

export interface ConnectionSettings {
  readonly url: string;
  /** Connect and command timeout (ms). */
  readonly timeoutMs: number;
  /** Shown in CLIENT LIST. */
  readonly name: string;
}


function invalid(url: string, why: string): ConfigError {
  return new ConfigError(ErrorCode.config, `invalid configuration:\n  --store.redis.url=${JSON.stringify(redactRedisUrl(url))}: ${why}`);
}

/** ioredis options for a URL (throws ConfigError naming the problem). */
export function redisOptionsOf(url: string): { readonly url?: string; readonly options: RedisOptions } {
  const scheme = SCHEMES.exec(url)?.[1];
  if (scheme === undefined) throw invalid(url, 'expected redis://, rediss://, redis+sentinel:// or rediss+sentinel://');
  if (!scheme.endsWith('+sentinel')) {
    const plain = url.replace(/^valkey/, 'redis');
    try {
      new URL(plain);
    } catch {
      throw invalid(url, 'not a URL');
    }
    return { url: plain, options: {} };
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@', rest.indexOf('/') === -1 ? rest.length : rest.indexOf('/'));
  const auth = at === -1 ? '' : rest.slice(0, at);
  const afterAuth = at === -1 ? rest : rest.slice(at + 1);
  const [hostsPart = '', ...pathAndQuery] = afterAuth.split('/');
  const pathQuery = pathAndQuery.join('/');
  const [path = '', query = ''] = pathQuery.split('?');
  const [name = '', dbText] = path.split('/');
  if (name === '') throw invalid(url, 'a Sentinel URL needs the primary name as its path (…/mymaster)');
  const sentinels = hostsPart.split(',').map((hostPort) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
    if (m?.[1] === undefined) throw invalid(url, `bad Sentinel address ${JSON.stringify(hostPort)}`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] === undefined ? 26379 : Number(m[2]) };
  });
  const db = dbText === undefined || dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !Number.isInteger(db)) throw invalid(url, `bad database number ${JSON.stringify(dbText)}`);
  const colon = auth.indexOf(':');
  const username = colon === -1 ? '' : decodeURIComponent(auth.slice(0, colon));
  const password = colon === -1 ? decodeURIComponent(auth) : decodeURIComponent(auth.slice(colon + 1));
  const params = new URLSearchParams(query);
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  const tls = scheme.startsWith('rediss');
  return {
    options: {
      sentinels,
      name: decodeURIComponent(name),
      ...(db === undefined ? {} : { db }),
      ...(username === '' ? {} : { username }),
      ...(password === '' ? {} : { password }),
      ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
      ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    },
  };
}

/**
 * A client that fails fast while Redis is unreachable (no offline queue, no resending of
 * commands whose answer was lost), so that a push is answered 503 instead of waiting or being
 * applied twice; it reconnects by itself in the background.
 */
export function connect(settings: ConnectionSettings, extra: RedisOptions = {}): Redis {
  const { url, options } = redisOptionsOf(settings.url);
  const all: RedisOptions = {
    connectionName: settings.name,
    connectTimeout: settings.timeoutMs,
    commandTimeout: settings.timeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    keepAlive: 10_000,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    ...options,
    ...extra,
  };
  return url === undefined ? new Redis(all) : new Redis(url, all);
}

/** Runs a script by its SHA, loading it on the server's first NOSCRIPT (e.g. after a restart). */
export async function runScript(client: Redis, script: { readonly lua: string; readonly sha: string }, args: readonly string[]): Promise<unknown> {
  try {
    return await client.call('EVALSHA', script.sha, '0', ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.call('EVAL', script.lua, '0', ...args);
  }
}
