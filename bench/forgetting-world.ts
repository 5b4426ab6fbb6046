/**
 * The pass rows of the forgetting benchmark, in memory: a synthetic cluster of Jobs, CronJobs and
 * MetricsGroups with groups owned by them, and the time of the pure decide() and of a whole
 * LifecycleLoop pass over it.
 */
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import {
  LifecycleLoop,
  decide,
  emptySnapshot,
  type ClusterSnapshot,
  type ClusterView,
  type CronJobInfo,
  type JobInfo,
  type MetricsGroupInfo,
  type NamespaceInfo,
  type Tombstone,
} from '../src/lifecycle/index.js';
import { CRONJOB, JOB, METRICSGROUP, defaultPolicy, groupingKeyOf, type Attribution, type GroupView, type MetricFamily, type ObjectRef, type OwnerRef } from '../src/model/index.js';
import { createLifecycleMetrics, createLogger, type Logger } from '../src/observability/index.js';
import { LocalGroupStore } from '../src/store/index.js';

const NAMESPACES = 100;
const CRONJOBS = 200;
const METRICS_GROUPS = 50;

export interface SyntheticWorld {
  readonly snapshot: ClusterSnapshot;
  /** The groups as the store would hold them after a first pass (owners set). */
  readonly groups: readonly GroupView[];
  readonly jobs: readonly JobInfo[];
}

/**
 * `jobs` Jobs in 100 namespaces (a third of them runs of 200 CronJobs on one schedule, one per
 * namespace claiming a grouping key by annotation), and `groups` groups, each pushed from a pod of
 * a Job and owned by it, except every 50th, which one of 50 MetricsGroups selects (their
 * spec.ownerRef half a CronJob, half a Job). Every `deletedEvery`-th Job is gone (a tombstone); 0: none.
 */
export function syntheticWorld(jobCount: number, groupCount: number, now: number, deletedEvery = 0): SyntheticWorld {
  const namespaces = new Map<string, NamespaceInfo>();
  for (let n = 0; n < NAMESPACES; n++) namespaces.set(`team-${n}`, { name: `team-${n}`, uid: `ns-${n}`, terminating: false });
  const cronJobs = new Map<string, CronJobInfo>();
  const cronJobList: CronJobInfo[] = [];
  for (let c = 0; c < CRONJOBS; c++) {
    const cj: CronJobInfo = {
      uid: `cj-${c}`,
      namespace: `team-${c % NAMESPACES}`,
      name: `nightly-${c}`,
      createdAt: now - 86_400_000,
      schedule: '*/15 * * * *',
      suspend: false,
      policy: {},
      claims: [],
    };
    cronJobs.set(cj.uid, cj);
    cronJobList.push(cj);
  }
  const metricsGroups = new Map<string, MetricsGroupInfo>();
  for (let m = 0; m < METRICS_GROUPS; m++) {
    // spec.ownerRef: half a CronJob of the namespace, half one of its bare Jobs (one of the last created).
    let target = m + NAMESPACES * Math.floor((jobCount - 1 - m) / NAMESPACES);
    if (target % 3 === 0) target -= NAMESPACES;
    const ownerRef = m % 2 === 0 ? { group: 'batch', kind: 'CronJob', name: `nightly-${m}` } : { group: 'batch', kind: 'Job', name: `batch-${target}` };
    const mg: MetricsGroupInfo = {
      uid: `mg-${m}`,
      namespace: `team-${m % NAMESPACES}`,
      name: `scans-${m}`,
      generation: 1,
      createdAt: now - 86_400_000,
      selector: { matchLabels: { job: `scan-${m}` }, matchExpressions: [] },
      policy: {},
      ownerRef,
    };
    metricsGroups.set(mg.uid, mg);
  }
  const jobs = new Map<string, JobInfo>();
  const jobList: JobInfo[] = [];
  const tombstones = new Map<string, Tombstone>();
  const scheduleOf = new Map<string, ObjectRef | undefined>();
  for (let i = 0; i < jobCount; i++) {
    const n = i % NAMESPACES;
    const cronJob = i % 3 === 0 ? cronJobList[n + NAMESPACES * (Math.floor(i / NAMESPACES) % 2)] : undefined;
    const job: JobInfo = {
      uid: `job-${i}`,
      ...JOB,
      namespace: `team-${n}`,
      name: cronJob === undefined ? `batch-${i}` : `${cronJob.name}-${i}`,
      ownerReferences: cronJob === undefined ? [] : [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob.name, uid: cronJob.uid, controller: true }],
      createdAt: now - 3_600_000 + i,
      suspended: false,
      policy: {},
      claims: i % NAMESPACES === 1 ? [{ matchLabels: { job: `claimed-${i}` }, matchExpressions: [] }] : [],
    };
    jobList.push(job);
    scheduleOf.set(job.uid, cronJob === undefined ? undefined : { ...CRONJOB, name: cronJob.name, uid: cronJob.uid });
    const ref: OwnerRef = { ...JOB, namespace: job.namespace, name: job.name, uid: job.uid };
    if (deletedEvery > 0 && i % deletedEvery === 0) tombstones.set(job.uid, { ref, policy: {} });
    else jobs.set(job.uid, job);
  }
  const groups: GroupView[] = [];
  for (let g = 0; g < groupCount; g++) {
    const mg = scanOf(g);
    // A group a MetricsGroup selects is pushed from a pod of its namespace.
    const job = jobList[mg === undefined ? g % jobList.length : (g - (g % NAMESPACES) + mg) % jobList.length];
    if (job === undefined) break;
    const lastPushAt = now - 60_000 - g;
    const schedule = scheduleOf.get(job.uid);
    const attribution: Attribution = {
      source: 'pod-ip',
      namespace: job.namespace,
      namespaceUid: namespaces.get(job.namespace)?.uid ?? '',
      pod: `${job.name}-pod`,
      podUid: `pod-${g}`,
      run: { ...JOB, name: job.name, uid: job.uid },
      ...(schedule === undefined ? {} : { schedule }),
    };
    const owner: OwnerRef =
      mg === undefined
        ? { ...JOB, namespace: job.namespace, name: job.name, uid: job.uid, resolvedFor: lastPushAt, ...(schedule === undefined ? {} : { schedule }) }
        : { ...METRICSGROUP, namespace: job.namespace, name: `scans-${mg}`, uid: `mg-${mg}`, resolvedFor: lastPushAt };
    const families = new Map([['work_done', { family: workDone(g), pushedAt: lastPushAt }]]);
    groups.push({
      key: groupingKeyOf({ job: mg === undefined ? `work-${g}` : `scan-${mg}`, instance: `pod-${g}` }),
      families,
      lastPushAt,
      lastFailureAt: 0,
      generation: g,
      scrapedAt: lastPushAt + 1_000,
      attribution,
      owner,
      excludedReason: undefined,
    });
  }
  return { snapshot: { ...emptySnapshot, namespaces, jobs, cronJobs, metricsGroups, tombstones }, groups, jobs: jobList };
}

