import { describeOwner, jobOf, type Clock, type Decision, type DeletionReason, type GroupInsight, type GroupingKey, type OwnerRef, type Policy } from '../model/index.js';
import { F, errorFields, type LifecycleMetrics, type Logger } from '../observability/index.js';
import type { GroupStore } from '../store/index.js';
import type { Leadership } from '../leadership/index.js';
import type { ClusterView, Presence } from './cluster-snapshot.js';
import { decide, type MetricsGroupReport, type Plan } from './decide.js';
import { describeKey } from './describe.js';

/** One Kubernetes Event's worth of deletions: the groups one pass deleted for one subject and reason. */
export interface DeletionBatch {
  readonly reason: DeletionReason;
  /** The object the Event goes on; undefined for groups attributed to no namespace. */
  readonly subject: OwnerRef | undefined;
  /** For runs superseded within a schedule key: that key (the subject is then the deleted run). */
  readonly scheduleKey?: string;
  readonly groups: readonly GroupingKey[];
}

/** Where the loop reports to the cluster (kube/ implements it with Events and status patches). */
export interface LifecycleReporter {
  deletions(batches: readonly DeletionBatch[]): Promise<void>;
  metricsGroups(reports: readonly MetricsGroupReport[], now: number): Promise<void>;
}

export interface LifecycleOptions {
  readonly defaults: Policy;
  /** A full pass at least this often, even when nothing signals a change (ms). */
  readonly resyncIntervalMs: number;
  /** How soon after a change signal the pass runs; signals within it share one pass (ms). */
  readonly debounceMs: number;
  /** While a deletion waits for a scrape, look again this often (ms). */
  readonly scrapePollMs: number;
}

export interface LifecycleDeps {
  readonly store: GroupStore;
  readonly view: ClusterView;
  /** Whether this replica may delete (it leads, or it is the only replica: absent). */
  readonly leadership?: Leadership;
  readonly reporter?: LifecycleReporter;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: LifecycleMetrics;
  /** `lethe_groups_deleted_total{reason}`. */
  readonly groupsDeleted: { inc(labels: { reason: DeletionReason }): void };
  /** Told after each write the loop makes to the store: an owner recorded, a group deleted. */
  readonly wrote?: () => void;
  readonly options: LifecycleOptions;
}

export type Gate = 'sync' | 'health' | 'leader';
const GATES: readonly Gate[] = ['sync', 'health', 'leader'];

export interface PassResult {
  /** The gates that blocked this pass; empty when it ran. */
  readonly blockedBy: readonly Gate[];
  readonly deleted: number;
  readonly plan?: Plan;
}

/** The series of one group in the overdue gauges. */
interface OverdueSeries {
  readonly labels: Record<'namespace' | 'owner_kind' | 'owner_name' | 'grouping_key', string>;
  readonly overdue: number;
  readonly lastPush: number;
}

/**
 * The lifecycle loop: runs decide() over the store and the cluster snapshot and applies the
 * result. Level-triggered: change signals only schedule the next pass; each pass looks at
 * everything. Refuses to act unless the view is synced and healthy and this replica leads.
 */
