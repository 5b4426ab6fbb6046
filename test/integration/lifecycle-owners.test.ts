/**
 * CronJobs, namespaces and MetricsGroups as owners, and the ttl and keepLast policies, on a real
 * control plane (with the garbage collector and the namespace controller running).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1CronJob } from '@kubernetes/client-node';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import {
  TIMEOUT,
  body,
  createJob,
  createMetricsGroup,
  deleteJob,
  deleteMetricsGroup,
  deletionsLogged,
  freshIp,
  hasSeries,
  jobBody,
  podOfJob,
  push,
  readMetricsGroup,
  scrape,
  startTestLethe,
  untilReady,
  waitForEvents,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

const cronJobBody = (name: string, annotations: Record<string, string> = {}): V1CronJob => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, annotations },
  spec: {
    schedule: '0 0 1 1 *',
    suspend: true,
    jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } } },
  },
});

describe('lifecycle: owners and policies', () => {
  let kc: KubeConfig;
  let batch: BatchV1Api;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    batch = kc.makeApiClient(BatchV1Api);
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG']);
    await untilReady(lethe);
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
  }, TIMEOUT);

  beforeEach(async () => {
    namespace = await createTestNamespace(kc);
  }, TIMEOUT);

  afterEach(async () => {
    await deleteTestNamespace(kc, namespace);
  });

  /** A run of the CronJob (a Job it controls, as `kubectl create job --from=cronjob/...` makes), pushing `run`. */
  async function runPushes(cronJob: V1CronJob, jobName: string, grouping: string): Promise<string> {
    const job = await createJob(kc, namespace, jobBody(jobName, { ownerCronJob: { name: cronJob.metadata!.name!, uid: cronJob.metadata!.uid! } }));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip, lethe);
    expect(await push(lethe.port, grouping, body(), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, jobName, (g) => g.owner?.uid === job.metadata!.uid && g.owner?.schedule?.uid === cronJob.metadata!.uid);
    await scrape(lethe.port);
    return job.metadata!.uid!;
  }

  test('CronJob history clean-up: a deleted run\'s group stays until a newer run has pushed, then goes', async () => {
    const cj = await batch.createNamespacedCronJob({ namespace, body: cronJobBody('report') });
    await runPushes(cj, 'report-1', `report/ns/${namespace}/run/report-1`);

    // History clean-up of the only run: its values stay (no newer run yet).
    await deleteJob(kc, namespace, 'report-1');
    await consistently(async () => hasSeries(await scrape(lethe.port), 'work_done', { run: 'report-1' }), { duration: 2_000 });

    // A newer run pushes: now the old run's group goes, the new one stays.
    await runPushes(cj, 'report-2', `report/ns/${namespace}/run/report-2`);
    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { run: 'report-1' }), { timeout: 15_000 });
    expect(hasSeries(await scrape(lethe.port), 'work_done', { run: 'report-2' })).toBe(true);
    const events = await waitForEvents(kc, namespace);
    expect(events).toEqual([['cronjob-run-superseded', 'CronJob/report', expect.stringContaining('after a newer run pushed')]]);

    // The newest run's Job is cleaned up too: its values stay.
    await deleteJob(kc, namespace, 'report-2');
    await consistently(async () => hasSeries(await scrape(lethe.port), 'work_done', { run: 'report-2' }), { duration: 2_000 });
  }, TIMEOUT);

  test('CronJob deleted: the groups of all its runs go (the garbage collector takes its Jobs)', async () => {
    const cj = await batch.createNamespacedCronJob({ namespace, body: cronJobBody('cleanup') });
    await runPushes(cj, 'cleanup-1', `cleanup/ns/${namespace}/run/cleanup-1`);
    await runPushes(cj, 'cleanup-2', `cleanup/ns/${namespace}/run/cleanup-2`);

    await batch.deleteNamespacedCronJob({ name: 'cleanup', namespace, propagationPolicy: 'Background' });

    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { ns: namespace }), { timeout: 20_000 });
    expect(deletionsLogged(lethe, 'cronjob-deleted', namespace)).toBe(2);
  }, TIMEOUT);

  test('namespace deleted by the namespace controller: every group of it goes', async () => {
    const job = await createJob(kc, namespace, jobBody('in-ns'));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip, lethe);
    expect(await push(lethe.port, `in-ns/ns/${namespace}`, body(), { localAddress: ip })).toBe(200);
    const group = await waitForGroup(lethe, namespace, (g) => g.owner !== undefined);
    // The push is attributed to this namespace object (a namespace recreated under the name is another).
    const core = kc.makeApiClient(CoreV1Api);
    expect(group.attribution.namespaceUid).toBe((await core.readNamespace({ name: namespace })).metadata?.uid);
    await scrape(lethe.port);

    await core.deleteNamespace({ name: namespace });

    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { ns: namespace }), { timeout: 60_000 });
    expect(deletionsLogged(lethe, 'namespace-deleted', namespace)).toBe(1);
  }, TIMEOUT);

  test('MetricsGroup deleted with deletionPolicy Delete: its groups go; its status counted them', async () => {
    await createMetricsGroup(kc, namespace, 'contract', { selector: { matchLabels: { job: 'contracted' } } });
    const job = await createJob(kc, namespace, jobBody('c-1'));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip, lethe);
    expect(await push(lethe.port, `contracted/ns/${namespace}`, body(), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'MetricsGroup');
    await scrape(lethe.port);
    const status = await eventually(async () => {
      const mg = await readMetricsGroup(kc, namespace, 'contract');
      if (mg.status?.['groups'] !== 1) throw new Error('status not written yet');
      return mg.status;
    });
    expect(status).toMatchObject({ groups: 1, series: 1, observedGeneration: 1 });
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });

    await deleteMetricsGroup(kc, namespace, 'contract');

    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { ns: namespace }), { timeout: 15_000 });
    const events = await waitForEvents(kc, namespace);
    expect(events[0]?.[0]).toBe('metricsgroup-deleted');
  }, TIMEOUT);

  test('MetricsGroup deleted with deletionPolicy Orphan: its groups stay, owned by the namespace', async () => {
    await createMetricsGroup(kc, namespace, 'keeper', { selector: { matchLabels: { job: 'kept' } }, deletionPolicy: 'Orphan' });
    expect(await push(lethe.port, `kept/ns/${namespace}`, body(), { localAddress: await bareIp(namespace) })).toBe(200);
    await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'MetricsGroup');
    await scrape(lethe.port);

    await deleteMetricsGroup(kc, namespace, 'keeper');

    await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'Namespace');
    await consistently(async () => hasSeries(await scrape(lethe.port), 'work_done', { ns: namespace }), { duration: 2_000 });
    expect(lethe.logs.some((l) => l['message'] === 'Orphaned metric group')).toBe(true);
  }, TIMEOUT);

  test('ttl from a Job annotation: a group not pushed for that long goes', async () => {
    const job = await createJob(kc, namespace, jobBody('short-lived', { annotations: { 'lethe.dev/ttl': '2s' } }));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip, lethe);
    expect(await push(lethe.port, `short/ns/${namespace}`, body(), { localAddress: ip })).toBe(200);
    await scrape(lethe.port);
    const pushedAt = Date.now();

    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { ns: namespace }), { timeout: 15_000, interval: 100 });
    expect(Date.now() - pushedAt).toBeGreaterThanOrEqual(1_900);
    expect(deletionsLogged(lethe, 'ttl-expired', namespace)).toBe(1);
  }, TIMEOUT);

  test('keepLast from a MetricsGroup: only the groups of the newest runs stay', async () => {
    await createMetricsGroup(kc, namespace, 'scans', { selector: { matchLabels: { job: 'scan' } }, keepLast: 2 });
    await eventually(() => lethe.kube!.view.snapshot().metricsGroups.size > 0 && [...lethe.kube!.view.snapshot().metricsGroups.values()].some((m) => m.namespace === namespace));
    // Each run is a pod of its own (a bare pod is its own run: keepLast counts runs).
    for (const run of ['1', '2', '3']) {
      const ip = await bareIp(namespace);
      expect(await push(lethe.port, `scan/ns/${namespace}/run/${run}`, body(), { localAddress: ip })).toBe(200);
      await scrape(lethe.port);
    }
    await eventually(async () => {
      const text = await scrape(lethe.port);
      return !hasSeries(text, 'work_done', { ns: namespace, run: '1' }) && hasSeries(text, 'work_done', { ns: namespace, run: '3' });
    }, { timeout: 15_000 });
    expect(hasSeries(await scrape(lethe.port), 'work_done', { ns: namespace, run: '2' })).toBe(true);
  }, TIMEOUT);

  /** A bare pod in the namespace with a fresh IP, for pushes that only need the namespace. */
  async function bareIp(ns: string): Promise<string> {
    const { barePod } = await import('./lifecycle-support.js');
    const ip = freshIp();
    await barePod(kc, ns, `pusher-${ip.replaceAll('.', '-')}`, ip, lethe);
    return ip;
  }
});
