/**
 * Row 5 of the benchmark, Lethe only: forgetting. On a real control plane (etcd, kube-apiserver,
 * kube-controller-manager on loopback) with Lethe in-process at production timings:
 *
 *   - the time from a Job's deletion (the API call returning) to its group's series being absent
 *     from /metrics (polled every ~10 ms), over many bare Jobs, each with a pod whose IP is a
 *     127.x address the push comes from, pushed once and scraped once (so the wait for a scrape
 *     is already satisfied), deleted one at a time;
 *   - the cost of one lifecycle pass with 10,000 Jobs and 10,000 groups: the pure decide() and a
 *     whole LifecycleLoop pass (store, snapshot building, decide, apply) on synthetic inputs in
 *     memory, and a pass of the running Lethe with 10,000 Job objects in the cluster (optional);
 *   - forgetting again with those 10,000 Jobs and groups present.
 *
 * `forgettingRows()` returns the rows; bench/forgetting-main.ts runs it on its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ApiException, BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/index.js';
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
import { startLethe, type RunningLethe } from '../src/wiring/index.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../test/harness/control-plane.js';
import { PROMETHEUS_HEADERS } from '../test/harness/scrapers.js';

/** One row of the benchmark table; `id` is the runner's row id, `lethe` the value in `unit`. */
export interface ForgettingRow {
  readonly id: string;
  readonly metric: string;
  /** The figure, or why there is none. */
  readonly lethe: number | string;
  readonly unit: 'ms';
  readonly note?: string;
  /** Raw samples behind the figure (ms). */
  readonly samples?: readonly number[];
}

export interface ForgettingOptions {
  /** Jobs deleted one at a time on the otherwise empty Lethe (at least 100 for a p99). */
  readonly deletions?: number;
  /** Jobs and groups of the pass rows. */
  readonly passObjects?: number;
  /** Passes timed per pass row (after two warm-up passes). */
  readonly passRuns?: number;
  /** Also create `passObjects` Job objects on the control plane and time passes of the running Lethe. */
  readonly clusterPass?: boolean;
  /** Deletions timed with the `passObjects` Jobs and groups present (cluster pass only). */
  readonly loadedDeletions?: number;
  /** Progress lines (stderr by default). */
  readonly log?: (message: string) => void;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const count = (n: number): string => n.toLocaleString('en-US');

export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const median = (samples: readonly number[]): number => percentile(samples, 50);

// ---- Synthetic cluster and groups (pass rows) ------------------------------------------------

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

async function timeRunsAsync(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
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

const discardingLogger = (): Logger =>
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

// ---- The control plane -------------------------------------------------------------------------

interface Scraper {
  /** Polls /metrics every `intervalMs` until `gone(text)`; resolves with the time of the answer that showed it. */
  until(gone: (text: string) => boolean, intervalMs: number, timeoutMs: number): Promise<number>;
  text(): Promise<string>;
  close(): void;
}

function scraper(port: number): Scraper {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const text = (): Promise<string> =>
    new Promise((resolve, reject) => {
      // As Prometheus: only a scraper's complete response ends a group's scrape grace.
      const req = request({ host: '127.0.0.1', port, path: '/metrics', agent, headers: PROMETHEUS_HEADERS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`/metrics answered ${res.statusCode ?? 0}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    text,
    async until(gone, intervalMs, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const body = await text();
        const at = performance.now();
        if (gone(body)) return at;
        if (at > deadline) throw new Error(`still in /metrics after ${timeoutMs} ms`);
        await pause(intervalMs);
      }
    },
    close: () => agent.destroy(),
  };
}

/** PUTs a text body to /metrics/job/<job>/instance/<instance> from `localAddress`. */
function push(port: number, job: string, instance: string, body: string, localAddress?: string, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: `/metrics/job/${job}/instance/${instance}`,
        headers: { 'content-type': 'text/plain; version=0.0.4' },
        ...(localAddress === undefined ? {} : { localAddress }),
        ...(agent === undefined ? {} : { agent }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `fn` over `items` with at most `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i] as T, i);
    }),
  );
}

/** Retries a call the API server refused for load (429) or a conflict of the moment. */
async function retrying<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let a = 1; ; a++) {
    try {
      return await fn();
    } catch (err) {
      const retriable = err instanceof ApiException && (err.code === 429 || err.code === 409 || err.code >= 500);
      if (!retriable || a >= attempts) throw err;
      await pause(50 * 2 ** a);
    }
  }
}

