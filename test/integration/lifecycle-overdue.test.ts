/**
 * Overdue instead of the lost `up`: a group pushed on a schedule (a CronJob's, or a MetricsGroup's
 * own) becomes overdue when a scheduled push does not arrive by its deadline, shown by a gauge per
 * group and the MetricsGroup's Overdue condition; the next push clears it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { BatchV1Api, type KubeConfig } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import {
  barePod,
  body,
  createJob,
  createMetricsGroup,
  freshIp,
  jobBody,
  podOfJob,
  push,
  readMetricsGroup,
  scrape,
  startTestLethe,
  untilReady,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

const overdueValue = (text: string, marker: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith('lethe_group_overdue{') && l.includes(marker));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('lifecycle: overdue', () => {
  let kc: KubeConfig;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG']);
    await untilReady(lethe);
    namespace = await createTestNamespace(kc);
  }, 120_000);

  afterAll(async () => {
    await lethe.stop();
    await deleteTestNamespace(kc, namespace);
  }, 120_000);

  test('a missed scheduled push sets overdue (gauge and MetricsGroup condition); the next push clears it', async () => {
    // A MetricsGroup with a schedule of its own: every minute, due 2s after each run.
    await createMetricsGroup(kc, namespace, 'minutely', {
      selector: { matchLabels: { job: 'minutely' } },
      overdue: { schedule: '* * * * *', after: '2s' },
    });
    // A CronJob run, due 2s after each run of its CronJob (annotation).
    const cj = await kc.makeApiClient(BatchV1Api).createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'tick', annotations: { 'lethe.dev/overdue-after': '2s' } },
        spec: {
          schedule: '* * * * *',
          concurrencyPolicy: 'Forbid',
          jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } } },
        },
      },
    });
    const job = await createJob(kc, namespace, jobBody('tick-manual', { ownerCronJob: { name: 'tick', uid: cj.metadata!.uid! } }));
    const jobIp = freshIp();
    await podOfJob(kc, namespace, job, jobIp, lethe);
    const mgIp = freshIp();
    await barePod(kc, namespace, 'pusher', mgIp, lethe);
    await eventually(() => [...lethe.kube!.view.snapshot().metricsGroups.values()].some((m) => m.namespace === namespace));

    expect(await push(lethe.port, `minutely/ns/${namespace}`, body(), { localAddress: mgIp })).toBe(200);
    expect(await push(lethe.port, `tick/ns/${namespace}`, body(), { localAddress: jobIp })).toBe(200);
    await waitForGroup(lethe, 'minutely', (g) => g.owner?.kind === 'MetricsGroup');
    await waitForGroup(lethe, 'tick', (g) => g.owner?.schedule?.name === 'tick');
    await eventually(async () => overdueValue(await scrape(lethe.port), 'owner_name="tick"') === 0);

    // No push for the next run: overdue 2s after it (at most a minute and 2s from now).
    await eventually(
      async () => {
        const text = await scrape(lethe.port);
        return overdueValue(text, 'owner_name="minutely"') === 1 && overdueValue(text, 'owner_name="tick"') === 1;
      },
      { timeout: 75_000, interval: 500 },
    );
    const overdue = await eventually(async () => {
      const mg = await readMetricsGroup(kc, namespace, 'minutely');
      const c = mg.status?.conditions?.find((x) => x.type === 'Overdue');
      if (c?.status !== 'True') throw new Error('Overdue condition not True yet');
      return c;
    });
    expect(overdue.reason).toBe('PushMissing');
    expect((await scrape(lethe.port)).split('\n').some((l) => l.startsWith('lethe_group_last_push_timestamp_seconds{') && l.includes('owner_name="tick"'))).toBe(true);

    // The push comes: cleared.
    expect(await push(lethe.port, `minutely/ns/${namespace}`, body(2), { localAddress: mgIp })).toBe(200);
    expect(await push(lethe.port, `tick/ns/${namespace}`, body(2), { localAddress: jobIp })).toBe(200);
    await eventually(async () => {
      const text = await scrape(lethe.port);
      if (overdueValue(text, 'owner_name="minutely"') === 0 && overdueValue(text, 'owner_name="tick"') === 0) return true;
      const g = [...lethe.store.groups()].filter((x) => x.key.labels.some((l) => l.value === 'tick')).map((x) => [x.owner, x.attribution]);
      throw new Error(`${text.split('\n').filter((l) => l.startsWith('lethe_group_')).join('\n')}\n${JSON.stringify(g)}`);
    });
    await eventually(async () => {
      const mg = await readMetricsGroup(kc, namespace, 'minutely');
      return mg.status?.conditions?.find((x) => x.type === 'Overdue')?.status === 'False';
    });
  }, 120_000);
});
