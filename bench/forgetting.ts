/**
 * The forgetting phase of the benchmark, Lethe only: forgetting. On a real control plane (etcd, kube-apiserver,
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
 * `forgettingRows()` returns the rows; bench/forgetting-main.ts runs it on its own. The parts:
 * bench/forgetting-world.ts (in memory), bench/cluster.ts and bench/forgetting-cluster.ts.
 */
import { startCluster } from './cluster.js';
import { clusterPass, forgetJobs } from './forgetting-cluster.js';
import { decidePass, loopPass } from './forgetting-world.js';

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

const count = (n: number): string => n.toLocaleString('en-US');

export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const median = (samples: readonly number[]): number => percentile(samples, 50);

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
    rows.push({ id: 'forget.p99', metric: 'forgetting: Job deleted → series gone from /metrics, p99', lethe: percentile(samples, 99), unit: 'ms', note: what });
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
