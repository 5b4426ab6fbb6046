/**
 * Never on partial knowledge: on a control plane of its own (so its API server can be stopped,
 * and no namespace controller makes events that would start a pass by chance), Lethe deletes
 * nothing before its watches have synced or while the API server is away; pushes and scrapes keep
 * working meanwhile; and the deletions that came due are applied as soon as every gate opens.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RbacAuthorizationV1Api, type KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { limitedServiceAccount } from './auth-support.js';
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

/** What Lethe needs cluster-wide (the chart's ClusterRole), minus pods. */
const rulesWithoutPods: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['lethe.dev'], resources: ['metricsgroups'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['lethe.dev'], resources: ['metricsgroups/status'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
];

describe('lifecycle: gates', () => {
  let plane: ControlPlane;
  let kc: KubeConfig;
  let lethe: TestLethe | undefined;

  beforeAll(async () => {
    plane = await startControlPlane({ controllerManager: false });
    kc = loadTestKubeConfig(plane.kubeconfigPath);
  }, TIMEOUT);

  let tmp: string | undefined;

  afterAll(async () => {
    await lethe?.stop();
    await plane.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  }, TIMEOUT);

  test('nothing is deleted before every watch has synced; pushes and scrapes work meanwhile', async () => {
    await plane.stopApiServer();
    lethe = await startTestLethe(plane.kubeconfigPath, ['--lifecycle.ttl=1s']);
    const l = lethe;

    expect(await push(l.port, 'early/instance/a', body(7))).toBe(200);
    expect(l.loop.gates()).toContain('sync');
    await consistently(
      async () => {
        expect(await push(l.port, 'early/instance/b', body(8))).toBe(200);
        const text = await scrape(l.port);
        return hasSeries(text, 'work_done', { job: 'early', instance: 'a' });
      },
      { duration: 4_000, interval: 250 },
    );

    await plane.startApiServer();
    await untilReady(l, 60_000);
    // Synced: the default ttl (1s) now applies to the groups pushed while waiting.
    await eventually(async () => !hasSeries(await scrape(l.port), 'work_done', { job: 'early' }), { timeout: 15_000 });
  }, TIMEOUT);

  test('the API server stopped and restarted mid-run: no wrongful deletion, due deletions applied afterwards', async () => {
    await lethe?.stop();
    lethe = await startTestLethe(plane.kubeconfigPath);
    const l = lethe;
    await untilReady(l, 60_000);
    const namespace = await createTestNamespace(kc);
    const keep = await createJob(kc, namespace, jobBody('keep'));
    const keepIp = freshIp();
    await podOfJob(kc, namespace, keep, keepIp, lethe);
    const due = await createJob(kc, namespace, jobBody('due', { annotations: { 'lethe.dev/ttl': '3s' } }));
    const dueIp = freshIp();
    await podOfJob(kc, namespace, due, dueIp, lethe);
    expect(await push(l.port, `keep/ns/${namespace}`, body(), { localAddress: keepIp })).toBe(200);
    expect(await push(l.port, `due/ns/${namespace}`, body(), { localAddress: dueIp })).toBe(200);
    await waitForGroup(l, 'keep', (g) => g.owner?.uid === keep.metadata!.uid);
    await waitForGroup(l, 'due', (g) => g.owner?.uid === due.metadata!.uid);
    // No scrape before the outage: until one, the scrape grace holds `due` however slowly the
    // outage starts, so its deletion can only come due once the health gate is closed (the first
    // scrape is inside the outage below).

    await plane.stopApiServer();
    await eventually(() => l.loop.gates().includes('health'), { timeout: 15_000, interval: 50 });
    // The ttl of `due` runs out during the outage; nothing may be deleted while the view is unhealthy.
    await consistently(
      async () => {
        expect(await push(l.port, `during/ns/${namespace}`, body())).toBe(200);
        const text = await scrape(l.port);
        return hasSeries(text, 'work_done', { job: 'keep' }) && hasSeries(text, 'work_done', { job: 'due' });
      },
      { duration: 6_000, interval: 250 },
    );

    await plane.startApiServer();
    await untilReady(l, 60_000);
    await eventually(async () => !hasSeries(await scrape(l.port), 'work_done', { job: 'due', ns: namespace }), { timeout: 15_000 });
    await consistently(async () => hasSeries(await scrape(l.port), 'work_done', { job: 'keep', ns: namespace }), { duration: 3_000 });

    // And owners deleted after the restart are acted on.
    await deleteJob(kc, namespace, 'keep');
    await eventually(async () => !hasSeries(await scrape(l.port), 'work_done', { job: 'keep', ns: namespace }), { timeout: 15_000 });
  }, TIMEOUT);

  test('the last gate to open starts the pass: pods listable at last, the ttl deletion due meanwhile is applied at once', async () => {
    await lethe?.stop();
    // A ServiceAccount that may not list pods: the Pod informer alone holds deletions back.
    const namespace = await createTestNamespace(kc, 'lethe-gate');
    const role = randomName('lethe-nopods');
    tmp = await mkdtemp(join(tmpdir(), 'lethe-gate-'));
    const kubeconfig = await limitedServiceAccount(kc, namespace, role, rulesWithoutPods, tmp);
    // The resync is minutes away, so only the gate opening can start the pass in time.
    lethe = await startTestLethe(kubeconfig, ['--leader-election.enabled=false', '--lifecycle.ttl=1s', '--lifecycle.resync-interval=10m']);
    const l = lethe;

    expect(await push(l.port, 'waiting/instance/a', body(3))).toBe(200);
    await eventually(() => l.loop.gates().includes('sync') && l.kube?.view.gates().problems.join() === 'Pod: not synced (list pods is forbidden)', { timeout: 30_000 });
    // Its ttl runs out while the Pod informer holds deletions back.
    await consistently(
      async () => l.loop.gates().includes('sync') && hasSeries(await scrape(l.port), 'work_done', { job: 'waiting', instance: 'a' }),
      { duration: 2_000, interval: 250 },
    );

    await kc.makeApiClient(RbacAuthorizationV1Api).replaceClusterRole({
      name: role,
      body: { metadata: { name: role }, rules: [...rulesWithoutPods, { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] },
    });
    await untilReady(l, 30_000);
    // The pass the open gate started (its debounce is 50 ms here).
    await eventually(async () => !hasSeries(await scrape(l.port), 'work_done', { job: 'waiting' }), { timeout: 5_000, interval: 100 });
  }, TIMEOUT);
});
