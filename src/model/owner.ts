import type { OwnerPolicy } from './policy.js';

/** Who owns a group (its life bounds the group's life) and who pushed it. */

export type OwnerKind = 'Job' | 'CronJob' | 'Namespace' | 'MetricsGroup';

/** A namespaced object known by name and UID (the UID is the identity; the name is for display). */
export interface ObjectRef {
  readonly name: string;
  readonly uid: string;
}

export interface OwnerRef {
  readonly kind: OwnerKind;
  /** The owner's namespace; for kind Namespace, its own name. */
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /**
   * For a Job run by a CronJob: that CronJob. Kept with the owner so that the rule for CronJob
   * runs (kept until a newer run has pushed) still applies after the Job is gone.
   */
  readonly cronJob?: ObjectRef;
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
  /** The pushing pod's controller Job, when it has one. */
  readonly job?: ObjectRef;
  /** That Job's controller CronJob, when it has one. */
  readonly cronJob?: ObjectRef;
}

export const unattributed: Attribution = { source: 'none' };

/** True when both refer to the same object (UIDs are compared; names are for display). */
export function sameOwner(a: OwnerRef | undefined, b: OwnerRef | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.kind === b.kind && a.uid === b.uid;
}

/** `Job ns/name` — how logs and Events name an owner. */
export function describeOwner(owner: OwnerRef): string {
  return owner.kind === 'Namespace' ? `Namespace ${owner.name}` : `${owner.kind} ${owner.namespace}/${owner.name}`;
}
