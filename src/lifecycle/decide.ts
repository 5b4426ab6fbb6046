import {
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_METRIC,
  METRICSGROUP,
  resolvePolicy,
  sameOwner,
  sameOwnerPolicy,
  sameSchedule,
  seriesCount,
  type Decision,
  type GroupInsight,
  type GroupView,
  type GroupingKey,
  type OwnerPolicy,
  type OwnerRef,
  type Policy,
} from '../model/index.js';
import { runChecks, type GroupContext } from './checks.js';
import type { ClusterSnapshot, MetricsGroupInfo } from './cluster-snapshot.js';
import { insightOf } from './insight.js';
import { LineageIndex, lineageId } from './lineage.js';
import { dueWindow, overdueEvery, overdueIn, parseSchedule, type DueWindow, type OverdueState, type ParsedSchedule } from './overdue.js';
import { candidateOwner, effectiveOwner, holdingMetricsGroup, ownerPolicyOf, policyFor, runOfGroup } from './owner-resolution.js';
import { metricsGroupSchedule, scheduleSourceOf, type ScheduleLookup, type ScheduleSource } from './schedule-source.js';
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
  /** The group's owner: a run (whose schedule it is), a schedule, or a MetricsGroup. */
  readonly owner: OwnerRef;
  /** The newest push of the groups sharing the schedule (a schedule's runs, a MetricsGroup's groups). */
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
    if (name !== PUSH_TIME_METRIC && name !== PUSH_FAILURE_TIME_METRIC) n += seriesCount(stored.family);
  }
  return n;
}

const earliest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** Overdue states, with the cron arithmetic done once per schedule (and overdueAfter), not once per group. */
class OverdueCalculator {
  private readonly parsed = new Map<string, ParsedSchedule>();
  private readonly windows = new Map<string, DueWindow>();

  constructor(
    private readonly index: SnapshotIndex,
    private readonly now: number,
  ) {}

  /** The state of a schedule whose groups last pushed at `lastPushAt`, or why its schedule cannot be read. */
  stateOf(source: ScheduleSource, lastPushAt: number, policy: Policy): OverdueState | string {
    const id = `${source.schedule.timeZone ?? ''}\n${source.schedule.schedules.join('\n')}`;
    let p = this.parsed.get(id);
    if (p === undefined) {
      p = parseSchedule(source.schedule);
      this.parsed.set(id, p);
    }
    if (!p.ok) return p.error;
    if (source.suspended) return { overdue: false };
    const queue = source.object === undefined ? undefined : this.index.queueOf(source.object);
    const input = { lastPushAt, since: source.createdAt, now: this.now, overdueAfterMs: policy.overdueAfterMs, queue };
    if (p.times.kind === 'every') return overdueEvery(p.times.everyMs, input);
    const windowId = `${policy.overdueAfterMs}\n${id}`;
    let window = this.windows.get(windowId);
    if (window === undefined) {
      window = dueWindow(p.times.crons, this.now, policy.overdueAfterMs);
      this.windows.set(windowId, window);
    }
    return overdueIn(window, input);
  }
}

const sourceOf = (lookup: ScheduleLookup): ScheduleSource | undefined => (typeof lookup === 'object' ? lookup : undefined);

/** A lineage's overdue state and newest push. */
interface LineageSchedule {
  readonly state: OverdueState;
  readonly newest: number;
}

/**
 * The overdue state of each lineage, worked out for its first group and shared by the others:
 * the schedule (its owner's, its run's schedule's, its MetricsGroup's) and the newest push are the
 * lineage's, so only the overdueAfter of the group's policy can tell two of its groups apart.
 */
class LineageOverdue {
  /** By overdueAfter, then lineage. */
  private readonly known = new Map<number, Map<string, LineageSchedule | undefined>>();

  constructor(
    private readonly index: SnapshotIndex,
    private readonly lineages: LineageIndex,
    private readonly calculator: OverdueCalculator,
  ) {}

  /** Undefined when the lineage runs on no schedule, or on one that cannot be read. */
  of(lineage: string, owner: OwnerRef, policy: Policy): LineageSchedule | undefined {
    // A run of no schedule (the owner of most groups): nothing to look up or remember.
    if (owner.schedule === undefined && this.index.roleOf(owner) === 'run') return undefined;
    let known = this.known.get(policy.overdueAfterMs);
    if (known === undefined) this.known.set(policy.overdueAfterMs, (known = new Map<string, LineageSchedule | undefined>()));
    if (known.has(lineage)) return known.get(lineage);
    const source = sourceOf(scheduleSourceOf(owner, this.index));
    const newest = this.lineages.members(lineage)[0]?.group.lastPushAt;
    const state = source === undefined || newest === undefined ? undefined : this.calculator.stateOf(source, newest, policy);
    const schedule = state === undefined || typeof state === 'string' || newest === undefined ? undefined : { state, newest };
    known.set(lineage, schedule);
    return schedule;
  }
}

/**
 * The look-ups over each snapshot, kept as long as the snapshot: the cluster view hands out the
 * same snapshot until something in the cluster changes, and most passes come before that.
 */
