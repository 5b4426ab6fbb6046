/**
 * Missing permissions are loud (on the shared control plane): Lethe runs as a ServiceAccount whose
 * RBAC lacks the leader Lease and `watch` on CronJobs. Each refusal is one error log line naming
 * the verb, the resource and the namespace, a lethe_kube_forbidden series, a problem in
 * /api/v1/status and a failing /-/ready; granting the permissions heals it without a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RbacAuthorizationV1Api, type KubeConfig, type V1PolicyRule } from '@kubernetes/client-node';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { limitedServiceAccount } from './auth-support.js';
import { TIMEOUT, startTestLethe, type TestLethe } from './lifecycle-support.js';

const LEASES = 'leases.coordination.k8s.io';

/** What Lethe needs cluster-wide (the chart's ClusterRole), minus `watch` on cronjobs. */
const clusterRules: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list'] },
  { apiGroups: ['lethe.dev'], resources: ['metricsgroups'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['lethe.dev'], resources: ['metricsgroups/status'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
];

interface StatusDoc {
  data: { problems?: { reason: string; message: string; failsReadiness: boolean }[] };
}

describe('lifecycle: a forbidden Lease or watch is reported', () => {
  let admin: KubeConfig;
  let namespace: string;
  let tmp: string;
  let lethe: TestLethe;
  const role = randomName('lethe-limited');
  const leaseName = randomName('lease');

  beforeAll(async () => {
    admin = loadTestKubeConfig();
    namespace = await createTestNamespace(admin, 'lethe-perm');
    tmp = await mkdtemp(join(tmpdir(), 'lethe-perm-'));
    const kubeconfig = await limitedServiceAccount(admin, namespace, role, clusterRules, tmp);
    lethe = await startTestLethe(kubeconfig, ['--leader-election.enabled=true', `--leader-election.lease-name=${leaseName}`], { leaseNamespace: namespace });
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteClusterRoleBinding({ name: role });
    await rbac.deleteClusterRole({ name: role });
    await deleteTestNamespace(admin, namespace);
    await rm(tmp, { recursive: true, force: true });
  }, TIMEOUT);

  const forbiddenLogs = (): Record<string, unknown>[] => lethe.logs.filter((l) => l['message'] === 'Forbidden to access resource');
  const ready = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${lethe.port}/-/ready`);
    return { status: res.status, body: await res.text() };
  };
  const problems = async (): Promise<NonNullable<StatusDoc['data']['problems']>> =>
    ((await (await fetch(`http://127.0.0.1:${lethe.port}/api/v1/status`)).json()) as StatusDoc).data.problems ?? [];
  const forbiddenGauge = async (labels: Record<string, string>): Promise<number | undefined> => {
    const metric = await lethe.registry.getSingleMetric('lethe_kube_forbidden')?.get();
    return metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
  };

  test('each refusal: one error log naming verb, resource and namespace, a metric, a problem in status, and /-/ready fails', async () => {
    await eventually(() => forbiddenLogs().length >= 2, { timeout: 30_000 });
    expect(forbiddenLogs().map((l) => [l['level'], l['verb'], l['resource'], l['namespace']]).sort()).toEqual(
      [
        ['error', 'get', LEASES, namespace],
        ['error', 'watch', 'cronjobs.batch', '*'],
      ].sort(),
    );
    // Logged once while it lasts, not on every retry (the Lease is retried every 0.5 s here, the watch with backoff).
    await consistently(() => forbiddenLogs().length === 2, { duration: 3_000 });

    expect(await forbiddenGauge({ verb: 'get', resource: LEASES, resource_namespace: namespace })).toBe(1);
    expect(await forbiddenGauge({ verb: 'watch', resource: 'cronjobs.batch', resource_namespace: '*' })).toBe(1);
    const listed = await problems();
    expect(listed).toEqual(
      expect.arrayContaining([
        { reason: 'Forbidden', message: expect.stringMatching(new RegExp(`^get ${LEASES} in namespace ${namespace} is forbidden .*this replica cannot lead, so it deletes nothing$`)) as unknown, failsReadiness: true },
        { reason: 'Forbidden', message: expect.stringMatching(/^watch cronjobs\.batch in all namespaces is forbidden .*deletions wait/) as unknown, failsReadiness: true },
      ]),
    );
    const answer = await ready();
    expect(answer.status).toBe(503);
    expect(answer.body).toContain(`Forbidden: get ${LEASES} in namespace ${namespace} is forbidden`);
    expect(answer.body).toContain('Forbidden: watch cronjobs.batch in all namespaces is forbidden');
    // Liveness is not readiness: a restart would not fix RBAC.
    expect((await fetch(`http://127.0.0.1:${lethe.port}/-/healthy`)).status).toBe(200);
    expect(lethe.loop.gates()).toEqual(expect.arrayContaining(['health', 'leader']));
  }, TIMEOUT);

  test('granting the permissions heals it without a restart', async () => {
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'lethe-lease' }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'lethe-lease' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lethe-lease' },
        subjects: [{ kind: 'ServiceAccount', name: 'lethe', namespace }],
      },
    });
    await rbac.replaceClusterRole({
      name: role,
      body: {
        metadata: { name: role },
        rules: clusterRules.map((r) => (r.resources?.includes('cronjobs') === true ? { ...r, verbs: ['get', 'list', 'watch'] } : r)),
      },
    });
    await eventually(async () => (await ready()).status === 200, { timeout: 30_000, interval: 200 });
    expect(await problems()).toEqual([]);
    await eventually(() => lethe.loop.gates().length === 0, { timeout: 30_000 });
    expect(await forbiddenGauge({ verb: 'get', resource: LEASES, resource_namespace: namespace })).toBeUndefined();
    const allowed = lethe.logs.filter((l) => l['message'] === 'Allowed to access resource').map((l) => [l['verb'], l['resource']]);
    expect(allowed).toEqual(expect.arrayContaining([['get', LEASES], ['watch', 'cronjobs.batch']]));
    // Leading now, told as the Redis lease tells it: one log line and lethe_leader.
    expect(lethe.logs.filter((l) => l['message'] === 'Became leader')).toEqual([
      expect.objectContaining({ component: 'leadership', lease: `${namespace}/${leaseName}`, identity: expect.any(String) }),
    ]);
    expect((await lethe.registry.getSingleMetric('lethe_leader')?.get())?.values[0]?.value).toBe(1);
  }, TIMEOUT);
});
