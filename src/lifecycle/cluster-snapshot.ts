import type { ObjectKind, OwnerRef, PolicyOverrides } from '../model/index.js';
import type { ChainObject, OwnerChainRules } from './owner-chain.js';

/**
 * What the lifecycle needs to know of the cluster: the port that kube/ implements from its
 * informer caches. A snapshot is plain data, so decide() stays pure and tests build it by hand.
 */

/** A label selector over grouping-key labels, with Kubernetes `LabelSelector` semantics. */
export interface GroupSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

export interface NamespaceInfo {
  readonly name: string;
  readonly uid: string;
  /** Deletion has started (phase Terminating): its groups go now. */
  readonly terminating: boolean;
}

/** What an owner (a run, a schedule, a bare pod) says through its `lethe.dev/` annotations. */
export interface OwnerAnnotations {
  /** Policy knobs set by annotations (only the fields that are set). */
  readonly policy: PolicyOverrides;
  /**
   * Set when a `lethe.dev/` annotation has a value that cannot be read (which one, and why): the
   * groups it governs are held (kept, as Orphan) until it is fixed, never decided by defaults.
   */
  readonly invalid?: string;
  /** `lethe.dev/schedule-key`: a run without a schedule object is a run of this key in its namespace. */
  readonly scheduleKey?: string;
}

/** What a Job or CronJob says through its `lethe.dev/` annotations, claims included. */
export interface Annotated extends OwnerAnnotations {
  /** Grouping-key selectors this object claims (`lethe.dev/grouping-key`); empty: none. */
  readonly claims: readonly GroupSelector[];
}

export interface JobInfo extends Annotated, ChainObject {
  /** Unix ms. */
  readonly createdAt: number;
  /** `spec.suspend`: it waits (for Kueue's admission, say) and runs no pods. */
  readonly suspended: boolean;
  /**
   * `status.startTime` (Unix ms): when it started, or was last resumed — the job controller sets
   * it again when a suspended Job resumes, so for a queued Job it is its admission.
   */
  readonly startedAt?: number;
}

/** A pod, as the lifecycle needs it: a pod that no controller owns is its own run. */
export interface PodInfo extends OwnerAnnotations, ChainObject {}

export interface CronJobInfo extends Annotated {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly createdAt: number;
  readonly schedule: string;
  /** `spec.timeZone`; absent: UTC. */
  readonly timeZone?: string;
  readonly suspend: boolean;
}

export interface MetricsGroupInfo {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly createdAt: number;
  readonly selector: GroupSelector;
  readonly policy: PolicyOverrides;
  /**
   * `spec.ownerRef`: the groups also go when this object goes (a Job, a CronJob, or an object of
   * a configured owner kind, in its namespace; by UID when the reference has one, else by name),
   * and a schedule kind gives the schedule.
   */
  readonly ownerRef?: MetricsGroupOwnerRef;
  /** `spec.overdue.schedule`: a schedule of its own (overrides a CronJob owner's). */
  readonly schedule?: { readonly schedule: string; readonly timeZone?: string };
  /**
   * Set when the spec could not be read (the status says why): the groups it selects are held
   * (kept, as Orphan) until it is fixed, with whatever of its policy could be read.
   */
  readonly invalid?: string;
  /**
   * The selector itself could not be read, so which groups it means is unknown: it then holds
   * every group of its namespace (its `selector` is empty and matches nothing).
   */
  readonly holdsNamespace?: boolean;
}

/** A schedule Lethe can read from a schedule kind's spec (CronWorkflow, ScheduledSparkApplication). */
export interface OwnerScheduleInfo {
  /** Cron expressions; a run is due at the next time any of them fires. */
  readonly schedules: readonly string[];
  /** IANA time zone; absent: UTC. */
  readonly timeZone?: string;
  readonly suspend: boolean;
}

