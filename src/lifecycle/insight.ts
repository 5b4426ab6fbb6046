import { NAMESPACE, isKind, type Decision, type GroupInsight, type GroupView, type OwnerPolicy, type OwnerRef, type Policy, type RunInsight } from '../model/index.js';
import { ownerRefTarget } from './checks.js';
import type { SnapshotIndex } from './snapshot-index.js';

/** PURE: what a pass tells people about one group (the web page, `/api/v1/groups`). */

export interface InsightInput {
  readonly decision: Decision;
  readonly group: GroupView;
  readonly policy: Policy;
  readonly ownerPolicy: OwnerPolicy | undefined;
  /** Why the policy cannot be read (the owner's, or a MetricsGroup's that holds the namespace). */
  readonly policyInvalid: string | undefined;
  /** The run the group counts as (see runOfGroup). */
  readonly run: OwnerRef | undefined;
  readonly now: number;
}

function runInsight(run: OwnerRef): RunInsight {
  return {
    group: run.group,
    kind: run.kind,
    namespace: run.namespace,
    name: run.name,
    uid: run.uid,
    ...(run.schedule === undefined ? {} : { schedule: run.schedule }),
    ...(run.scheduleKey === undefined ? {} : { scheduleKey: run.scheduleKey }),
  };
}

/** Whether the owner exists, or why that cannot be told (its kind, its schedule's, its MetricsGroup's ownerRef). */
function ownerState(owner: OwnerRef | undefined, index: SnapshotIndex): { alive?: boolean; unknown?: string } {
  if (owner === undefined) return {};
  if (isKind(owner, NAMESPACE)) {
    const ns = index.snapshot.namespaces.get(owner.name);
    return { alive: ns !== undefined && ns.uid === owner.uid && !ns.terminating };
  }
  const presence = index.presence(owner);
  const alive = presence === 'unknown' ? {} : { alive: presence === 'present' };
  const unknownOf = (ref: OwnerRef | undefined, what: string): string | undefined =>
    ref !== undefined && index.presence(ref) === 'unknown' ? `${what} ${ref.kind} ${ref.name}: ${index.whyUnknown(ref)}` : undefined;
  const schedule = owner.schedule === undefined ? undefined : { ...owner.schedule, namespace: owner.namespace };
  const mg = index.snapshot.metricsGroups.get(owner.uid);
  const unknown =
    unknownOf(presence === 'unknown' ? owner : undefined, 'owner') ??
    unknownOf(schedule, 'schedule') ??
    unknownOf(mg === undefined ? undefined : ownerRefTarget(mg, index)?.ref, 'spec.ownerRef');
  return { ...alive, ...(unknown === undefined ? {} : { unknown }) };
}

export function insightOf(input: InsightInput, index: SnapshotIndex): GroupInsight {
  const { decision, group, policy, ownerPolicy, policyInvalid, run, now } = input;
  const { alive, unknown } = ownerState(decision.owner, index);
  const nextDeletion =
    decision.action === 'delete'
      ? { reason: decision.reason, at: decision.notBefore ?? now }
      : policy.ttlMs > 0
        ? { reason: 'ttl-expired' as const, at: group.lastPushAt + policy.ttlMs }
        : undefined;
  return {
    policy,
    policySource: ownerPolicy?.source ?? 'flags',
    ...(policyInvalid === undefined ? {} : { policyInvalid }),
    ...(alive === undefined ? {} : { ownerAlive: alive }),
    ...(unknown === undefined ? {} : { ownerUnknown: unknown }),
    ...(run === undefined ? {} : { run: runInsight(run) }),
    ...(nextDeletion === undefined ? {} : { nextDeletion }),
  };
}
