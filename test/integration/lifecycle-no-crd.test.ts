/**
 * A cluster where crds/ was never applied, on a control plane of this file's own (etcd and
 * kube-apiserver only, with an audit log of pod reads):
 * - Lethe is not blocked: MetricsGroups count as none, a bare Job's group still goes; the missing
 *   CRD is said once (log, metric, /api/v1/status), and once the CRD is installed Lethe watches
 *   MetricsGroups without a restart;
 * - an unauthenticated push from an address that is no pod's costs no API-server request.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, installCrds, loadTestKubeConfig } from '../harness/kube.js';
import {
  TIMEOUT,
  barePod,
  body,
  createJob,
  createMetricsGroup,
  deleteJob,
  freshIp,
  hasSeries,
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

const repoRoot = join(import.meta.dirname, '..', '..');

// Pod requests only, at Metadata level: enough to see who read which pods with which selector.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: ["pods"]
  - level: None
`;

interface AuditEvent {
  readonly verb: string;
  readonly requestURI: string;
  readonly stage: string;
}

describe('lifecycle without the MetricsGroup CRD', () => {
  let tmp: string;
  let auditLog: string;
  let plane: ControlPlane;
  let kc: KubeConfig;
  let namespace: string;
  let lethe: TestLethe;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'lethe-no-crd-'));
    const policy = join(tmp, 'audit-policy.yaml');
    auditLog = join(tmp, 'audit.log');
    await writeFile(policy, AUDIT_POLICY);
    await mkdir(join(tmp, 'no-crds'));
    plane = await startControlPlane({
      crdDir: join(tmp, 'no-crds'),
      controllerManager: false,
      apiServerArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`],
    });
    kc = loadTestKubeConfig(plane.kubeconfigPath);
    namespace = await createTestNamespace(kc);
    lethe = await startTestLethe(plane.kubeconfigPath, ['--lifecycle.max-grace=0s']);
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
    await plane.stop();
    await rm(tmp, { recursive: true, force: true });
  }, TIMEOUT);

  const missingGauge = async (): Promise<number | undefined> =>
    (await lethe.registry.getSingleMetric('lethe_informer_missing')?.get())?.values.find((v) => v.labels['kind'] === 'MetricsGroup')?.value;
  const statusProblems = async (): Promise<{ reason: string; message: string; failsReadiness: boolean }[]> => {
    const doc = (await (await fetch(`http://127.0.0.1:${lethe.port}/api/v1/status`)).json()) as { data: { problems?: { reason: string; message: string; failsReadiness: boolean }[] } };
    return doc.data.problems ?? [];
  };
  const crdWarnings = (): Record<string, unknown>[] => lethe.logs.filter((l) => l['message'] === 'Found no MetricsGroup CRD');

  test('MetricsGroups count as none: a bare Job\'s group still goes, and the missing CRD is said once', async () => {
    // Every gate opens: no MetricsGroups is complete knowledge, not a watch that cannot sync.
    await untilReady(lethe, 30_000);
    expect(crdWarnings()).toHaveLength(1);
    expect(crdWarnings()[0]).toMatchObject({ level: 'warn', resource: 'metricsgroups.lethe.dev', hint: expect.stringContaining('kubectl apply -f crds/') as unknown });
    expect(await missingGauge()).toBe(1);
    expect(await statusProblems()).toEqual([{ reason: 'CrdMissing', message: expect.stringContaining('kubectl apply -f crds/') as unknown, failsReadiness: false }]);
    expect((await fetch(`http://127.0.0.1:${lethe.port}/-/ready`)).status).toBe(200);

    const job = await createJob(kc, namespace, jobBody('backup'));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip, lethe);
    expect(await push(lethe.port, `backup/instance/${namespace}`, body(1), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'Job');
    await deleteJob(kc, namespace, 'backup');
    await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { job: 'backup', instance: namespace }), { timeout: 15_000 });
    expect(lethe.logs.some((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'job-deleted' && String(l['groupingKey']).includes(namespace))).toBe(true);

    // Looked for again every 0.5 s here, and said only once; never the raw 404 of a failing watch.
    await consistently(() => crdWarnings().length === 1, { duration: 2_000 });
    expect(lethe.logs.filter((l) => l['message'] === 'Failed to list resources' || l['message'] === 'Watch failed')).toEqual([]);
  }, TIMEOUT);

  test('an unauthenticated push from an address that is no pod\'s costs no API-server request', async () => {
    const stranger = freshIp();
    expect(await push(lethe.port, `stray/instance/${namespace}`, body(1), { localAddress: stranger })).toBe(200);
    expect([...lethe.store.groups()].find((g) => g.key.labels.some((l) => l.value === 'stray'))?.attribution).toEqual({ source: 'none' });

    // A request of our own after the push, of the kind a lookup would be, shows that the audit log
    // has caught up past the push; Lethe's lookup would name the stranger's address.
    const control = freshIp();
    await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces({ fieldSelector: `status.podIP=${control}` });
    const events = await eventually(async () => {
      const lines = (await readFile(auditLog, 'utf8')).split('\n').filter((line) => line !== '');
      const parsed = lines.map((line) => JSON.parse(line) as AuditEvent).filter((e) => e.stage === 'ResponseComplete');
      if (!parsed.some((e) => decodeURIComponent(e.requestURI).includes(`status.podIP=${control}`))) throw new Error('the control request is not in the audit log yet');
      return parsed;
    });
    expect(events.filter((e) => decodeURIComponent(e.requestURI).includes(stranger))).toEqual([]);
  }, TIMEOUT);

  test('once the CRD is installed, Lethe watches MetricsGroups without a restart', async () => {
    await installCrds(kc, join(repoRoot, 'crds'));
    await eventually(() => lethe.logs.some((l) => l['message'] === 'Found MetricsGroup CRD'), { timeout: 30_000 });
    expect(await missingGauge()).toBe(0);
    expect(await statusProblems()).toEqual([]);

    await createMetricsGroup(kc, namespace, 'contract', { selector: { matchLabels: { job: 'contracted' } } });
    const ip = freshIp();
    await barePod(kc, namespace, 'adhoc', ip, lethe);
    expect(await push(lethe.port, `contracted/instance/${namespace}`, body(2), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, 'contracted', (g) => g.owner?.kind === 'MetricsGroup', 30_000);
    const status = await eventually(
      async () => {
        const mg = await readMetricsGroup(kc, namespace, 'contract');
        if (mg.status?.['groups'] !== 1) throw new Error('status not written yet');
        return mg.status;
      },
      { timeout: 30_000 },
    );
    expect(status).toMatchObject({ groups: 1 });
  }, TIMEOUT);
});
