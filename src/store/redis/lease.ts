import { z } from 'zod';
import type { Redis } from 'ioredis';
import { runScript } from './connection.js';
import { LEASE_ACQUIRE, LEASE_RELEASE } from './scripts.js';

/**
 * A lease in Redis, for replicas that share a Redis store without a Kubernetes API (the
 * standalone HA mode): the holder serves pushed groups on /metrics and runs deletions. It follows
 * the rules of client-go's leader election with Redis as the clock that judges expiry: the key
 * carries the holder and a TTL of the lease duration; the holder renews it every retry period and
 * stops acting as holder once renewals have failed for the renew deadline (two thirds of the
 * duration), before the key can expire and another replica take it. A replica that does not hold
 * the lease tries again when the key's TTL runs out, so a dead holder is replaced within the
 * lease duration (plus one round trip). The holder name carries a random suffix: two processes
 * that share a name can never both hold the lease.
 */

export interface LeaseOptions {
  readonly key: string;
  /** This replica's name (POD_NAME, else the host name); a random suffix is added. */
  readonly identity: string;
  readonly durationMs: number;
}

export interface LeaseEvents {
  readonly onChange?: (leader: boolean, holder: string) => void;
  readonly onError?: (err: unknown) => void;
}

const replySchema = z.tuple([z.number(), z.number()]);

export class RedisLease {
  readonly holder: string;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leader = false;
  private lastRenewAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly client: Redis,
    private readonly options: LeaseOptions,
    private readonly events: LeaseEvents = {},
  ) {
    this.holder = `${options.identity}/${Math.random().toString(36).slice(2, 10)}`;
    this.renewDeadlineMs = Math.round((options.durationMs * 2) / 3);
    this.retryPeriodMs = Math.max(50, Math.round(options.durationMs / 7.5));
  }

  isLeader(): boolean {
    return this.leader && Date.now() - this.lastRenewAt < this.renewDeadlineMs;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Stops, and gives the lease up when held so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    if (this.leader) {
      await runScript(this.client, LEASE_RELEASE, [this.options.key, this.holder]).catch((err: unknown) => this.events.onError?.(err));
    }
    this.setLeader(false);
  }

  private tick(): void {
    this.running = this.attempt()
      .catch((err: unknown) => {
        this.events.onError?.(err);
        return this.retryPeriodMs;
      })
      .then((nextMs) => {
        this.running = undefined;
        if (this.leader && Date.now() - this.lastRenewAt >= this.renewDeadlineMs) this.setLeader(false);
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), nextMs);
      });
  }

  /** One acquire-or-renew; resolves with the delay before the next. */
  private async attempt(): Promise<number> {
    const sentAt = Date.now();
    const [held, ms] = replySchema.parse(await runScript(this.client, LEASE_ACQUIRE, [this.options.key, this.holder, String(this.options.durationMs)]));
    if (held === 1) {
      this.lastRenewAt = sentAt;
      this.setLeader(true);
      return this.retryPeriodMs;
    }
    this.setLeader(false);
    // Held by another: try again as soon as its TTL runs out.
    return Math.min(this.retryPeriodMs, Math.max(ms, 0) + 5);
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.events.onChange?.(leader, this.holder);
    for (const listener of this.listeners) listener();
  }
}
