/**
 * Leadership: which replica may act alone — run deletions, and with the Redis store serve the
 * pushed groups on /metrics. One loop (elector.ts) keeps a lease in one of two backends: a
 * coordination.k8s.io Lease (kube/lease.ts) or a key in Redis (store/redis/lease.ts).
 */

/** Whether this replica leads now (the port the lifecycle loop and the Redis store read). */
export interface Leadership {
  isLeader(): boolean;
  /** Calls `listener` whenever leadership changes. Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

/**
 * What one attempt to take or keep the lease found: `held` (taken or renewed by this attempt),
 * `other` (another replica holds it; `retryInMs` when it frees sooner than the retry period) or
 * `unknown` (no answer this time — a write conflict, or a refusal the backend has reported
 * itself): leadership stays as it is until the renew deadline.
 */
export type LeaseAttempt =
  | { readonly state: 'held' }
  | { readonly state: 'other'; readonly retryInMs?: number }
  | { readonly state: 'unknown' };

/** Where a lease lives. Its failures reject with errors that are safe to log. */
export interface LeaseBackend {
  /** The lease, for log lines: `namespace/name`, `redis <key>`. */
  readonly lease: string;
  /** The name this replica holds the lease under. */
  readonly holder: string;
  tryAcquireOrRenew(): Promise<LeaseAttempt>;
  /** Gives the lease up when this replica holds it, so that another takes over at once. */
  release(): Promise<void>;
}

export interface LeaseTimings {
  /** How long a lease is valid after its last renewal. */
  readonly leaseDurationMs: number;
  /** The holder stops leading when it has not renewed for this long (shorter than the duration). */
  readonly renewDeadlineMs: number;
  /** How often the lease is renewed, or tried for. */
  readonly retryPeriodMs: number;
}

/** client-go's defaults, used for the Kubernetes Lease. */
export const defaultLeaseTimings: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * Timings from a lease duration alone (--ha.lease-duration): renew deadline two thirds of it,
 * a renewal every 7.5th of it, never more often than every 50 ms.
 */
export function leaseTimingsOf(leaseDurationMs: number): LeaseTimings {
  return {
    leaseDurationMs,
    renewDeadlineMs: Math.round((leaseDurationMs * 2) / 3),
    retryPeriodMs: Math.max(50, Math.round(leaseDurationMs / 7.5)),
  };
}
