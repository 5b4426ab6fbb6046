import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, ErrorCode, messageOf } from '../../errors.js';
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

export interface Script {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

export function luaScript(name: string, lua: string): Script {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Runs a script by its SHA, loading it on the server's first NOSCRIPT (e.g. after a restart). */
export async function runScript(client: Redis, script: Script, args: readonly string[]): Promise<unknown> {
  try {
    return await client.call('EVALSHA', script.sha, '0', ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.call('EVAL', script.lua, '0', ...args);
  }
}

/** Server answers that mean "not now" rather than "wrong": the push gets 503 and can be retried. */
const TRANSIENT = /^(LOADING|READONLY|MISCONF|OOM|NOREPLICAS|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOSCRIPT)/;
/** How ioredis words a connection that is gone (the status may not say so yet). */
const LOST = /Stream isn't writeable|max retries per request|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE/i;

/** Why Redis failed a command of `client`, when that means "not now" (retry later); rethrows anything else. */
export function transientReason(err: unknown, client: Redis): string {
  const message = messageOf(err);
  const transient = !(err instanceof Error) || err.name !== 'ReplyError' || TRANSIENT.test(message);
  if (!transient) throw err;
  // ioredis words a lost connection after its own options; say what happened instead.
  return client.status !== 'ready' || LOST.test(message) ? 'not connected' : message;
}

/** Reports connection changes once per change (ioredis emits an error on every reconnect attempt). */
export function watchConnection(client: Redis, onConnection: ((connected: boolean, err: unknown) => void) | undefined): void {
  let connected = false;
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  client.on('ready', () => {
    if (connected) return;
    connected = true;
    onConnection?.(true, undefined);
  });
  client.on('close', () => {
    if (!connected) return;
    connected = false;
    onConnection?.(false, lastError);
  });
}