const indexes = new WeakMap<ClusterSnapshot, SnapshotIndex>();

function indexOf(snapshot: ClusterSnapshot): SnapshotIndex {
  let index = indexes.get(snapshot);
  if (index === undefined) indexes.set(snapshot, (index = new SnapshotIndex(snapshot)));
  return index;
}

export function decide(input: DecideInput): Plan {
  const { groups, snapshot, defaults, now } = input;
  const index = indexOf(snapshot);
  // The owner and run of groups[i], at i.
  const owners: (OwnerRef | undefined)[] = [];
  const runs: (OwnerRef | undefined)[] = [];
  const lineages = new LineageIndex();
  for (const group of groups) {
    const owner = effectiveOwner(group, candidateOwner(group, index), index);
    const run = runOfGroup(group, owner, index);
    owners.push(owner);
    runs.push(run);
    lineages.add(group, owner, run?.uid ?? group.key.id);
  }
  lineages.seal();
  const calculator = new OverdueCalculator(index, now);
  const lineageOverdue = new LineageOverdue(index, lineages, calculator);

  const decisions: Decision[] = [];
  const insights = new Map<string, GroupInsight>();
  const overdue: GroupOverdue[] = [];
  let nextAt: number | undefined;
  for (const [i, group] of groups.entries()) {
    const resolved = owners[i];
    // The owner's policy, stored with it: what the objects say now, else what was stored before.
    const stored = resolved !== undefined && sameOwner(group.owner, resolved) ? group.owner?.policy : resolved?.policy;
    const ownerPolicy = ownerPolicyOf(resolved, index, stored);
    const owner = resolved === undefined ? undefined : withPolicy(resolved, ownerPolicy);
    const ownerChanged = !sameOwner(group.owner, owner) || !sameSchedule(group.owner, owner) || !sameOwnerPolicy(group.owner?.policy, ownerPolicy);
    const holder = holdingMetricsGroup(group, owner, index);
    const policy = resolvePolicy(defaults, ownerPolicy, holder !== undefined);
    const ctx: GroupContext = { group, owner, policy, snapshot, index, now, lineages };
    const decision = runChecks(ctx, ownerChanged);
    decisions.push(decision);
    const policyInvalid =
      ownerPolicy?.invalid ?? (holder === undefined ? undefined : `MetricsGroup ${holder.namespace}/${holder.name}: ${holder.invalid ?? 'its selector cannot be read'}`);
    if (decision.notBefore !== undefined && decision.notBefore > now) nextAt = earliest(nextAt, decision.notBefore);
    const lineage = lineageId(owner);
    const schedule = decision.action === 'delete' || owner === undefined || lineage === undefined ? undefined : lineageOverdue.of(lineage, owner, policy);
    insights.set(group.key.id, insightOf({ decision, group, policy, ownerPolicy, policyInvalid, run: runs[i], overdue: schedule?.state, now }, index));
    if (owner === undefined || schedule === undefined) continue;
    overdue.push({ groupKey: group.key, owner, lastPushAt: schedule.newest, state: schedule.state });
    nextAt = earliest(nextAt, schedule.state.nextCheckAt);
  }

  const metricsGroups = snapshot.metricsGroups.size === 0 ? [] : reportMetricsGroups(snapshot, index, lineages, calculator, defaults);
  for (const report of metricsGroups) nextAt = earliest(nextAt, report.overdue?.nextCheckAt);
  return { decisions, insights, overdue, metricsGroups, nextAt };
}

function reportMetricsGroups(snapshot: ClusterSnapshot, index: SnapshotIndex, lineages: LineageIndex, calculator: OverdueCalculator, defaults: Policy): MetricsGroupReport[] {
  const reports: MetricsGroupReport[] = [];
  for (const mg of snapshot.metricsGroups.values()) {
    const members = lineages.members(mg.uid);
    const lastPushAt = members[0]?.group.lastPushAt;
    const lookup = metricsGroupSchedule(mg, index);
    let state: OverdueState | undefined;
    let scheduleError = typeof lookup === 'string' ? lookup : undefined;
    if (typeof lookup === 'object') {
      const result = calculator.stateOf(lookup, lastPushAt ?? 0, policyFor({ ...METRICSGROUP, namespace: mg.namespace, name: mg.name, uid: mg.uid }, index, defaults));
      if (typeof result === 'string') scheduleError = result;
      else state = result;
    }
    reports.push({
      metricsGroup: mg,
      groups: members.length,
      series: members.reduce((n, m) => n + seriesOf(m.group), 0),
      lastPushAt,
      overdue: state,
      scheduleError,
    });
  }
  return reports;
}

/** The owner with `policy` as its stored policy (none when undefined). */
function withPolicy(owner: OwnerRef, policy: OwnerPolicy | undefined): OwnerRef {
  if (owner.policy === policy) return owner;
  const { policy: _old, ...rest } = owner;
  return policy === undefined ? rest : { ...rest, policy };
}
