import { NAMESPACE, isKind, type Decision, type GroupInsight, type GroupView, type ObjectRef, type OwnerPolicy, type OwnerRef, type Policy, type RunInsight } from '../model/index.js';
import { ownerRefTarget } from './checks.js';
import type { OverdueState } from './overdue.js';
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
  /** The overdue state of the group's lineage, when it runs on a schedule (and is not being deleted). */
  readonly overdue: OverdueState | undefined;
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

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Why Lethe cannot tell whether `ref` exists (its kind is not readable), when it cannot. */
function unknownWhy(ref: ObjectRef | undefined, what: string, index: SnapshotIndex): string | undefined {
  return ref !== undefined && index.presence(ref) === 'unknown' ? `${what} ${ref.kind} ${ref.name}: ${index.whyUnknown(ref)}` : undefined;
}

/** Whether the owner exists, or why that cannot be told (its kind, its schedule's, its MetricsGroup's ownerRef). */
function setOwnerState(insight: Writable<GroupInsight>, owner: OwnerRef | undefined, index: SnapshotIndex): void {
  if (owner === undefined) return;
  if (isKind(owner, NAMESPACE)) {
    const ns = index.snapshot.namespaces.get(owner.name);
    insight.ownerAlive = ns !== undefined && ns.uid === owner.uid && !ns.terminating;
    return;
  }
  const presence = index.presence(owner);
  if (presence !== 'unknown') insight.ownerAlive = presence === 'present';
  const mg = index.snapshot.metricsGroups.get(owner.uid);
  const unknown =
    unknownWhy(presence === 'unknown' ? owner : undefined, 'owner', index) ??
    unknownWhy(owner.schedule, 'schedule', index) ??
    unknownWhy(mg === undefined ? undefined : ownerRefTarget(mg, index)?.ref, 'spec.ownerRef', index);
  if (unknown !== undefined) insight.ownerUnknown = unknown;
}

export function insightOf(input: InsightInput, index: SnapshotIndex): GroupInsight {
  const { decision, group, policy, ownerPolicy, policyInvalid, run, overdue, now } = input;
  // Built field by field, in the order the API writes them: a pass makes one per group.
  const insight: Writable<GroupInsight> = { policy, policySource: ownerPolicy?.source ?? 'flags' };
  if (policyInvalid !== undefined) insight.policyInvalid = policyInvalid;
  setOwnerState(insight, decision.owner, index);
  if (run !== undefined) insight.run = runInsight(run);
  if (decision.action === 'delete') insight.nextDeletion = { reason: decision.reason, at: decision.notBefore ?? now };
  else if (policy.ttlMs > 0) insight.nextDeletion = { reason: 'ttl-expired', at: group.lastPushAt + policy.ttlMs };
  if (overdue?.overdue === true && overdue.since !== undefined) insight.overdue = { since: overdue.since };
  if (overdue?.queuedSince !== undefined) insight.queued = { since: overdue.queuedSince };
  return insight;
}
