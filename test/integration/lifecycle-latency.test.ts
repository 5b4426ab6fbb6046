/**
 * Measures the time from an owner's deletion (the API call returning) to its group's series being
 * absent from /metrics, over 20 deletions of bare Jobs whose last push had been scraped.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import { body, createJob, deleteJob, freshIp, hasSeries, jobBody, podOfJob, push, scrape, startTestLethe, untilReady, waitForGroup, type TestLethe } from './lifecycle-support.js';

const RUNS = 20;

describe('lifecycle: deletion latency', () => {
  let kc: KubeConfig;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    // Production timings (the default 100 ms debounce), not the shortened test ones.
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG'], [], { debounceMs: 100 });
    await untilReady(lethe);
    namespace = await createTestNamespace(kc);
  }, 120_000);

  afterAll(async () => {
    await lethe.stop();
    await deleteTestNamespace(kc, namespace);
  }, 120_000);

  test(`owner deleted → series absent from /metrics, ${RUNS} times`, async () => {
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const name = `lat-${i}`;
      const job = await createJob(kc, namespace, jobBody(name));
      const ip = freshIp();
      await podOfJob(kc, namespace, job, ip, lethe);
      expect(await push(lethe.port, `${name}/ns/${namespace}`, body(i), { localAddress: ip })).toBe(200);
      await waitForGroup(lethe, name, (g) => g.owner?.uid === job.metadata!.uid);
      expect(hasSeries(await scrape(lethe.port), 'work_done', { job: name })).toBe(true);

      await deleteJob(kc, namespace, name);
      const deletedAt = performance.now();
      await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { job: name }), { timeout: 15_000, interval: 5 });
      samples.push(performance.now() - deletedAt);
    }
    samples.sort((a, b) => a - b);
    const median = (samples[RUNS / 2 - 1]! + samples[RUNS / 2]!) / 2;
    const worst = samples[RUNS - 1]!;
    process.stderr.write(
      `\ndeletion latency over ${RUNS} bare-Job deletions: median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms ` +
        `(all: ${samples.map((s) => s.toFixed(0)).join(', ')})\n`,
    );
    expect(worst).toBeLessThan(10_000);
  }, 120_000);
});