/** Every 50th group is selected by a MetricsGroup (returns its number); the others by none. */
const scanOf = (g: number): number | undefined => (g % 50 === 7 ? Math.floor(g / 50) % METRICS_GROUPS : undefined);

const workDone = (value: number): MetricFamily => ({ name: 'work_done', type: 'gauge', metrics: [{ labels: [], value }] });

/** Milliseconds of one synchronous call, `runs` times after two warm-up calls. */
function timeRuns(runs: number, fn: () => unknown): number[] {
  fn();
  fn();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

export async function timeRunsAsync(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn();
  await fn();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

export const discardingLogger = (): Logger =>
  createLogger({ level: 'info', format: 'json', stream: new Writable({ write: (_chunk, _enc, done) => done() }) });

/** The pure decide() over the synthetic world (5% of the Jobs deleted, so some groups go). */
export function decidePass(objects: number, runs: number): number[] {
  const now = Date.now();
  const world = syntheticWorld(objects, objects, now, 20);
  return timeRuns(runs, () => decide({ groups: world.groups, snapshot: world.snapshot, defaults: defaultPolicy, now }));
}

/**
 * A whole LifecycleLoop pass in memory: the embedded store holding the groups, a cluster view
 * that builds its snapshot from the object lists on every call (as the informer-backed view does
 * after any change), decide, apply, gauges. Steady state: every owner is alive.
 */
export async function loopPass(objects: number, runs: number): Promise<number[]> {
  const now = Date.now();
  const world = syntheticWorld(objects, objects, now);
  const clock = { now: () => Date.now() };
  const store = await LocalGroupStore.open({ clock, ownType: () => undefined, consistencyCheck: true, maxGroups: objects * 2, persistenceFile: '' });
  for (const g of world.groups) {
    const families = [...g.families.values()].map((s) => s.family);
    const pushed = await store.push({ key: g.key, method: 'PUT', families, attribution: g.attribution });
    if (!pushed.ok) throw new Error(`synthetic push refused: ${pushed.reason}`);
    const stored = store.get(g.key);
    if (stored?.owner === undefined && g.owner !== undefined) await store.setOwner(g.key, { ...g.owner, resolvedFor: stored?.lastPushAt ?? now });
  }
  await store.confirmScraped(store.scrapeToken(), now);
  const { snapshot } = world;
  const lists = {
    namespaces: [...snapshot.namespaces.values()],
    jobs: [...snapshot.jobs.values()],
    cronJobs: [...snapshot.cronJobs.values()],
    metricsGroups: [...snapshot.metricsGroups.values()],
  };
  const byUid = <T extends { uid: string }>(items: readonly T[]): Map<string, T> => new Map(items.map((i) => [i.uid, i]));
  const view: ClusterView = {
    snapshot: () => ({
      ...emptySnapshot,
      namespaces: new Map(lists.namespaces.map((n) => [n.name, n])),
      jobs: byUid(lists.jobs),
      cronJobs: byUid(lists.cronJobs),
      metricsGroups: byUid(lists.metricsGroups),
      tombstones: new Map(),
    }),
    gates: () => ({ synced: true, healthy: true, problems: [] }),
    confirmAbsent: () => Promise.resolve('absent'),
    onChange: () => () => undefined,
  };
  const registry = new Registry();
  const loop = new LifecycleLoop({
    store,
    view,
    clock,
    logger: discardingLogger(),
    metrics: createLifecycleMetrics(registry),
    groupsDeleted: { inc: () => undefined },
    options: { defaults: defaultPolicy, resyncIntervalMs: 30_000, debounceMs: 100, scrapePollMs: 1_000 },
  });
  const samples = await timeRunsAsync(runs, async () => {
    const result = await loop.runOnce();
    if (result.deleted !== 0 || result.blockedBy.length > 0) throw new Error('the steady-state pass deleted or was blocked');
  });
  await store.close();
  return samples;
}
