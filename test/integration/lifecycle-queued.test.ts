/**
 * Kueue and suspended runs on a real control plane (docs/owners.md "Kueue"): a CronJob's run that
 * waits suspended — as Kueue holds a Job until its Workload is admitted — is "queued", not
 * overdue, however late; once resumed (the real job controller then sets its startTime), overdue
 * applies again. Lethe's clock runs ahead of the cluster's by a few hours, so that the runs of an
 * hourly schedule are due without the test waiting for them.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { BatchV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../src/model/index.js';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import { TIMEOUT, body, createJob, freshIp, jobBody, podOfJob, push, scrape, startTestLethe, untilReady, waitForGroup, type TestLethe } from './lifecycle-support.js';

/** The value of `lethe_group_overdue` for the CronJob `tick` in `namespace`. */
const overdueOf = (text: string, namespace: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith('lethe_group_overdue{') && l.includes(`namespace="${namespace}"`) && l.includes('owner_name="tick"'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('lifecycle: Kueue and suspended runs', () => {
  let kc: KubeConfig;
  let batch: BatchV1Api;
  let lethe: TestLethe;
  let namespace: string;
  /** Lethe's clock: the cluster's time plus `ahead`. */
  const clock = { ahead: 0, now: (): number => Date.now() + clock.ahead } satisfies Clock & { ahead: number };

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    batch = kc.makeApiClient(BatchV1Api);
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG'], [], { clock });
    await untilReady(lethe);
    namespace = await createTestNamespace(kc, 'lethe-queued');
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
    await deleteTestNamespace(kc, namespace);
  }, TIMEOUT);

  test('a suspended Job (waiting for admission) is queued, not overdue; admitted, its schedule is overdue again', async () => {
    // Hourly, due 5 minutes after each run; Forbid: the CronJob controller starts no run of its own
    // while one of ours is active.
    const cronJob = await batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'tick', annotations: { 'lethe.dev/overdue-after': '5m' } },
        spec: {
          schedule: '0 * * * *',
          concurrencyPolicy: 'Forbid',
          jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } } },
        },
      },
    });
    const owner = { name: 'tick', uid: cronJob.metadata!.uid! };
    // A run that pushed (now, by Lethe's clock).
    const first = await createJob(kc, namespace, jobBody('tick-1', { ownerCronJob: owner }));
    const ip = freshIp();
    await podOfJob(kc, namespace, first, ip, lethe);
    expect(await push(lethe.port, `tick/ns/${namespace}`, body(), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, namespace, (g) => g.owner?.schedule?.uid === owner.uid);
    await eventually(async () => overdueOf(await scrape(lethe.port), namespace) === 0);

    // The next run waits suspended, run by the real job controller (as Kueue's Jobs are).
    const queued = jobBody('tick-2', { ownerCronJob: owner });
    const { managedBy: _byTheHarness, ...spec } = queued.spec!;
    const second = await createJob(kc, namespace, { ...queued, spec: { ...spec, suspend: true } });
    await eventually(() => lethe.kube!.view.jobs.get(second.metadata!.uid!)?.suspended === true);

    // Three hours later by Lethe's clock: runs were due, none pushed — but one is queued.
    clock.ahead = 3 * 3_600_000;
    lethe.loop.kick();
    const queuedInsight = async () => {
      const res = await fetch(`http://127.0.0.1:${lethe.port}/api/v1/groups`);
      const doc = (await res.json()) as { data: { groups: { labels: Record<string, string>; insight: { queued: { since: string } | null; overdue: unknown } | null }[] } };
      return doc.data.groups.find((g) => g.labels['ns'] === namespace)?.insight;
    };
    await eventually(async () => (await queuedInsight())?.queued !== null);
    expect(await queuedInsight()).toMatchObject({ queued: { since: second.metadata!.creationTimestamp!.toISOString().replace('.000Z', 'Z') }, overdue: null });
    await consistently(async () => overdueOf(await scrape(lethe.port), namespace) === 0, { duration: 2_000 });

    // Admitted: the job controller resumes it and sets its startTime. The run due hours ago has
    // not pushed, and the admission came before that run's time: overdue.
    await batch.patchNamespacedJob(
      { name: 'tick-2', namespace, body: { spec: { suspend: false } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(() => lethe.kube!.view.jobs.get(second.metadata!.uid!)?.startedAt !== undefined, { timeout: 30_000 });
    await eventually(async () => overdueOf(await scrape(lethe.port), namespace) === 1, { timeout: 15_000 });
    expect(await queuedInsight()).toMatchObject({ queued: null, overdue: { since: expect.any(String) } });
  }, TIMEOUT);
});