export class LifecycleLoop {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private blocked: readonly Gate[] = [];
  private insights: ReadonlyMap<string, GroupInsight> = new Map();
  /** What the overdue gauges hold, by grouping-key id. */
  private overdueSeries = new Map<string, OverdueSeries>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: LifecycleDeps) {
    this.log = deps.logger.child({ [F.component]: 'lifecycle' });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe.push(this.deps.view.onChange(() => this.kick()));
    if (this.deps.leadership !== undefined) this.unsubscribe.push(this.deps.leadership.onChange(() => this.kick()));
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Something changed: look again soon. */
  kick(): void {
    this.scheduleAt(this.deps.clock.now() + this.deps.options.debounceMs);
  }

  /** What the latest pass concluded about a group (for the web page and /api/v1/groups). */
  readonly insight = (group: { readonly key: { readonly id: string } }): GroupInsight | undefined => this.insights.get(group.key.id);

  /** The gates that block deletions now (empty: none). */
  gates(): readonly Gate[] {
    const view = this.deps.view.gates();
    const closed: Gate[] = [];
    if (!view.synced) closed.push('sync');
    if (!view.healthy) closed.push('health');
    if (this.deps.leadership !== undefined && !this.deps.leadership.isLeader()) closed.push('leader');
    return closed;
  }

  private scheduleAt(at: number): void {
    // An earlier pass is already set, unless the clock has moved past it (the clock jumped).
    if (this.stopped || (at >= this.timerAt && this.timerAt > this.deps.clock.now())) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.deps.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.runOnce()
      .then(
        (result) => this.afterPass(result),
        (err: unknown) => {
          this.deps.metrics.passes.inc({ result: 'failed' });
          this.log.error('Failed lifecycle pass', { [F.err]: errorFields(err) });
          this.scheduleAt(this.deps.clock.now() + this.deps.options.debounceMs * 10);
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private afterPass(result: PassResult): void {
    const { options } = this.deps;
    const now = this.deps.clock.now();
    let next = this.deps.clock.now() + options.resyncIntervalMs;
    const plan = result.plan;
    if (plan?.nextAt !== undefined) next = Math.min(next, this.deps.clock.now() + Math.max(0, plan.nextAt - now));
    if (plan?.decisions.some((d) => d.action === 'delete')) next = Math.min(next, this.deps.clock.now() + options.scrapePollMs);
    this.scheduleAt(next);
  }

  private updateGates(closed: readonly Gate[]): void {
    const before = this.blocked;
    this.blocked = closed;
    for (const gate of GATES) this.deps.metrics.blocked.set({ gate }, closed.includes(gate) ? 1 : 0);
    if (before.join() === closed.join()) return;
    if (closed.length === 0) this.log.info('Unblocked deletions', { gates: GATES });
    else this.log.info('Blocked deletions', { gates: closed, problems: this.deps.view.gates().problems });
  }

  /** One pass: decide, then record owners, delete what is due, report. Exposed for tests. */
  async runOnce(): Promise<PassResult> {
    const started = performance.now();
    const closed = this.gates();
    this.updateGates(closed);
    if (closed.length > 0) {
      this.deps.metrics.passes.inc({ result: 'blocked' });
      return { blockedBy: closed, deleted: 0 };
    }
    const { store, view, clock, options } = this.deps;
    const now = clock.now();
    const groups = [...store.groups()];
    const plan = decide({ groups, snapshot: view.snapshot(), defaults: options.defaults, now });
    this.insights = plan.insights;
    const seen = new Map(groups.map((g) => [g.key.id, g.generation]));
    const unchanged = (d: Decision): boolean => store.get(d.groupKey)?.generation === seen.get(d.groupKey.id);

    const confirmed = new Map<string, Promise<Presence>>();
    const isGone = (ref: OwnerRef): Promise<Presence> => {
      const id = `${ref.kind}/${ref.namespace}/${ref.name}/${ref.uid}`;
      let p = confirmed.get(id);
      if (p === undefined) {
        p = view.confirmAbsent(ref);
        confirmed.set(id, p);
      }
      return p;
    };

    await this.applyOwners(plan, unchanged, isGone);
    const { deleted, batches, pending } = await this.applyDeletions(plan, now, unchanged, isGone, seen);
    this.deps.metrics.pendingDeletions.set(pending);
    this.setOverdueGauges(plan);
    await this.report(batches, plan, now);
    this.deps.metrics.passes.inc({ result: 'applied' });
    this.deps.metrics.passDuration.observe((performance.now() - started) / 1000);
    return { blockedBy: [], deleted, plan };
  }

  private async applyOwners(plan: Plan, unchanged: (d: Decision) => boolean, isGone: (ref: OwnerRef) => Promise<Presence>): Promise<void> {
    for (const d of plan.decisions) {
      if (!d.ownerChanged) continue;
      if (d.action === 'keep' && d.orphanedFrom !== undefined) {
        if ((await isGone(d.orphanedFrom)) !== 'absent' || !unchanged(d)) continue;
        await this.deps.store.setOwner(d.groupKey, d.owner);
        this.deps.wrote?.();
        this.log.info('Orphaned metric group', {
          [F.groupingKey]: describeKey(d.groupKey),
          [F.job]: jobOf(d.groupKey),
          [F.owner]: d.orphanedFrom,
        });
        continue;
      }
      if (!unchanged(d)) continue;
      await this.deps.store.setOwner(d.groupKey, d.owner);
      this.deps.wrote?.();
      this.log.debug('Set owner of metric group', { [F.groupingKey]: describeKey(d.groupKey), [F.owner]: d.owner });
    }
  }

  private async applyDeletions(
    plan: Plan,
    now: number,
    unchanged: (d: Decision) => boolean,
    isGone: (ref: OwnerRef) => Promise<Presence>,
    seen: ReadonlyMap<string, number>,
  ): Promise<{ deleted: number; batches: DeletionBatch[]; pending: number }> {
    const batches = new Map<string, { reason: DeletionReason; subject: OwnerRef | undefined; scheduleKey?: string; groups: GroupingKey[] }>();
    let deleted = 0;
    let pending = 0;
    for (const d of plan.decisions) {
      if (d.action !== 'delete') continue;
      if (d.notBefore !== undefined && d.notBefore > now) {
        pending++;
        continue;
      }
      if (d.gone !== undefined && (await isGone(d.gone)) !== 'absent') {
        pending++;
        continue;
      }
      // The gates again (the awaits above may have taken a while), and no push since the decision.
      if (this.gates().length > 0) return { deleted, batches: [...batches.values()], pending };
      if (!unchanged(d)) continue;
      // Compare-and-delete: a push (on any replica) since the decision keeps the group.
      const generation = seen.get(d.groupKey.id);
      if (!(await this.deps.store.delete(d.groupKey, generation === undefined ? {} : { ifGeneration: generation }))) continue;
      deleted++;
      this.deps.wrote?.();
      this.deps.groupsDeleted.inc({ reason: d.reason });
      this.log.info('Deleted metric group', {
        [F.groupingKey]: describeKey(d.groupKey),
        [F.job]: jobOf(d.groupKey),
        [F.reason]: d.reason,
        [F.owner]: d.owner,
        ...(d.subject === undefined ? {} : { subject: describeOwner(d.subject) }),
      });
      const id = `${d.reason}\n${d.subject?.kind ?? ''}/${d.subject?.namespace ?? ''}/${d.subject?.name ?? ''}/${d.subject?.uid ?? ''}`;
      const batch = batches.get(id);
      const scheduleKey = d.reason === 'run-superseded' ? d.owner?.scheduleKey : undefined;
      if (batch === undefined) batches.set(id, { reason: d.reason, subject: d.subject, ...(scheduleKey === undefined ? {} : { scheduleKey }), groups: [d.groupKey] });
      else batch.groups.push(d.groupKey);
    }
    return { deleted, batches: [...batches.values()], pending };
  }

  /**
   * The overdue gauges, one series pair per scheduled group. Only what changed since the last
   * pass is written (synchronously, so no scrape sees it half done): most passes change nothing,
   * and a label set costs prom-client a hash per write.
   */
  private setOverdueGauges(plan: Plan): void {
    const { groupOverdue, groupLastPush } = this.deps.metrics;
    const next = new Map<string, OverdueSeries>();
    for (const o of plan.overdue) {
      // A run's gauge is named after its schedule, whose runs it counts.
      const scheduled = o.owner.schedule ?? o.owner;
      const before = this.overdueSeries.get(o.groupKey.id);
      const same = before !== undefined && before.labels.namespace === o.owner.namespace && before.labels.owner_kind === scheduled.kind && before.labels.owner_name === scheduled.name;
      if (before !== undefined && !same) {
        groupOverdue.remove(before.labels);
        groupLastPush.remove(before.labels);
      }
      const labels = same
        ? before.labels
        : { namespace: o.owner.namespace, owner_kind: scheduled.kind, owner_name: scheduled.name, grouping_key: describeKey(o.groupKey) };
      const series = { labels, overdue: o.state.overdue ? 1 : 0, lastPush: o.lastPushAt / 1000 };
      if (!same || before.overdue !== series.overdue) groupOverdue.set(labels, series.overdue);
      if (!same || before.lastPush !== series.lastPush) groupLastPush.set(labels, series.lastPush);
      next.set(o.groupKey.id, series);
    }
    for (const [id, gone] of this.overdueSeries) {
      if (next.has(id)) continue;
      groupOverdue.remove(gone.labels);
      groupLastPush.remove(gone.labels);
    }
    this.overdueSeries = next;
  }

  private async report(batches: readonly DeletionBatch[], plan: Plan, now: number): Promise<void> {
    const reporter = this.deps.reporter;
    if (reporter === undefined) return;
    if (batches.length > 0) {
      await reporter.deletions(batches).catch((err: unknown) => {
        this.deps.metrics.reportErrors.inc({ what: 'event' });
        this.log.warn('Failed to record deletion Events', { [F.err]: errorFields(err) });
      });
    }
    await reporter.metricsGroups(plan.metricsGroups, now).catch((err: unknown) => {
      this.deps.metrics.reportErrors.inc({ what: 'status' });
      this.log.warn('Failed to update MetricsGroup status', { [F.err]: errorFields(err) });
    });
  }
}
