import type { DeletionReason, GroupView, OwnerRef, Policy } from '../model/index.js';
import type { ClusterSnapshot } from './cluster-view.js';
import type { LineageIndex } from './lineage.js';
import type { SnapshotIndex } from './snapshot-index.js';

/**
 * PURE: the chain of named checks that says whether a group goes, each giving a verdict or
 * nothing (cert-manager style). decide() runs them in order for every group.
 */

/** What one named check concluded. */
export type Verdict =
  | { readonly kind: 'delete'; readonly reason: DeletionReason; readonly subject: OwnerRef | undefined; readonly gone?: OwnerRef }
  | { readonly kind: 'orphan'; readonly from: OwnerRef }
  /** Nothing now; look again at `at`. */
  | { readonly kind: 'later'; readonly at: number };

/** Everything a check may look at for one group. */
export interface GroupContext {
  readonly group: GroupView;
  readonly owner: OwnerRef | undefined;
  readonly policy: Policy;
  readonly snapshot: ClusterSnapshot;
  /** Look-ups over the snapshot, built once per pass. */
  readonly index: SnapshotIndex;
  readonly now: number;
  readonly lineages: LineageIndex;
}

export type Check = (ctx: GroupContext) => Verdict | undefined;

const cronJobRef = (owner: OwnerRef, cronJob: { name: string; uid: string }): OwnerRef => ({
  kind: 'CronJob',
  namespace: owner.namespace,
  name: cronJob.name,
  uid: cronJob.uid,
});

const namespaceRef = (name: string, uid: string): OwnerRef => ({ kind: 'Namespace', namespace: name, name, uid });

/** Applies the owner's deletion policy: delete the group, or orphan it to its namespace. */
function ownerGone(ctx: GroupContext, reason: DeletionReason, gone: OwnerRef, subject: OwnerRef = gone): Verdict {
  if (ctx.policy.deletionPolicy === 'Orphan') return { kind: 'orphan', from: gone };
  return { kind: 'delete', reason, subject, gone };
}

/**
 * The group's namespace was deleted (or is being deleted): nothing of it may stay. It counts as
 * deleted only when Lethe saw it go: terminating, or gone (or recreated under another UID) while
 * the group knows its UID, or gone while the group's owner is an object that lived in it. A
 * namespace that was never there (a static token's, say) is not a deleted one.
 */
export const namespaceDeleted: Check = ({ group, owner, snapshot }) => {
  const name = owner?.namespace ?? group.attribution.namespace;
  if (name === undefined) return undefined;
  const ns = snapshot.namespaces.get(name);
  const deleted = (uid: string): Verdict => {
    const gone = namespaceRef(name, uid);
    return { kind: 'delete', reason: 'namespace-deleted', subject: gone, gone };
  };
  if (ns?.terminating === true) return deleted(ns.uid);
  const knownUid = owner?.kind === 'Namespace' ? owner.uid : group.attribution.namespaceUid;
  if (knownUid !== undefined && knownUid !== '') return ns === undefined || ns.uid !== knownUid ? deleted(knownUid) : undefined;
  if (ns === undefined && owner !== undefined && owner.kind !== 'Namespace') return deleted('');
  return undefined;
};

export const metricsGroupDeleted: Check = (ctx) => {
  const { owner, snapshot } = ctx;
  if (owner?.kind !== 'MetricsGroup' || snapshot.metricsGroups.has(owner.uid)) return undefined;
  return ownerGone(ctx, 'metricsgroup-deleted', owner);
};

/** A MetricsGroup's `spec.ownerRef` names a Job or CronJob that is no longer there. */
export const metricsGroupOwnerRefDeleted: Check = (ctx) => {
  const { owner, snapshot, index } = ctx;
  if (owner?.kind !== 'MetricsGroup') return undefined;
  const target = snapshot.metricsGroups.get(owner.uid)?.ownerRef;
  if (target === undefined) return undefined;
  const present = target.kind === 'Job' ? index.jobNamed(owner.namespace, target.name) : index.cronJobNamed(owner.namespace, target.name);
  if (present !== undefined) return undefined;
  const gone: OwnerRef = { kind: target.kind, namespace: owner.namespace, name: target.name, uid: '' };
  return ownerGone(ctx, target.kind === 'Job' ? 'job-deleted' : 'cronjob-deleted', gone);
};

/** The CronJob that owns the group, or runs the Job that owns it, was deleted. */
export const cronJobDeleted: Check = (ctx) => {
  const { owner, snapshot } = ctx;
  if (owner === undefined) return undefined;
  const cronJob = owner.kind === 'CronJob' ? owner : owner.kind === 'Job' && owner.cronJob !== undefined ? cronJobRef(owner, owner.cronJob) : undefined;
  if (cronJob === undefined || snapshot.cronJobs.has(cronJob.uid)) return undefined;
  return ownerGone(ctx, 'cronjob-deleted', cronJob);
};

/**
 * The owning Job was deleted. A bare Job's groups go. A CronJob run's groups stay until a newer
 * run of the same CronJob has pushed (keepUntilSuperseded), so "last success" survives history
 * clean-up.
 */
export const jobDeleted: Check = (ctx) => {
  const { owner, snapshot, policy, group, lineages } = ctx;
  if (owner?.kind !== 'Job' || snapshot.jobs.has(owner.uid)) return undefined;
  if (owner.cronJob === undefined || !policy.keepUntilSuperseded) return ownerGone(ctx, 'job-deleted', owner);
  const newer = lineages
    .members(owner.cronJob.uid)
    .some((other) => other.owner.uid !== owner.uid && other.group.lastPushAt > group.lastPushAt);
  if (!newer) return undefined;
  return ownerGone(ctx, 'cronjob-run-superseded', owner, cronJobRef(owner, owner.cronJob));
};

/** No push for `ttl`. */
export const ttlExpired: Check = ({ policy, group, now, owner }) => {
  if (policy.ttlMs <= 0) return undefined;
  const expiresAt = group.lastPushAt + policy.ttlMs;
  if (now < expiresAt) return { kind: 'later', at: expiresAt };
  return { kind: 'delete', reason: 'ttl-expired', subject: owner ?? namespaceOf(group) };
};

/** More than `keepLast` groups in the owner's lineage: the oldest go. */
export const keepLastExceeded: Check = ({ policy, group, lineages, owner }) => {
  if (policy.keepLast <= 0 || lineages.rank(group) < policy.keepLast || owner === undefined) return undefined;
  return { kind: 'delete', reason: 'keep-last-exceeded', subject: owner.cronJob === undefined ? owner : cronJobRef(owner, owner.cronJob) };
};

function namespaceOf(group: GroupView): OwnerRef | undefined {
  const { namespace, namespaceUid } = group.attribution;
  return namespace === undefined ? undefined : namespaceRef(namespace, namespaceUid ?? '');
}

/** The chain, in order: the first `delete` or `orphan` decides; `later`s set the next look. */
export const CHECKS: readonly (readonly [string, Check])[] = [
  ['namespace-deleted', namespaceDeleted],
  ['metricsgroup-deleted', metricsGroupDeleted],
  ['metricsgroup-owner-deleted', metricsGroupOwnerRefDeleted],
  ['cronjob-deleted', cronJobDeleted],
  ['job-deleted', jobDeleted],
  ['ttl-expired', ttlExpired],
  ['keep-last-exceeded', keepLastExceeded],
];
