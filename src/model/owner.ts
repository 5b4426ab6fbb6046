import type { OwnerPolicy } from './policy.js';

/**
 * Who owns a group (its life bounds the group's life) and who pushed it. An owner is an object of
 * any kind, known by API group and Kind: the built-in ones (Job, CronJob, Namespace, MetricsGroup,
 * a bare Pod) and the kinds configured as runs and schedules (Workflow, CronWorkflow, PipelineRun,
 * JobSet, …). The UID is the identity; group, Kind and name are for display and Events.
 */

/** An API group and Kind; the core group is `''`. */
export interface ObjectKind {
  readonly group: string;
  readonly kind: string;
}

/** An object in the namespace of the group (or of the pod) that refers to it. */
export interface ObjectRef extends ObjectKind {
  readonly name: string;
  readonly uid: string;
}

/** The kinds Lethe knows without configuration. */
export const JOB: ObjectKind = { group: 'batch', kind: 'Job' };
export const CRONJOB: ObjectKind = { group: 'batch', kind: 'CronJob' };
export const POD: ObjectKind = { group: '', kind: 'Pod' };
export const NAMESPACE: ObjectKind = { group: '', kind: 'Namespace' };
export const METRICSGROUP: ObjectKind = { group: 'lethe.dev', kind: 'MetricsGroup' };

/** True when `ref` is of kind `kind` (group and Kind). */
export const isKind = (ref: ObjectKind | undefined, kind: ObjectKind): boolean => ref !== undefined && ref.kind === kind.kind && ref.group === kind.group;

/** `Workflow.argoproj.io`, `Pod` (core): a kind as one string, for maps and messages. */
export const kindKey = (k: ObjectKind): string => (k.group === '' ? k.kind : `${k.kind}.${k.group}`);

export interface OwnerRef extends ObjectRef {
  /** The owner's namespace; for kind Namespace, its own name. */
  readonly namespace: string;
  /**
   * For a run: its schedule (a CronJob, a CronWorkflow, …). Kept with the owner so that the rule
   * for scheduled runs (kept until a newer run of the schedule has pushed) still applies after
   * the run is gone.
   */
  readonly schedule?: ObjectRef;
  /**
   * For a run without a schedule object: the `lethe.dev/schedule-key` it carries. Runs with the
   * same key in one namespace are runs of one schedule (bare pods started by Airflow, say).
   */
  readonly scheduleKey?: string;
  /**
   * The group's last push time (Unix ms) when this owner was resolved. A later push resolves the
   * owner again from that push's attribution; until then the owner stays (absent: the current push).
   */
  readonly resolvedFor?: number;
  /**
   * The policy this owner set (its annotations, or its MetricsGroup spec) as the lifecycle last
   * resolved it. Stored with the group, so that after a restart a deleted owner's groups are
   * decided by the same policy (absent: the owner set none, or an older store).
   */
  readonly policy?: OwnerPolicy;
}

export type AttributionSource = 'token' | 'pod-ip' | 'url-label' | 'none';

/** Where a push came from, as far as Lethe could tell. */
export interface Attribution {
  readonly source: AttributionSource;
  readonly namespace?: string;
  readonly pod?: string;
  readonly podUid?: string;
  /** The authenticated user name, when a token was checked. */
  readonly user?: string;
  /** UID of the namespace when the push arrived (a namespace recreated under the same name is new). */
  readonly namespaceUid?: string;
  /**
   * The pushing pod's run, found by walking its controller chain: the outermost owner of a run
   * kind below the schedule (a Job, a Workflow, a PipelineRun, a JobSet, …), or the pod itself
   * when no controller owns it.
   */
  readonly run?: ObjectRef;
  /** The run's schedule (a CronJob, a CronWorkflow, …), when the chain has one above it. */
  readonly schedule?: ObjectRef;
  /** The `lethe.dev/schedule-key` of the run (else of the pod), for a run without a schedule object. */
  readonly scheduleKey?: string;
  /**
   * True when an owner on the chain could not be read when the pod pushed (an API error, a kind
   * Lethe may not read): `run` and `schedule` are the best known then, and the lifecycle walks
   * on from the run once its caches know it.
   */
  readonly chainIncomplete?: boolean;
}

export const unattributed: Attribution = { source: 'none' };

/** True when both refer to the same object (UIDs are compared; names are for display). */
export function sameOwner(a: OwnerRef | undefined, b: OwnerRef | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.kind === b.kind && a.uid === b.uid;
}

/** True when both name the same schedule (object by UID, or key). */
export function sameSchedule(a: OwnerRef | undefined, b: OwnerRef | undefined): boolean {
  return a?.schedule?.uid === b?.schedule?.uid && a?.scheduleKey === b?.scheduleKey;
}

/** `Job ns/name` — how logs and Events name an owner. */
export function describeOwner(owner: OwnerRef): string {
  return owner.kind === 'Namespace' ? `Namespace ${owner.name}` : `${owner.kind} ${owner.namespace}/${owner.name}`;
}