function jobBody(name: string): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      // Not the job controller's: it would start pods of its own. The benchmark makes the one pod.
      managedBy: 'lethe.dev/bench',
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
    },
  };
}

/** 127.77.x.y for the i-th pod (i < 64,000). */
const podIp = (i: number): string => `127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;

/** The clone: the nearest directory above this file that holds tools/versions.env (also when compiled to dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tools', 'versions.env'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (tools/versions.env)');
    dir = parent;
  }
  return dir;
}

/**
 * The harness's binaries and CRDs, found from the clone rather than from the harness file (which
 * may run from a compiled copy): LETHE_CONTROL_PLANE_BIN / LETHE_ETCD_BIN as the Makefile sets
 * them, else the Makefile's tool cache at the versions in tools/versions.env.
 */
function controlPlaneOptions(env: NodeJS.ProcessEnv = process.env): ControlPlaneOptions {
  const root = repoRoot();
  const versions = new Map<string, string>();
  for (const line of readFileSync(join(root, 'tools', 'versions.env'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) versions.set(match[1], match[2]);
  }
  const set = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const cache = set('LETHE_CACHE') ?? join(homedir(), '.cache', 'lethe');
  const bin = set('LETHE_CONTROL_PLANE_BIN') ?? join(cache, 'kubernetes', versions.get('K8S_VERSION') ?? '');
  return {
    crdDir: join(root, 'crds'),
    binaries: {
      kubeApiServer: join(bin, 'kube-apiserver'),
      kubeControllerManager: join(bin, 'kube-controller-manager'),
      kubectl: join(bin, 'kubectl'),
      etcd: set('LETHE_ETCD_BIN') ?? join(cache, 'etcd', versions.get('ETCD_VERSION') ?? '', 'etcd'),
    },
  };
}

interface Cluster {
  readonly plane: ControlPlane;
  readonly kc: KubeConfig;
  readonly lethe: RunningLethe;
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
}

async function startCluster(log: (m: string) => void): Promise<Cluster> {
  const plane = await startControlPlane(controlPlaneOptions());
  log(`control plane ready in ${(plane.timings.totalMs / 1000).toFixed(1)} s`);
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    // Production settings: the flag defaults, the default debounce (100 ms), informer and lease timings.
    const loaded = loadConfig(['--web.listen-address=127.0.0.1:0', '--leader-election.lease-name=lethe-bench'], {});
    if (loaded.kind !== 'config') throw new Error('unexpected help/version');
    const lethe = await startLethe(loaded.config, {
      logger: discardingLogger(),
      version: 'bench',
      cluster: { source: { kubeconfig: plane.kubeconfigPath, inCluster: false } },
      replica: { name: 'lethe-bench', namespace: 'default' },
    });
    const deadline = Date.now() + 60_000;
    while (lethe.loop.gates().length > 0) {
      if (Date.now() > deadline) throw new Error(`Lethe not ready: ${lethe.loop.gates().join(', ')}`);
      await pause(50);
    }
    return { plane, kc, lethe, core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
  } catch (err) {
    await plane.stop();
    throw err;
  }
}

async function createNamespace(c: Cluster, name: string): Promise<void> {
  await c.core.createNamespace({ body: { metadata: { name } } });
}

/** Waits until the stored group `job`/`instance` is owned by the Job with this UID. */
async function ownedBy(lethe: RunningLethe, job: string, instance: string, uid: string, timeoutMs = 30_000): Promise<void> {
  const key = groupingKeyOf({ job, instance });
  const deadline = Date.now() + timeoutMs;
  while (lethe.store.get(key)?.owner?.uid !== uid) {
    if (Date.now() > deadline) throw new Error(`group ${job}/${instance} not owned by Job ${uid} after ${timeoutMs} ms`);
    await pause(20);
  }
}

/** (a) Bare Jobs with a pod each, pushed from the pod's IP, scraped, deleted one at a time. */
async function forgetJobs(c: Cluster, deletions: number, log: (m: string) => void): Promise<number[]> {
  const ns = 'bench-forget';
  await createNamespace(c, ns);
  const names = Array.from({ length: deletions }, (_, i) => `forget-${i}`);
  const uids: string[] = [];
  const started = performance.now();
  await pool(names, 8, async (name, i) => {
    const job = await retrying(() => c.batch.createNamespacedJob({ namespace: ns, body: jobBody(name) }));
    const uid = job.metadata?.uid ?? '';
    uids[i] = uid;
    const pod = `${name}-pod`;
    await retrying(() =>
      c.core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: {
            name: pod,
            labels: { ...(job.spec?.selector?.matchLabels ?? {}) },
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true }],
          },
          spec: { containers: [{ name: 'main', image: 'busybox' }] },
        },
      }),
    );
    const ip = podIp(i);
    await retrying(() =>
      c.core.patchNamespacedPodStatus(
        { name: pod, namespace: ns, body: { status: { podIP: ip, podIPs: [{ ip }] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  });
  log(`${deletions} Jobs with a pod each in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // Push once from each pod's IP (the pod watch may lag the status patch: retry until owned).
  await pool(names, 8, async (name, i) => {
    const uid = uids[i] ?? '';
    for (let attempt = 0; ; attempt++) {
      const status = await push(c.lethe.port, name, ns, `# TYPE forget_bench gauge\nforget_bench ${i}\n`, podIp(i));
      if (status !== 200) throw new Error(`push of ${name} answered ${status}`);
      try {
        await ownedBy(c.lethe, name, ns, uid, 2_000);
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
      }
    }
  });
  const scrape = scraper(c.lethe.port);
  try {
    const text = await scrape.text();
    const missing = names.filter((n) => !text.includes(`job="${n}"`));
    if (missing.length > 0) throw new Error(`not in /metrics: ${missing.slice(0, 5).join(', ')}`);
    log(`pushed and scraped; deleting ${deletions} Jobs one at a time`);
    const samples: number[] = [];
    for (const name of names) {
      await c.batch.deleteNamespacedJob({ name, namespace: ns, propagationPolicy: 'Background' });
      const deletedAt = performance.now();
      const goneAt = await scrape.until((t) => !t.includes(`job="${name}"`), 10, 30_000);
      samples.push(goneAt - deletedAt);
    }
    return samples;
  } finally {
    scrape.close();
  }
}

