import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { LeaseAttempt, LeaseBackend } from '../../leadership/index.js';
import { connect, luaScript, runScript } from './connection.js';
import { keysOf } from './keys.js';

/**
 * The leadership backend in Redis, for replicas that share a Redis store without a Kubernetes API
 * (the standalone HA mode). Redis is the clock that judges expiry: the key carries the holder and
 * a TTL of the lease duration, set or renewed in one script; a replica that does not hold the
 * lease learns when the TTL runs out and tries again then, so a dead holder is replaced within
 * the lease duration (plus one round trip). The loop around it is leadership/elector.ts. The
 * holder name carries a random suffix: two processes that share a name can never both hold the
 * lease. The lease has its own connection (named lethe-lease), so it does not depend on the store.
 */

/** ARGV: 1 lease key, 2 holder, 3 ttl ms. Takes or renews the lease: {1, ttl} when held, else {0, ms left}. */
const LEASE_ACQUIRE = luaScript(
  'lease-acquire',
  `
local v = redis.call('GET', ARGV[1])
if v == false or v == ARGV[2] then
  redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3])
  return {1, tonumber(ARGV[3])}
end
return {0, redis.call('PTTL', ARGV[1])}
`,
);

/** ARGV: 1 lease key, 2 holder. Gives the lease up when held. */
const LEASE_RELEASE = luaScript(
  'lease-release',
  `
if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('DEL', ARGV[1]) end
return 0
`,
);

export interface RedisLeaseOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Connect and command timeout (ms). */
  readonly timeoutMs: number;
  /** This replica's name (config/replica.ts); a random suffix is added. */
  readonly identity: string;
  readonly leaseDurationMs: number;
}

const replySchema = z.tuple([z.number(), z.number()]);

export class RedisLease implements LeaseBackend {
  readonly lease: string;
  readonly holder: string;
  private readonly key: string;

  private constructor(
    private readonly client: Redis,
    private readonly options: RedisLeaseOptions,
  ) {
    this.key = keysOf(options.keyPrefix).lease;
    this.lease = `redis ${this.key}`;
    this.holder = `${options.identity}/${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Starts connecting (in the background; while Redis is down the attempts fail and are retried). */
  static connect(options: RedisLeaseOptions): RedisLease {
    const client = connect({ url: options.url, timeoutMs: options.timeoutMs, name: 'lethe-lease' });
    client.on('error', () => undefined); // each failed attempt is reported by the loop
    return new RedisLease(client, options);
  }

  async tryAcquireOrRenew(): Promise<LeaseAttempt> {
    // The first attempt may come while the connection is still being made (at most the timeout).
    if (this.client.status === 'wait' || this.client.status === 'connecting' || this.client.status === 'connect') {
      await once(this.client, 'ready', { signal: AbortSignal.timeout(this.options.timeoutMs) }).catch(() => undefined);
    }
    const reply = await runScript(this.client, LEASE_ACQUIRE, [this.key, this.holder, String(this.options.leaseDurationMs)]);
    const [held, ttlMs] = replySchema.parse(reply);
    // Held by another: try again as soon as its TTL runs out.
    return held === 1 ? { state: 'held' } : { state: 'other', retryInMs: Math.max(ttlMs, 0) + 5 };
  }

  async release(): Promise<void> {
    await runScript(this.client, LEASE_RELEASE, [this.key, this.holder]);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
