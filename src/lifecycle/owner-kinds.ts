import type { ChainObject } from './owner-chain.js';

/**
 * What kube/ knows of the configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds)
 * and their objects: plain data, for the cluster snapshot and the status.
 */

/** A schedule Lethe can read from a schedule kind's spec (CronWorkflow, ScheduledSparkApplication). */
export interface OwnerScheduleInfo {
  /** Cron expressions; a run is due at the next time any of them fires. */
  readonly schedules: readonly string[];
  /** IANA time zone; absent: UTC. */
  readonly timeZone?: string;
  readonly suspend: boolean;
}

/** An object of a configured owner kind, as its metadata-only watch keeps it. */
export interface OwnerObjectInfo extends ChainObject {
  /** Unix ms. */
  readonly createdAt: number;
  /** `metadata.deletionTimestamp` is set: it is going (foreground deletion, finalizers). */
  readonly deleting: boolean;
  /** Its `lethe.dev/` annotations (policy), unparsed. */
  readonly annotations: Readonly<Record<string, string>>;
  /** For a schedule kind whose spec Lethe reads: the schedule, when it could be read. */
  readonly schedule?: OwnerScheduleInfo;
  /** For a schedule kind whose spec Lethe reads: why the schedule could not be read. */
  readonly scheduleError?: string;
}

export type OwnerKindRole = 'run' | 'schedule';

/**
 * - `discovering`: not looked up yet;
 * - `absent`: the API server does not serve it (CRD not installed), or not with list and watch;
 * - `forbidden`: Lethe may not list it (RBAC);
 * - `unknown`: discovery or the access check failed for another reason (retried);
 * - `watching`: its list+watch runs (see `synced` and `healthy`).
 */
export type OwnerKindState = 'discovering' | 'absent' | 'forbidden' | 'unknown' | 'watching';

/** One configured owner kind, for the status, the logs and the lifecycle. */
export interface OwnerKindReport {
  /** As configured: `workflows.argoproj.io`. */
  readonly name: string;
  readonly role: OwnerKindRole;
  readonly state: OwnerKindState;
  /** Unix ms: since when it is in this state. */
  readonly since: number;
  /** Why it is not watched (absent, forbidden, unknown). */
  readonly message?: string;
  /** From discovery, once known. */
  readonly group: string;
  readonly kind?: string;
  readonly version?: string;
  readonly namespaced?: boolean;
  /** Whether Lethe reads the schedule from the spec (a full watch) or only metadata. */
  readonly readsSchedule: boolean;
  /** Listed at least once since its watch started. */
  readonly synced: boolean;
  /** Its watch works: decisions about its objects can be made. */
  readonly healthy: boolean;
  readonly objects: number;
}