interface ClusterPassResult {
  readonly createSeconds: number;
  readonly passes: readonly number[];
  readonly loaded: readonly number[];
  /** Mean duration of the passes the loop ran by itself during the loaded deletions (ms). */
  readonly loadedPassMeanMs: number;
}

async function passHistogram(lethe: RunningLethe): Promise<{ sum: number; count: number }> {
  const metric = await lethe.registry.getSingleMetric('lethe_lifecycle_pass_duration_seconds')?.get();
  const values = (metric?.values ?? []) as readonly { readonly metricName?: string; readonly value: number }[];
  const sum = values.find((v) => v.metricName === 'lethe_lifecycle_pass_duration_seconds_sum')?.value ?? 0;
  const n = values.find((v) => v.metricName === 'lethe_lifecycle_pass_duration_seconds_count')?.value ?? 0;
  return { sum, count: n };
}

/**
 * (b) on the control plane: `objects` Job objects (no pods: creating those too would double the
 * time) and as many groups, pushed over HTTP and given those Jobs as owners directly in the store
 * (what a first pass does after pod-IP attribution). Times passes of the running Lethe, then
 * forgetting with all of it present.
 */
async function clusterPass(c: Cluster, objects: number, runs: number, loadedDeletions: number, log: (m: string) => void): Promise<ClusterPassResult> {
  const ns = 'bench-pass';
  await createNamespace(c, ns);
  const names = Array.from({ length: objects }, (_, i) => `pass-${i}`);
  const uids: string[] = [];
  const started = performance.now();
  await pool(names, 32, async (name, i) => {
    const job = await retrying(() => c.batch.createNamespacedJob({ namespace: ns, body: jobBody(name) }));
    uids[i] = job.metadata?.uid ?? '';
  });
  const createSeconds = (performance.now() - started) / 1000;
  log(`${count(objects)} Jobs created in ${createSeconds.toFixed(1)} s`);
  const view = c.lethe.kube?.view;
  if (view === undefined) throw new Error('Lethe is not in Kubernetes mode');
  while (view.jobs.size < objects) await pause(50);

  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  await pool(names, 16, async (name, i) => {
    const status = await push(c.lethe.port, name, ns, `# TYPE pass_bench gauge\npass_bench ${i}\n`, undefined, agent);
    if (status !== 200) throw new Error(`push of ${name} answered ${status}`);
  });
  agent.destroy();
  for (const [i, name] of names.entries()) {
    const key = groupingKeyOf({ job: name, instance: ns });
    const group = c.lethe.store.get(key);
    if (group === undefined) throw new Error(`group ${name} missing`);
    await c.lethe.store.setOwner(key, { ...JOB, namespace: ns, name, uid: uids[i] ?? '', resolvedFor: group.lastPushAt });
  }
  const scrape = scraper(c.lethe.port);
  try {
    await scrape.text();
    log(`${count(objects)} groups pushed, owned and scraped; timing passes`);
    // The loop's own timer is stopped while runOnce() is called directly, so passes never overlap.
    await c.lethe.loop.stop();
    const passes = await timeRunsAsync(runs, async () => {
      const result = await c.lethe.loop.runOnce();
      if (result.blockedBy.length > 0) throw new Error(`pass blocked by ${result.blockedBy.join(', ')}`);
    });
    c.lethe.loop.start();

    const before = await passHistogram(c.lethe);
    const loaded: number[] = [];
    for (const name of names.slice(0, loadedDeletions)) {
      await c.batch.deleteNamespacedJob({ name, namespace: ns, propagationPolicy: 'Background' });
      const deletedAt = performance.now();
      const goneAt = await scrape.until((t) => !t.includes(`job="${name}"`), 10, 30_000);
      loaded.push(goneAt - deletedAt);
    }
    const after = await passHistogram(c.lethe);
    const loadedPassMeanMs = after.count > before.count ? ((after.sum - before.sum) / (after.count - before.count)) * 1000 : Number.NaN;
    return { createSeconds, passes, loaded, loadedPassMeanMs };
  } finally {
    scrape.close();
  }
}

