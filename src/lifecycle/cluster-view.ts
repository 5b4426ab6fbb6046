import type { ObjectRef, OwnerRef, PolicyOverrides } from '../model/index.js';

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

/** What a Job or CronJob says through its `lethe.dev/` annotations. */
export interface Annotated {
  /** Policy knobs set by annotations (only the fields that are set). */
  readonly policy: PolicyOverrides;
  /** Grouping-key selectors this object claims (`lethe.dev/grouping-key`); empty: none. */
  readonly claims: readonly GroupSelector[];
  /**
   * Set when a `lethe.dev/` annotation has a value that cannot be read (which one, and why): the
   * groups it governs are held (kept, as Orphan) until it is fixed, never decided by defaults.
   */
  readonly invalid?: string;
}

export interface JobInfo extends Annotated {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Unix ms. */
  readonly createdAt: number;
  /** The controlling CronJob, from the Job's ownerReferences. */
  readonly cronJob?: ObjectRef;
}

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
  /** `spec.ownerRef`: the groups also go when this object goes, and a CronJob gives the schedule. */
  readonly ownerRef?: { readonly kind: 'Job' | 'CronJob'; readonly name: string };
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

/** The last known state of an owner that is gone, kept for a while for its policy. */
export interface Tombstone {
  readonly ref: OwnerRef;
  readonly policy: PolicyOverrides;
  /** Its policy could not be read when it went (see `Annotated.invalid`). */
  readonly invalid?: string;
}

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
}

export const emptySnapshot: ClusterSnapshot = {
  namespaces: new Map(),
  jobs: new Map(),
  cronJobs: new Map(),
  metricsGroups: new Map(),
  tombstones: new Map(),
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
