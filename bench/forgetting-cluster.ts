/**
 * The forgetting rows measured on the control plane (bench/cluster.ts): bare Jobs deleted one at
 * a time until their series are gone from /metrics, and lifecycle passes of the running Lethe
 * with 10,000 Job objects and groups, then forgetting again with all of it present.
 */
import { Agent } from 'node:http';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { JOB, groupingKeyOf } from '../src/model/index.js';
import type { RunningLethe } from '../src/wiring/index.js';
import { createNamespace, jobBody, pause, podIp, pool, push, retrying, scraper, type Cluster } from './cluster.js';
import { timeRunsAsync } from './forgetting-world.js';

const count = (n: number): string => n.toLocaleString('en-US');

async function ownedBy(lethe: RunningLethe, job: string, instance: string, uid: string, timeoutMs = 30_000): Promise<void> {
  const key = groupingKeyOf({ job, instance });
  const deadline = Date.now() + timeoutMs;
  while (lethe.store.get(key)?.owner?.uid !== uid) {
    if (Date.now() > deadline) throw new Error(`group ${job}/${instance} not owned by Job ${uid} after ${timeoutMs} ms`);
    await pause(20);
  }
}

/** (a) Bare Jobs with a pod each, pushed from the pod's IP, scraped, deleted one at a time. */
export async function forgetJobs(c: Cluster, deletions: number, log: (m: string) => void): Promise<number[]> {
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

export interface ClusterPassResult {
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
export async function clusterPass(c: Cluster, objects: number, runs: number, loadedDeletions: number, log: (m: string) => void): Promise<ClusterPassResult> {
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
