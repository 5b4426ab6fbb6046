/**
 * Mistakes and restarts never make Lethe more destructive (on the shared control plane):
 * - a typo in a lethe.dev annotation keeps the Job's group (held, as Orphan) and says so with a
 *   Warning Event on the Job, a metric and one log line; fixing it ends the hold;
 * - Lethe restarted (a new instance over the same persistence file) between the deletion of an
 *   Orphan-annotated Job and the pass keeps the group: the policy is stored with it;
 * - a static token's group whose namespace never existed is not "namespace-deleted".
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig, randomName } from '../harness/kube.js';
import {
  TIMEOUT,
  body,
  createJob,
  deleteJob,
  freshIp,
  hasSeries,
  jobBody,
  podOfJob,
  push,
  scrape,
  startTestLethe,
  untilReady,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

const KUBECONFIG = process.env['LETHE_TEST_KUBECONFIG'];

/** The value of a metric of Lethe's registry with these labels (undefined: no such series). */
async function metricValue(lethe: TestLethe, name: string, labels: Readonly<Record<string, string>>): Promise<number | undefined> {
  const metric = await lethe.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

/** Waits until the lifecycle has applied `n` more passes than now: what is decided has been decided. */
async function passesLater(lethe: TestLethe, n = 2): Promise<void> {
  const applied = async (): Promise<number> => (await metricValue(lethe, 'lethe_lifecycle_passes_total', { result: 'applied' })) ?? 0;
  const start = await applied();
  await eventually(async () => (await applied()) >= start + n, { timeout: 30_000, interval: 50 });
}

async function invalidPolicyEvents(kc: KubeConfig, namespace: string): Promise<{ object: string; message: string; type: string }[]> {
  const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace });
  return events.items
    .filter((e) => e.reason === 'InvalidPolicy')
    .map((e) => ({ object: `${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}`, message: e.message ?? '', type: e.type ?? '' }));
}

const logged = (lethe: TestLethe, message: string, match: (l: Record<string, unknown>) => boolean = () => true): Record<string, unknown>[] =>
  lethe.logs.filter((l) => l['message'] === message && match(l));