/** An object of a configured owner kind, as its metadata-only watch keeps it. */
export interface OwnerObjectInfo extends ChainObject, OwnerAnnotations {
  /** Unix ms. */
  readonly createdAt: number;
  /** `metadata.deletionTimestamp` is set: it is going (foreground deletion, finalizers). */
  readonly deleting: boolean;
  /** For a schedule kind whose spec Lethe reads: the schedule, when it could be read. */
  readonly schedule?: OwnerScheduleInfo;
  /** For a schedule kind whose spec Lethe reads: why the schedule could not be read. */
  readonly scheduleError?: string;
}

export interface MetricsGroupOwnerRef extends ObjectKind {
  readonly name: string;
  /** Absent: whatever object has that name now. */
  readonly uid?: string;
}

/** The last known state of an owner that is gone, kept for a while for its policy. */
export interface Tombstone {
  readonly ref: OwnerRef;
  readonly policy: PolicyOverrides;
  /** Its policy could not be read when it went (see `Annotated.invalid`). */
  readonly invalid?: string;
}

/**
 * The cluster as one pass sees it. A snapshot never changes once made (a change makes a new one):
 * decide() keeps its look-ups per snapshot. Pods are the exception, read from the cache itself;
 * the look-ups kept are over the other objects.
 */
export interface ClusterSnapshot {
  /** By name. */
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  /** By UID. */
  readonly jobs: ReadonlyMap<string, JobInfo>;
  /** By UID. */
  readonly cronJobs: ReadonlyMap<string, CronJobInfo>;
  /** By UID. */
  readonly metricsGroups: ReadonlyMap<string, MetricsGroupInfo>;
  /** Recently deleted owners by UID. */
  readonly tombstones: ReadonlyMap<string, Tombstone>;
  /** Pods by UID (a pod no controller owns is its own run); kube/ hands in its cache itself. */
  readonly pods: Lookup<PodInfo>;
  /** Objects of the configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds) by UID. */
  readonly owners: ReadonlyMap<string, OwnerObjectInfo>;
  readonly ownerKinds: OwnerKindsView;
}

/** Objects by UID, without listing them (a Map is one). */
export interface Lookup<T> {
  get(uid: string): T | undefined;
  has(uid: string): boolean;
}

/** Which kinds are runs and schedules, and which of the configured ones Lethe can decide about now. */
export interface OwnerKindsView {
  /** Jobs, CronJobs and the configured kinds discovered so far. */
  readonly rules: OwnerChainRules;
  /** Configured kinds (by `kindKey`) whose watch has listed and works: their objects' absence means deleted. */
  readonly readable: ReadonlySet<string>;
  /** Why a configured kind is not readable (by `kindKey`, or by its `resource.group` before discovery). */
  readonly notes: ReadonlyMap<string, string>;
}

export const builtInOwnerKinds: OwnerKindsView = {
  rules: { runKinds: [{ group: 'batch', kind: 'Job' }], scheduleKinds: [{ group: 'batch', kind: 'CronJob' }] },
  readable: new Set(),
  notes: new Map(),
};

export const emptySnapshot: ClusterSnapshot = {
  namespaces: new Map(),
  jobs: new Map(),
  cronJobs: new Map(),
  metricsGroups: new Map(),
  tombstones: new Map(),
  pods: new Map(),
  owners: new Map(),
  ownerKinds: builtInOwnerKinds,
};

/** The gates the loop checks on every pass; any `false` blocks deletions. */
export interface ViewGates {
  /** Every informer has listed at least once. */
  readonly synced: boolean;
  /** No informer is failing (watch error, relist failing, API server unreachable). */
  readonly healthy: boolean;
  /** Kinds that are not synced or not healthy, for the log and the status. */
  readonly problems: readonly string[];
}

export type Presence = 'absent' | 'present' | 'unknown';

export interface ClusterView {
  snapshot(): ClusterSnapshot;
  gates(): ViewGates;
  /**
   * Asks the API server directly whether an owner is gone (a cache may lag behind). `unknown`
   * when it cannot tell (unreachable): the loop then deletes nothing for it.
   */
  confirmAbsent(owner: OwnerRef): Promise<Presence>;
  /** Calls `listener` whenever something changed that may change a decision. Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}