// ---- Rows -------------------------------------------------------------------------------------------

const fixed = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

export async function forgettingRows(options: ForgettingOptions = {}): Promise<ForgettingRow[]> {
  const deletions = options.deletions ?? 120;
  const objects = options.passObjects ?? 10_000;
  const runs = options.passRuns ?? 7;
  const log = options.log ?? ((m: string) => process.stderr.write(`forgetting: ${m}\n`));
  const rows: ForgettingRow[] = [];

  // Pure and in-memory passes first, on a quiet machine.
  const pure = decidePass(objects, runs);
  log(`decide(): ${pure.map(fixed).join(', ')} ms`);
  rows.push({
    id: 'forget.pass',
    metric: `one lifecycle pass, ${count(objects)} Jobs and ${count(objects)} groups: decide(), median`,
    lethe: median(pure),
    unit: 'ms',
    note: `pure decide() on synthetic inputs in memory, median of ${runs}; 100 namespaces, a third of the Jobs CronJob runs, every 50th group a MetricsGroup's, 5% of the Jobs deleted`,
    samples: pure,
  });
  const whole = await loopPass(objects, runs);
  log(`whole pass in memory: ${whole.map(fixed).join(', ')} ms`);
  rows.push({
    id: 'forget.pass.loop',
    metric: `one lifecycle pass, ${count(objects)} Jobs and ${count(objects)} groups: whole loop pass, median`,
    lethe: median(whole),
    unit: 'ms',
    note: `LifecycleLoop.runOnce() over the embedded store, snapshot rebuilt every pass, nothing to delete; median of ${runs}`,
    samples: whole,
  });

  const cluster = await startCluster(log);
  try {
    const samples = await forgetJobs(cluster, deletions, log);
    log(`forgetting over ${samples.length} deletions: p50 ${fixed(percentile(samples, 50))} ms, p99 ${fixed(percentile(samples, 99))} ms, max ${fixed(Math.max(...samples))} ms`);
    const what = `over ${samples.length} bare-Job deletions one at a time; /metrics polled every 10 ms`;
    rows.push({ id: 'forget.p50', metric: 'forgetting: Job deleted → series gone from /metrics, p50', lethe: percentile(samples, 50), unit: 'ms', note: what, samples });
    rows.push({ id: 'forget.p99', metric: 'forgetting: Job deleted → series gone from /metrics, p99', lethe: percentile(samples, 99), unit: 'ms', note: `${what}; target < 1 s` });
    rows.push({ id: 'forget.max', metric: 'forgetting: Job deleted → series gone from /metrics, slowest', lethe: Math.max(...samples), unit: 'ms', note: what });

    if (options.clusterPass ?? true) {
      const loadedN = options.loadedDeletions ?? 30;
      const r = await clusterPass(cluster, objects, runs, loadedN, log);
      log(`pass on the control plane: ${r.passes.map(fixed).join(', ')} ms; loaded forgetting p50 ${fixed(percentile(r.loaded, 50))} ms, max ${fixed(Math.max(...r.loaded))} ms`);
      rows.push({
        id: 'forget.pass.cluster',
        metric: `one lifecycle pass, ${count(objects)} Jobs and ${count(objects)} groups: running Lethe on the control plane, median`,
        lethe: median(r.passes),
        unit: 'ms',
        note: `LifecycleLoop.runOnce() with ${count(objects)} Job objects in the informer cache (created in ${r.createSeconds.toFixed(0)} s), snapshot cached; median of ${runs}`,
        samples: r.passes,
      });
      const loadedWhat = `${r.loaded.length} deletions with ${count(objects)} Jobs and groups present; the loop's own passes took ${fixed(r.loadedPassMeanMs)} ms on average`;
      rows.push({ id: 'forget.loaded.p50', metric: `forgetting with ${count(objects)} Jobs and groups present, p50`, lethe: percentile(r.loaded, 50), unit: 'ms', note: loadedWhat, samples: r.loaded });
      rows.push({ id: 'forget.loaded.max', metric: `forgetting with ${count(objects)} Jobs and groups present, slowest`, lethe: Math.max(...r.loaded), unit: 'ms', note: loadedWhat });
    } else {
      rows.push({ id: 'forget.pass.cluster', metric: `one lifecycle pass, ${count(objects)} Jobs and ${count(objects)} groups: running Lethe on the control plane`, lethe: 'not measured', unit: 'ms', note: 'skipped' });
    }
  } finally {
    await cluster.lethe.stop();
    await cluster.plane.stop();
  }
  return rows;
}