describe('lifecycle: never more destructive by mistake', () => {
  let kc: KubeConfig;
  let namespace: string;
  let dir: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    dir = await mkdtemp(join(tmpdir(), 'lethe-faults-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    namespace = await createTestNamespace(kc);
  }, TIMEOUT);

  afterEach(async () => {
    await deleteTestNamespace(kc, namespace);
  });

  describe('an annotation that cannot be read', () => {
    let lethe: TestLethe;

    beforeAll(async () => {
      // No grace: a wrong deletion would happen at once.
      lethe = await startTestLethe(KUBECONFIG, ['--lifecycle.max-grace=0s', '--lifecycle.resync-interval=1s']);
      await untilReady(lethe);
    }, TIMEOUT);

    afterAll(async () => {
      await lethe.stop();
    }, TIMEOUT);

    test('a typo keeps the group (orphaned when the Job goes) and raises a Warning Event, a metric and one log line', async () => {
      const job = await createJob(kc, namespace, jobBody('migrate', { annotations: { 'lethe.dev/deletion-policy': 'orphan' } }));
      const ip = freshIp();
      await podOfJob(kc, namespace, job, ip, lethe);
      expect(await push(lethe.port, `migrate/instance/${namespace}`, body(7), { localAddress: ip })).toBe(200);
      const group = await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'Job' && g.owner.policy?.invalid !== undefined);
      expect(group.owner?.policy).toEqual({
        source: 'annotations',
        overrides: {},
        invalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan',
      });

      // Said on the object, in a metric, in the log (once), and on /api/v1/groups.
      const events = await eventually(async () => {
        const found = await invalidPolicyEvents(kc, namespace);
        if (found.length === 0) throw new Error('no InvalidPolicy Event yet');
        return found;
      });
      expect(events).toEqual([
        {
          object: 'Job/migrate',
          type: 'Warning',
          message:
            'Invalid policy: lethe.dev/deletion-policy="orphan": expected Delete or Orphan. Lethe keeps the metric groups this Job governs (as with deletion policy Orphan, no ttl or keepLast) until it is fixed',
        },
      ]);
      expect(await metricValue(lethe, 'lethe_policy_invalid', { kind: 'Job', namespace, name: 'migrate' })).toBe(1);
      const groups = (await (await fetch(`http://127.0.0.1:${lethe.port}/api/v1/groups`)).json()) as {
        data: { groups: { labels: Record<string, string>; insight: { policyInvalid: string | null; policy: { deletionPolicy: string } } | null }[] };
      };
      expect(groups.data.groups.find((g) => g.labels['instance'] === namespace)?.insight).toMatchObject({
        policyInvalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan',
        policy: { deletionPolicy: 'Orphan' },
      });
      // Another change to the Job (and the passes it causes) logs nothing new: once per change of what is wrong.
      await kc.makeApiClient(BatchV1Api).patchNamespacedJob(
        { name: 'migrate', namespace, body: { metadata: { labels: { touched: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await passesLater(lethe);
      const warnings = logged(lethe, 'Found invalid policy', (l) => l['namespace'] === namespace);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 'warn', kind: 'Job', name: 'migrate', problems: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan' });

      // The Job goes: the group stays, orphaned to its namespace, and is not deleted.
      await deleteJob(kc, namespace, 'migrate');
      await eventually(() => logged(lethe, 'Orphaned metric group', (l) => String(l['groupingKey']).includes(namespace)).length === 1, { timeout: 15_000 });
      await passesLater(lethe);
      expect(hasSeries(await scrape(lethe.port), 'work_done', { job: 'migrate', instance: namespace })).toBe(true);
      expect(lethe.store.get(group.key)?.owner).toMatchObject({ kind: 'Namespace', name: namespace });
      expect(logged(lethe, 'Deleted metric group', (l) => String(l['groupingKey']).includes(namespace))).toEqual([]);
      // The Job is gone, so is its problem.
      await eventually(async () => (await metricValue(lethe, 'lethe_policy_invalid', { kind: 'Job', namespace, name: 'migrate' })) === undefined);
    }, TIMEOUT);

    test('fixing the annotation ends the hold: the metric clears, and the Job\'s deletion deletes the group', async () => {
      const job = await createJob(kc, namespace, jobBody('report', { annotations: { 'lethe.dev/ttl': '2 days' } }));
      const ip = freshIp();
      await podOfJob(kc, namespace, job, ip, lethe);
      expect(await push(lethe.port, `report/instance/${namespace}`, body(1), { localAddress: ip })).toBe(200);
      await waitForGroup(lethe, namespace, (g) => g.owner?.policy?.invalid !== undefined);
      expect(await metricValue(lethe, 'lethe_policy_invalid', { kind: 'Job', namespace, name: 'report' })).toBe(1);

      await kc.makeApiClient(BatchV1Api).patchNamespacedJob(
        { name: 'report', namespace, body: { metadata: { annotations: { 'lethe.dev/ttl': '48h' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const fixed = await waitForGroup(lethe, namespace, (g) => g.owner?.policy !== undefined && g.owner.policy.invalid === undefined);
      expect(fixed.owner?.policy).toEqual({ source: 'annotations', overrides: { ttlMs: 48 * 3_600_000 } });
      expect(await metricValue(lethe, 'lethe_policy_invalid', { kind: 'Job', namespace, name: 'report' })).toBeUndefined();
      expect(logged(lethe, 'Found valid policy again', (l) => l['namespace'] === namespace && l['name'] === 'report')).toHaveLength(1);

      await deleteJob(kc, namespace, 'report');
      await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { job: 'report', instance: namespace }), { timeout: 15_000 });
    }, TIMEOUT);
  });

  test('Lethe restarted between an Orphan-annotated Job\'s deletion and the pass keeps the group', async () => {
    const file = join(dir, `${randomName('store')}.journal`);
    const flags = [`--persistence.file=${file}`, '--lifecycle.max-grace=0s', '--lifecycle.resync-interval=1s'];
    const first = await startTestLethe(KUBECONFIG, flags);
    let second: TestLethe | undefined;
    try {
      await untilReady(first);
      const job = await createJob(kc, namespace, jobBody('keep-me', { annotations: { 'lethe.dev/deletion-policy': 'Orphan' } }));
      const ip = freshIp();
      await podOfJob(kc, namespace, job, ip, first);
      expect(await push(first.port, `keep-me/instance/${namespace}`, body(3), { localAddress: ip })).toBe(200);
      // The pass has stored the owner with its policy (in the journal, before stop() returns).
      await waitForGroup(first, namespace, (g) => g.owner?.kind === 'Job' && g.owner.policy?.overrides.deletionPolicy === 'Orphan');
      await first.stop();

      // While no Lethe runs, the Job goes (and with it every trace of its annotations).
      await deleteJob(kc, namespace, 'keep-me');
      await eventually(() => isGone(() => kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: 'keep-me', namespace })), { timeout: 15_000 });

      second = await startTestLethe(KUBECONFIG, flags);
      await untilReady(second);
      const restarted = second;
      await eventually(() => logged(restarted, 'Orphaned metric group', (l) => String(l['groupingKey']).includes(namespace)).length === 1, { timeout: 15_000 });
      await passesLater(restarted);
      expect(hasSeries(await scrape(restarted.port), 'work_done', { job: 'keep-me', instance: namespace })).toBe(true);
      expect(logged(restarted, 'Deleted metric group', (l) => String(l['groupingKey']).includes(namespace))).toEqual([]);
      expect([...restarted.store.groups()].find((g) => g.key.labels.some((l) => l.value === namespace))?.owner).toMatchObject({ kind: 'Namespace', name: namespace });
    } finally {
      await first.stop();
      await second?.stop();
    }
  }, TIMEOUT);

  test('a static token\'s group whose namespace never existed is not deleted as namespace-deleted', async () => {
    const never = randomName('never-created');
    const token = `static-${randomName('token')}-0123456789`;
    const file = join(dir, `${randomName('auth')}.json`);
    await writeFile(file, JSON.stringify({ tokens: [{ name: 'ci', token, namespace: never }] }));
    const lethe = await startTestLethe(KUBECONFIG, ['--auth.mode=static', `--auth.static-file=${file}`, '--lifecycle.max-grace=0s', '--lifecycle.resync-interval=1s']);
    try {
      await untilReady(lethe);
      expect(await push(lethe.port, `ci-report/instance/${never}`, body(5), { token })).toBe(200);
      const group = await waitForGroup(lethe, never);
      expect(group.attribution).toEqual({ source: 'token', namespace: never, user: 'static:ci' });
      await passesLater(lethe, 3);
      await consistently(() => lethe.store.get(group.key) !== undefined, { duration: 1_000 });
      expect(logged(lethe, 'Deleted metric group')).toEqual([]);
      expect(hasSeries(await scrape(lethe.port), 'work_done', { job: 'ci-report', instance: never })).toBe(true);
    } finally {
      await lethe.stop();
    }
  }, TIMEOUT);
});
