import {
  CRONJOB,
  JOB,
  METRICSGROUP,
  NAMESPACE,
  isKind,
  type Decision,
  type DeletionReason,
  type GroupView,
  type ObjectKind,
  type ObjectRef,
  type OwnerRef,
  type Policy,
} from '../model/index.js';
import type { ClusterSnapshot, MetricsGroupInfo, Presence } from './cluster-snapshot.js';
import { lineageId, type LineageIndex } from './lineage.js';
import type { OwnerRole, SnapshotIndex } from './snapshot-index.js';

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

const scheduleRef = (owner: OwnerRef, schedule: ObjectRef): OwnerRef => ({
  group: schedule.group,
  kind: schedule.kind,
  namespace: owner.namespace,
  name: schedule.name,
  uid: schedule.uid,
});

const namespaceRef = (name: string, uid: string): OwnerRef => ({ ...NAMESPACE, namespace: name, name, uid });

/** Applies the owner's deletion policy: delete the group, or orphan it to its namespace. */
function ownerGone(ctx: GroupContext, reason: DeletionReason, gone: OwnerRef, subject: OwnerRef = gone): Verdict {
  if (ctx.policy.deletionPolicy === 'Orphan') return { kind: 'orphan', from: gone };
  return { kind: 'delete', reason, subject, gone };
}

/** The reason a deleted object of this kind gives: Jobs and CronJobs keep their own words. */
function deletedReason(kind: ObjectKind, role: OwnerRole): DeletionReason {
  switch (role) {
    case 'run':
      return isKind(kind, JOB) ? 'job-deleted' : 'run-deleted';
    case 'schedule':
      return isKind(kind, CRONJOB) ? 'cronjob-deleted' : 'schedule-deleted';
    case 'metricsgroup':
      return 'metricsgroup-deleted';
    case 'namespace':
      return 'namespace-deleted';
    default: {
      const never: never = role;
      return never;
    }
  }
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
  const ownedByNamespace = isKind(owner, NAMESPACE);
  const knownUid = ownedByNamespace ? owner?.uid : group.attribution.namespaceUid;
  if (knownUid !== undefined && knownUid !== '') return ns === undefined || ns.uid !== knownUid ? deleted(knownUid) : undefined;
  if (ns === undefined && owner !== undefined && !ownedByNamespace) return deleted('');
  return undefined;
};

export const metricsGroupDeleted: Check = (ctx) => {
  const { owner, snapshot } = ctx;
  if (owner === undefined || !isKind(owner, METRICSGROUP) || snapshot.metricsGroups.has(owner.uid)) return undefined;
  return ownerGone(ctx, 'metricsgroup-deleted', owner);
};

/**
 * The object a MetricsGroup's `spec.ownerRef` names, and whether it is there: the object of that
 * UID when the reference has one, else whatever object of that kind has that name now.
 */
export function ownerRefTarget(mg: MetricsGroupInfo, index: SnapshotIndex): { readonly ref: OwnerRef; readonly presence: Presence } | undefined {
  const target = mg.ownerRef;
  if (target === undefined) return undefined;
  const uid = target.uid ?? index.uidNamed(target, mg.namespace, target.name) ?? '';
  const ref: OwnerRef = { group: target.group, kind: target.kind, namespace: mg.namespace, name: target.name, uid };
  return { ref, presence: index.presence(ref) };
}

/** A MetricsGroup's `spec.ownerRef` names an object that is no longer there. */
export const metricsGroupOwnerRefDeleted: Check = (ctx) => {
  const { owner, snapshot, index } = ctx;
  if (owner === undefined || !isKind(owner, METRICSGROUP)) return undefined;
  const mg = snapshot.metricsGroups.get(owner.uid);
  const target = mg === undefined ? undefined : ownerRefTarget(mg, index);
  if (target?.presence !== 'absent') return undefined;
  return ownerGone(ctx, deletedReason(target.ref, index.roleOf(target.ref)), target.ref);
};

/** The schedule that owns the group (a CronJob claiming it), or the schedule of the run that owns it, was deleted. */
export const scheduleDeleted: Check = (ctx) => {
  const { owner, index } = ctx;
  if (owner === undefined) return undefined;
  const schedule = index.roleOf(owner) === 'schedule' ? owner : owner.schedule === undefined ? undefined : scheduleRef(owner, owner.schedule);
  if (schedule === undefined || index.presence(schedule) !== 'absent') return undefined;
  return ownerGone(ctx, deletedReason(schedule, 'schedule'), schedule);
};

