import type { Clock } from '../model/index.js';
import { F, errorFields, type LeaderMetrics, type Logger } from '../observability/index.js';
import type { LeaseBackend, LeaseTimings, Leadership } from './leadership.js';

/**
 * The leadership loop, the way client-go's leaderelection runs it, over any lease backend: try to
 * take or renew the lease every retry period; lead while renewals succeed; give leadership up
 * locally once renewals have failed for the renew deadline (before the lease can expire and
 * another replica take it); release the lease on stop so that another replica takes over at once.
 * Every change of leadership is one log line and `lethe_leader`, whichever the backend.
 */

export interface LeaderElectorDeps {
  readonly backend: LeaseBackend;
  readonly timings: LeaseTimings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: LeaderMetrics;
}

export class LeaderElector implements Leadership {
  private readonly log: Logger;
  private leader = false;
  private lastRenewAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: LeaderElectorDeps) {
    this.log = deps.logger.child({ [F.component]: 'leadership' });
    deps.metrics.leader.set(0);
  }

  isLeader(): boolean {
    return this.leader && this.deps.clock.now() - this.lastRenewAt < this.deps.timings.renewDeadlineMs;
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

  /** Stops, and releases the lease when held. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    if (this.leader) {
      await this.deps.backend.release().catch((err: unknown) => {
        this.log.warn('Failed to release the leader lease', { lease: this.deps.backend.lease, [F.err]: errorFields(err) });
      });
    }
    this.setLeader(false);
  }

  private tick(): void {
    this.running = this.attempt()
      .catch((err: unknown) => {
        this.log.warn('Failed to acquire or renew the leader lease', { lease: this.deps.backend.lease, [F.err]: errorFields(err) });
        return this.deps.timings.retryPeriodMs;
      })
      .then((nextMs) => {
        this.running = undefined;
        // Past the renew deadline without a renewal: stop acting as leader.
        if (this.leader && !this.isLeader()) this.setLeader(false);
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), nextMs);
      });
  }

  /** One acquire-or-renew; resolves with the delay before the next. */
  private async attempt(): Promise<number> {
    const { backend, clock, timings } = this.deps;
    // The lease runs from when it was written, which is no earlier than this.
    const sentAt = clock.now();
    const result = await backend.tryAcquireOrRenew();
    switch (result.state) {
      case 'held':
        // Renewed after the deadline had passed (a slow answer, a clock that jumped): leadership
        // lapsed in between, and whoever waited for it (a lifecycle pass it blocked) is told now.
        if (this.leader && !this.isLeader()) this.setLeader(false);
        this.lastRenewAt = sentAt;
        this.setLeader(true);
        return timings.retryPeriodMs;
      case 'other':
        this.setLeader(false);
        return Math.min(timings.retryPeriodMs, result.retryInMs ?? timings.retryPeriodMs);
      case 'unknown':
        return timings.retryPeriodMs;
    }
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.deps.metrics.leader.set(leader ? 1 : 0);
    this.log.info(leader ? 'Became leader' : 'Stopped leading', { lease: this.deps.backend.lease, identity: this.deps.backend.holder });
    for (const listener of this.listeners) listener();
  }
}
