import {
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_METRIC,
  resolvePolicy,
  sameOwner,
  sameOwnerPolicy,
  type Decision,
  type GroupInsight,
  type GroupView,
  type GroupingKey,
  type OwnerPolicy,
  type OwnerRef,
  type Policy,
} from '../model/index.js';
import type { ClusterSnapshot, MetricsGroupInfo } from './cluster-view.js';
import { dueWindow, overdueIn, parseSchedule, type DueWindow, type OverdueState, type ParsedSchedule, type Schedule } from './overdue.js';
import { CHECKS, type GroupContext } from './checks.js';
import { LineageIndex, lineageId } from './lineage.js';
import { candidateOwner, effectiveOwner, holdingMetricsGroup, ownerPolicyOf, policyFor } from './owner-resolution.js';
import { SnapshotIndex } from './snapshot-index.js';

/**
 * PURE: (groups, cluster snapshot, default policy, now) → what to do with each group, which
 * groups are overdue, and what each MetricsGroup's status should say. The loop applies it.
 */

export interface DecideInput {
  readonly groups: readonly GroupView[];
  readonly snapshot: ClusterSnapshot;
  /** The flag defaults (the lowest layer of every policy). */
  readonly defaults: Policy;
  readonly now: number;
}

/** The overdue state of one group that runs on a schedule. */
export interface GroupOverdue {
  readonly groupKey: GroupingKey;
  readonly owner: OwnerRef;
  /** The newest push of the groups sharing the schedule (a CronJob's runs, a MetricsGroup's groups). */
  readonly lastPushAt: number;
  readonly state: OverdueState;
}

export interface MetricsGroupReport {
  readonly metricsGroup: MetricsGroupInfo;
  readonly groups: number;
  readonly series: number;
  /** Newest push among its groups (Unix ms); undefined when it has none. */
  readonly lastPushAt: number | undefined;
  /** Undefined when it has no schedule. */
  readonly overdue: OverdueState | undefined;
  /** Why its schedule cannot be read, when it cannot. */
  readonly scheduleError: string | undefined;
}

export interface Plan {
  /** One per group. */
  readonly decisions: readonly Decision[];
  /** By grouping-key id. */
  readonly insights: ReadonlyMap<string, GroupInsight>;
  readonly overdue: readonly GroupOverdue[];
  readonly metricsGroups: readonly MetricsGroupReport[];
  /** The earliest future time at which a decision may change by itself. */
  readonly nextAt: number | undefined;
}

/** Samples of a group's pushed families (the two push-time series excluded). */
export function seriesOf(group: GroupView): number {
  let n = 0;
  for (const [name, stored] of group.families) {
    if (name !== PUSH_TIME_METRIC && name !== PUSH_FAILURE_TIME_METRIC) n += stored.family.metrics.length;
  }
  return n;
}

interface ScheduleSource {
  readonly schedule: Schedule;
  readonly createdAt: number;
  readonly suspended: boolean;
}

/** Where a group's schedule comes from: its CronJob, or its MetricsGroup's schedule or CronJob. */
function scheduleSourceOf(owner: OwnerRef | undefined, index: SnapshotIndex): ScheduleSource | undefined {
  if (owner === undefined) return undefined;
  const snap = index.snapshot;
  const cronJobUid = owner.kind === 'CronJob' ? owner.uid : owner.kind === 'Job' ? owner.cronJob?.uid : undefined;
  if (cronJobUid !== undefined) {
    const cj = snap.cronJobs.get(cronJobUid);
    return cj === undefined ? undefined : cronSource(cj);
  }
  if (owner.kind !== 'MetricsGroup') return undefined;
  const mg = snap.metricsGroups.get(owner.uid);
  return mg === undefined ? undefined : metricsGroupSchedule(mg, index);
}