/**
 * The owning run (a Job, a Workflow, a PipelineRun, a bare pod, …) was deleted. A run without a
 * schedule: its groups go. A scheduled run's groups (a schedule object, or a schedule key) stay
 * until a newer run of the same schedule has pushed (keepUntilSuperseded), so "last success"
 * survives history clean-up.
 */
export const runDeleted: Check = (ctx) => {
  const { owner, index, policy, group, lineages } = ctx;
  if (owner === undefined || index.roleOf(owner) !== 'run' || index.presence(owner) !== 'absent') return undefined;
  const lineage = lineageId(owner);
  const scheduled = owner.schedule !== undefined || owner.scheduleKey !== undefined;
  if (!scheduled || !policy.keepUntilSuperseded || lineage === undefined) return ownerGone(ctx, deletedReason(owner, 'run'), owner);
  const newer = lineages.members(lineage).some((other) => other.run !== owner.uid && other.group.lastPushAt > group.lastPushAt);
  if (!newer) return undefined;
  const subject = owner.schedule === undefined ? owner : scheduleRef(owner, owner.schedule);
  return ownerGone(ctx, isKind(owner.schedule, CRONJOB) ? 'cronjob-run-superseded' : 'run-superseded', owner, subject);
};

/** No push for `ttl`. */
export const ttlExpired: Check = ({ policy, group, now, owner }) => {
  if (policy.ttlMs <= 0) return undefined;
  const expiresAt = group.lastPushAt + policy.ttlMs;
  if (now < expiresAt) return { kind: 'later', at: expiresAt };
  return { kind: 'delete', reason: 'ttl-expired', subject: owner ?? namespaceOf(group) };
};

/** More than `keepLast` runs in the owner's lineage: the groups of the older runs go. */
export const keepLastExceeded: Check = ({ policy, group, lineages, owner }) => {
  if (policy.keepLast <= 0 || lineages.rank(group) < policy.keepLast || owner === undefined) return undefined;
  return { kind: 'delete', reason: 'keep-last-exceeded', subject: owner.schedule === undefined ? owner : scheduleRef(owner, owner.schedule) };
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
  ['schedule-deleted', scheduleDeleted],
  ['run-deleted', runDeleted],
  ['ttl-expired', ttlExpired],
  ['keep-last-exceeded', keepLastExceeded],
];

const earliest = (a: number | undefined, b: number): number => (a === undefined ? b : Math.min(a, b));

/** Runs the chain of checks for one group and turns the first conclusive verdict into a Decision. */
export function runChecks(ctx: GroupContext, ownerChanged: boolean): Decision {
  const { group, owner, policy, now, snapshot } = ctx;
  let lookAgain: number | undefined;
  for (const [, check] of CHECKS) {
    const verdict = check(ctx);
    if (verdict === undefined) continue;
    switch (verdict.kind) {
      case 'later':
        lookAgain = earliest(lookAgain, verdict.at);
        break;
      case 'delete': {
        // Grace: wait for Prometheus to scrape the last push, at most maxGrace after it.
        const graceEnd = group.lastPushAt + policy.maxGraceMs;
        const waiting = group.scrapedAt === undefined && graceEnd > now;
        return {
          groupKey: group.key,
          action: 'delete',
          reason: verdict.reason,
          owner,
          ownerChanged,
          subject: verdict.subject,
          lastPushAt: group.lastPushAt,
          ...(verdict.gone === undefined ? {} : { gone: verdict.gone }),
          ...(waiting ? { notBefore: graceEnd } : {}),
        };
      }
      case 'orphan': {
        const ns = verdict.from.namespace;
        const nsUid = snapshot.namespaces.get(ns)?.uid;
        const orphaned: OwnerRef | undefined = nsUid === undefined ? undefined : { ...namespaceRef(ns, nsUid), resolvedFor: group.lastPushAt };
        return { groupKey: group.key, action: 'keep', owner: orphaned, ownerChanged: true, orphanedFrom: verdict.from };
      }
      default: {
        const never: never = verdict;
        return never;
      }
    }
  }
  return { groupKey: group.key, action: 'keep', owner, ownerChanged, ...(lookAgain === undefined ? {} : { notBefore: lookAgain }) };
}
