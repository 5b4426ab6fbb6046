/**
 * Bare Jobs on a real control plane: a push from a Job's pod is attributed (by source IP, or by a
 * bound ServiceAccount token) and owned by the Job; when the Job is deleted the group goes, with a
 * log line, an Event and a counter; a Job recreated under the same name is a different owner.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import {
  TIMEOUT,
  apiMetrics,
  barePod,
  body,
  createJob,
  deleteJob,
  deletedCount,
  freshIp,
  hasSeries,
  jobBody,
  podOfJob,
  podToken,
  push,
  scrape,
  startTestLethe,
  untilReady,
  waitForEvents,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

describe('lifecycle: bare Jobs', () => {
  let kc: KubeConfig;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
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

  test('a push from a Job pod (by source IP) is owned by the Job and goes when the Job is deleted', async () => {
    const job = await createJob(kc, namespace, jobBody('backup-1'));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip, lethe);

    expect(await push(lethe.port, `backup/instance/${namespace}`, body(42), { localAddress: ip })).toBe(200);
    const group = await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'Job');
    expect(group.attribution).toMatchObject({ source: 'pod-ip', namespace, run: { group: 'batch', kind: 'Job', name: 'backup-1', uid: job.metadata!.uid } });
    expect(group.owner).toMatchObject({ kind: 'Job', name: 'backup-1', uid: job.metadata!.uid, namespace });
    expect(hasSeries(await scrape(lethe.port), 'work_done', { job: 'backup', instance: namespace })).toBe(true);
    // The attribution, the owner and what the lifecycle plans are shown by /api/v1/groups.
    const shown = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${lethe.port}/api/v1/groups`);
      const doc = (await res.json()) as {
        data: { groups: { labels: Record<string, string>; attribution: unknown; owner: unknown; insight: { ownerAlive?: boolean } | null }[] };
      };
      const g = doc.data.groups.find((x) => x.labels['instance'] === namespace);
      if (g?.insight?.ownerAlive !== true) throw new Error('no insight yet');
      return g;
    });
    expect(shown.attribution).toMatchObject({ source: 'pod-ip', namespace, job: 'backup-1' });
    expect(shown.owner).toMatchObject({ kind: 'Job', name: 'backup-1' });

    const before = await deletedCount(lethe, 'job-deleted');
    await deleteJob(kc, namespace, 'backup-1');

    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { instance: namespace }), { timeout: 15_000 });
    expect(await deletedCount(lethe, 'job-deleted')).toBe(before + 1);
    expect(lethe.logs.some((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'job-deleted' && String(l['groupingKey']).includes(namespace))).toBe(true);
    const events = await waitForEvents(kc, namespace);
    expect(events).toEqual([['job-deleted', 'Job/backup-1', expect.stringContaining(`Deleted 1 metric group after Job ${namespace}/backup-1 was deleted`)]]);
  }, TIMEOUT);

  test('a push with a bound ServiceAccount token is attributed to its pod and Job, whatever the source address', async () => {
    const job = await createJob(kc, namespace, jobBody('tokened'));
    const pod = await podOfJob(kc, namespace, job, freshIp());
    const token = await podToken(kc, namespace, pod);

    expect(await push(lethe.port, `tokened/instance/${namespace}`, body(), { token })).toBe(200);
    const group = await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'Job');
    expect(group.attribution).toMatchObject({
      source: 'token',
      namespace,
      pod: pod.metadata!.name,
      podUid: pod.metadata!.uid,
      user: `system:serviceaccount:${namespace}:default`,
      run: { group: 'batch', kind: 'Job', name: 'tokened', uid: job.metadata!.uid },
    });
    expect(await push(lethe.port, `tokened/instance/${namespace}`, body(), { token: 'not-a-token' })).toBe(401);

    await deleteJob(kc, namespace, 'tokened');
    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { instance: namespace }), { timeout: 15_000 });
  }, TIMEOUT);

  test('a push from an unknown address is unowned and stays', async () => {
    expect(await push(lethe.port, `stray/instance/${namespace}`, body(), { localAddress: '127.99.0.1' })).toBe(200);
    const group = [...lethe.store.groups()].find((x) => x.key.labels.some((l) => l.value === namespace));
    expect(group?.attribution).toEqual({ source: 'none' });
    await consistently(async () => hasSeries(await scrape(lethe.port), 'work_done', { job: 'stray', instance: namespace }), { duration: 1_500 });
    await push(lethe.port, `stray/instance/${namespace}`, '', { method: 'DELETE' });
  }, TIMEOUT);

  test("a bare pod's push is owned by the pod, its own run (docs/owners.md)", async () => {
    const ip = freshIp();
    const pod = await barePod(kc, namespace, 'adhoc', ip, lethe);
    expect(await push(lethe.port, `adhoc/instance/${namespace}`, body(), { localAddress: ip })).toBe(200);
    const group = await waitForGroup(lethe, namespace, (g) => g.owner !== undefined);
    expect(group.owner).toMatchObject({ group: '', kind: 'Pod', name: 'adhoc', uid: pod.metadata!.uid });
    expect(group.attribution).toMatchObject({ run: { group: '', kind: 'Pod', name: 'adhoc', uid: pod.metadata!.uid } });
    const shown = (await apiMetrics(lethe.port)).find((g) => g.labels['instance'] === namespace);
    expect(shown).toBeDefined();
  }, TIMEOUT);

  test('a Job recreated under the same name is a new owner: the old run\'s group goes', async () => {
    const first = await createJob(kc, namespace, jobBody('nightly'));
    const ip = freshIp();
    await podOfJob(kc, namespace, first, ip, lethe);
    expect(await push(lethe.port, `nightly/instance/${namespace}`, body(1), { localAddress: ip })).toBe(200);
    await eventually(() => [...lethe.store.groups()].some((g) => g.owner?.uid === first.metadata!.uid));
    await scrape(lethe.port);

    await deleteJob(kc, namespace, 'nightly');
    const second = await createJob(kc, namespace, jobBody('nightly'));
    expect(second.metadata!.uid).not.toBe(first.metadata!.uid);

    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { instance: namespace }), { timeout: 15_000 });
  }, TIMEOUT);
});