function cronSource(cj: { schedule: string; timeZone?: string; createdAt: number; suspend: boolean }): ScheduleSource {
  return {
    schedule: { schedule: cj.schedule, ...(cj.timeZone === undefined ? {} : { timeZone: cj.timeZone }) },
    createdAt: cj.createdAt,
    suspended: cj.suspend,
  };
}

function metricsGroupSchedule(mg: MetricsGroupInfo, index: SnapshotIndex): ScheduleSource | undefined {
  if (mg.schedule !== undefined) return { schedule: mg.schedule, createdAt: mg.createdAt, suspended: false };
  if (mg.ownerRef?.kind !== 'CronJob') return undefined;
  const cj = index.cronJobNamed(mg.namespace, mg.ownerRef.name);
  return cj === undefined ? undefined : cronSource(cj);
}

const earliest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

export function decide(input: DecideInput): Plan {
  const { groups, snapshot, defaults, now } = input;
  const index = new SnapshotIndex(snapshot);
  const owners = new Map<string, OwnerRef | undefined>();
  const lineages = new LineageIndex();
  for (const group of groups) {
    const owner = effectiveOwner(group, candidateOwner(group, index), snapshot);
    owners.set(group.key.id, owner);
    lineages.add(group, owner);
  }
  lineages.seal();

  // Per schedule (and overdueAfter), not per group: the cron arithmetic dominated passes with
  // many groups of CronJob runs.
  const parsed = new Map<string, ParsedSchedule>();
  const windows = new Map<string, DueWindow>();
  const overdueFor = (source: ScheduleSource, lastPushAt: number, policy: Policy): OverdueState | string => {
    const id = `${source.schedule.timeZone ?? ''}\n${source.schedule.schedule}`;
    let p = parsed.get(id);
    if (p === undefined) {
      p = parseSchedule(source.schedule);
      parsed.set(id, p);
    }
    if (!p.ok) return p.error;
    if (source.suspended) return { overdue: false };
    const windowId = `${policy.overdueAfterMs}\n${id}`;
    let window = windows.get(windowId);
    if (window === undefined) {
      window = dueWindow(p.cron, now, policy.overdueAfterMs);
      windows.set(windowId, window);
    }
    return overdueIn(window, { lastPushAt, since: source.createdAt });
  };

  const decisions: Decision[] = [];
  const insights = new Map<string, GroupInsight>();
  const overdue: GroupOverdue[] = [];
  let nextAt: number | undefined;
  for (const group of groups) {
    const resolved = owners.get(group.key.id);
    // The owner's policy, stored with it: what the objects say now, else what was stored before.
    const stored = resolved !== undefined && sameOwner(group.owner, resolved) ? group.owner?.policy : resolved?.policy;
    const ownerPolicy = ownerPolicyOf(resolved, snapshot, stored);
    const owner = resolved === undefined ? undefined : withPolicy(resolved, ownerPolicy);
    const ownerChanged =
      !sameOwner(group.owner, owner) || group.owner?.cronJob?.uid !== owner?.cronJob?.uid || !sameOwnerPolicy(group.owner?.policy, ownerPolicy);
    const holder = holdingMetricsGroup(group, owner, index);
    const policy = resolvePolicy(defaults, ownerPolicy, holder !== undefined);
    const ctx: GroupContext = { group, owner, policy, snapshot, index, now, lineages };
    const decision = runChecks(ctx, ownerChanged);
    decisions.push(decision);
    const invalid =
      ownerPolicy?.invalid ?? (holder === undefined ? undefined : `MetricsGroup ${holder.namespace}/${holder.name}: ${holder.invalid ?? 'its selector cannot be read'}`);
    const insight = insightOf(decision, group, policy, ownerPolicy, invalid, snapshot, now);
    insights.set(group.key.id, insight);
    if (decision.notBefore !== undefined && decision.notBefore > now) nextAt = earliest(nextAt, decision.notBefore);
    if (decision.action === 'delete' || owner === undefined) continue;

    const source = scheduleSourceOf(owner, index);
    const lineage = lineageId(owner);
    if (source === undefined || lineage === undefined) continue;
    const newest = lineages.members(lineage)[0]?.group.lastPushAt ?? group.lastPushAt;
    const state = overdueFor(source, newest, policy);
    if (typeof state === 'string') continue;
    overdue.push({ groupKey: group.key, owner, lastPushAt: newest, state });
    if (state.overdue && state.since !== undefined) insights.set(group.key.id, { ...insight, overdue: { since: state.since } });
    if (state.nextCheckAt !== undefined) nextAt = earliest(nextAt, state.nextCheckAt);
  }

  const metricsGroups: MetricsGroupReport[] = [];
  for (const mg of snapshot.metricsGroups.values()) {
    const members = lineages.members(mg.uid);
    const lastPushAt = members[0]?.group.lastPushAt;
    const source = metricsGroupSchedule(mg, index);
    let state: OverdueState | undefined;
    let scheduleError: string | undefined;
    if (source !== undefined) {
      const result = overdueFor(source, lastPushAt ?? 0, policyFor({ kind: 'MetricsGroup', namespace: mg.namespace, name: mg.name, uid: mg.uid }, snapshot, defaults));
      if (typeof result === 'string') scheduleError = result;
      else {
        state = result;
        if (result.nextCheckAt !== undefined) nextAt = earliest(nextAt, result.nextCheckAt);
      }
    }
    metricsGroups.push({
      metricsGroup: mg,
      groups: members.length,
      series: members.reduce((n, m) => n + seriesOf(m.group), 0),
      lastPushAt,
      overdue: state,
      scheduleError,
    });
  }
  return { decisions, insights, overdue, metricsGroups, nextAt };
}

/** The owner with `policy` as its stored policy (none when undefined). */
function withPolicy(owner: OwnerRef, policy: OwnerPolicy | undefined): OwnerRef {
  if (owner.policy === policy) return owner;
  const { policy: _old, ...rest } = owner;
  return policy === undefined ? rest : { ...rest, policy };
}

function insightOf(
  decision: Decision,
  group: GroupView,
  policy: Policy,
  ownerPolicy: OwnerPolicy | undefined,
  policyInvalid: string | undefined,
  snap: ClusterSnapshot,
  now: number,
): GroupInsight {
  const owner = decision.owner;
  const policySource: GroupInsight['policySource'] = ownerPolicy?.source ?? 'flags';
  let ownerAlive: boolean | undefined;
  if (owner !== undefined) {
    switch (owner.kind) {
      case 'MetricsGroup':
        ownerAlive = snap.metricsGroups.has(owner.uid);
        break;
      case 'Job':
        ownerAlive = snap.jobs.has(owner.uid);
        break;
      case 'CronJob':
        ownerAlive = snap.cronJobs.has(owner.uid);
        break;
      case 'Namespace': {
        const ns = snap.namespaces.get(owner.name);
        ownerAlive = ns !== undefined && ns.uid === owner.uid && !ns.terminating;
        break;
      }
      default: {
        const never: never = owner.kind;
        return never;
      }
    }
  }
  const nextDeletion =
    decision.action === 'delete'
      ? { reason: decision.reason, at: decision.notBefore ?? now }
      : policy.ttlMs > 0
        ? { reason: 'ttl-expired' as const, at: group.lastPushAt + policy.ttlMs }
        : undefined;
  return {
    policy,
    policySource,
    ...(policyInvalid === undefined ? {} : { policyInvalid }),
    ...(ownerAlive === undefined ? {} : { ownerAlive }),
    ...(nextDeletion === undefined ? {} : { nextDeletion }),
  };
}

/** Runs the chain of checks for one group and turns the first conclusive verdict into a Decision. */
function runChecks(ctx: GroupContext, ownerChanged: boolean): Decision {
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
        const orphaned: OwnerRef | undefined =
          nsUid === undefined ? undefined : { kind: 'Namespace', namespace: ns, name: ns, uid: nsUid, resolvedFor: group.lastPushAt };
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
