/**
 * The Helm chart and the plain manifests against the real control plane: helm lint/template,
 * values refused by the schema with a clear message, every rendered object accepted by the API
 * server (ServiceMonitor and PrometheusRule by prometheus-operator's real CRDs), a real
 * `helm install`, the pod template under the restricted Pod Security Standard, and
 * `kubectl apply -f crds/ -f deploy/manifests/`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { ApiException, CoreV1Api, KubernetesObjectApi, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/index.js';
import { TEST_LABEL, createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { eventually } from '../harness/eventually.js';
import {
  EVERYTHING_ON,
  applyCrds,
  chartDir,
  deleteObjects,
  helm,
  helmBinary,
  helmErrors,
  k8sObjects,
  kubectl,
  renderChart,
  repoRoot,
  run,
  serverSideApply,
  type K8sObject,
} from './deploy-support.js';

const TIMEOUT = 120_000;
const kubeconfigPath = (): string => {
  const path = process.env['LETHE_TEST_KUBECONFIG'];
  if (path === undefined) throw new Error('LETHE_TEST_KUBECONFIG is not set');
  return path;
};

function only(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

function deploymentOf(objects: readonly K8sObject[]): V1Deployment {
  return only(objects, 'Deployment');
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiException) {
      const body: unknown = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
      const message = typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : '';
      return { code: err.code, message };
    }
    throw err;
  }
  throw new Error('expected the API server to refuse the request');
}

describe('Helm chart', () => {
  let kc: KubeConfig;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    await applyCrds(kc, join(repoRoot, 'test', 'fixtures', 'crds'));
  }, TIMEOUT);

  test('helm lint --strict passes with the default values and with every option on', async () => {
    for (const args of [[], [...EVERYTHING_ON]]) {
      const result = await helm(['lint', '--strict', chartDir, ...args]);
      expect({ args, code: result.code, out: result.stdout }).toMatchObject({ code: 0 });
      expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  test('helm sees the MetricsGroup CRD through the crds link, identical to crds/', async () => {
    const source = k8sObjects(await readFile(join(repoRoot, 'crds', 'metricsgroups.lethe.dev.yaml'), 'utf8'));
    const shown = await helm(['show', 'crds', chartDir]);
    expect(shown.code).toBe(0);
    expect(k8sObjects(shown.stdout)).toEqual(source);
    const rendered = await renderChart('lethe', 'lethe', ['--include-crds']);
    expect(rendered.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual(source);
    // Without --include-crds (how deploy/manifests is rendered) no CRD is in the output.
    expect((await renderChart('lethe', 'lethe')).some((o) => o.kind === 'CustomResourceDefinition')).toBe(false);
  });

  test.each([
    ['more than one replica on the file store', ['--set', 'replicas=2'], /at '\/store\/backend': value must be 'redis'/],
    ['the Redis store without a URL', ['--set', 'store.backend=redis'], /store.backend: redis needs store.redis.url or store.redis.existingSecret/],
    ['a writable root filesystem', ['--set', 'securityContext.readOnlyRootFilesystem=false'], /\/securityContext\/readOnlyRootFilesystem': value must be true/],
    ['privilege escalation', ['--set', 'securityContext.allowPrivilegeEscalation=true'], /\/securityContext\/allowPrivilegeEscalation': value must be false/],
    ['running as root', ['--set', 'securityContext.runAsNonRoot=false'], /\/securityContext\/runAsNonRoot': value must be true/],
    ['dropping the securityContext', ['--set', 'securityContext.readOnlyRootFilesystem=null'], /\/securityContext': missing property 'readOnlyRootFilesystem'/],
    ['an added capability', ['--set', 'securityContext.capabilities.add={NET_ADMIN}'], /\/securityContext\/capabilities\/add': maxItems/],
    ['a flag the chart sets itself', ['--set', 'flags.persistence\\.file=/tmp/x'], /\/flags': additional properties 'persistence.file' not allowed/],
    ['an unknown flag', ['--set', 'flags.lifecycle\\.ttl-days=3'], /\/flags': additional properties 'lifecycle.ttl-days' not allowed/],
    ['a duration Lethe cannot parse', ['--set', 'flags.lifecycle\\.ttl=soon'], /\/flags\/lifecycle.ttl': 'anyOf' failed/],
    ['a log level Lethe does not know', ['--set', 'flags.log\\.level=verbose'], /\/flags\/log.level': value must be one of 'debug', 'info', 'warn', 'error'/],
    ['a limit below 1', ['--set', 'flags.limits\\.groups=0'], /\/flags\/limits.groups': minimum: got 0, want 1/],
    ['leader election that is neither auto, true nor false', ['--set', 'leaderElection.enabled=sometimes'], /value must be one of 'auto', true, false/],
    ['an alert duration Prometheus cannot parse', ['--set', 'prometheusRule.alerts.batchJobOverdue.for=5 minutes'], /\/prometheusRule\/alerts\/batchJobOverdue\/for': '5 minutes' does not match pattern/],
    ['no ServiceAccount name when the chart does not create one', ['--set', 'serviceAccount.create=false'], /serviceAccount.name is required when serviceAccount.create is false/],
    ['a Service port out of range', ['--set', 'service.port=70000'], /\/service\/port': maximum: got 70,000, want 65,535/],
    ['a misspelt top-level key', ['--set', 'replica=1'], /additional properties 'replica' not allowed/],
    ['an owner kind given as a Kind', ['--set', 'ownerKinds.runs={Workflow}'], /\/ownerKinds\/runs\/0': 'Workflow' does not match pattern/],
    ['a built-in owner kind', ['--set', 'ownerKinds.schedules={cronjobs.batch}'], /ownerKinds: cronjobs.batch is built in/],
    ['an owner kind in both lists', ['--set', 'ownerKinds.runs={cronworkflows.argoproj.io}', '--set', 'ownerKinds.schedules={cronworkflows.argoproj.io}'], /ownerKinds: cronworkflows.argoproj.io is in both runs and schedules/],
    ['owner kinds as a flag (the chart sets it from ownerKinds)', ['--set', 'flags.lifecycle\\.run-kinds=workflows.argoproj.io'], /\/flags': additional properties 'lifecycle.run-kinds' not allowed/],
  ])('refuses %s with a clear message', async (_name, args, message) => {
    const result = await helm(['template', 'lethe', chartDir, ...args]);
    expect(result.code).not.toBe(0);
    expect(helmErrors(result.stderr)).toMatch(message);
  });

  test('flags render as arguments that Lethe itself accepts, whole numbers without exponents', async () => {
    const objects = await renderChart('lethe', 'lethe', [
      ...EVERYTHING_ON,
      '--set', 'flags.limits\\.body-bytes=33554432',
      '--set', 'flags.lifecycle\\.ttl=36h',
      '--set', 'flags.lifecycle\\.keep-last=0',
      '--set', 'flags.web\\.enable-admin-api=true',
      '--set', 'flags.log\\.format=logfmt',
      '--set-string', 'flags.web\\.route-prefix=/pushgateway/',
    ]);
    const container = deploymentOf(objects).spec?.template.spec?.containers[0];
    const args = container?.args ?? [];
    expect(args).toContain('--limits.body-bytes=33554432');
    const loaded = loadConfig(args, {});
    if (loaded.kind !== 'config') throw new Error('expected a config');
    expect(loaded.config).toMatchObject({
      web: { listenPort: 9091, routePrefix: '/pushgateway', enableAdminApi: true },
      persistence: { file: '/data/lethe.data' },
      limits: { bodyBytes: 33554432 },
      lifecycle: { ttlMs: 36 * 3_600_000, keepLast: 0 },
      leaderElection: { enabled: true, leaseName: 'lethe' },
      log: { format: 'logfmt' },
    });
    // Probes and the ServiceMonitor follow the route prefix.
    expect(container?.livenessProbe?.httpGet?.path).toBe('/pushgateway/-/healthy');
    expect(container?.readinessProbe?.httpGet?.path).toBe('/pushgateway/-/ready');
    // Start-up waits for the store to load, not for readiness: a full volume or a forbidden Lease
    // fails readiness only and must not restart the pod in a loop.
    expect(container?.startupProbe?.httpGet?.path).toBe('/pushgateway/-/healthy');
    expect(only(objects, 'ServiceMonitor')['spec']).toMatchObject({ endpoints: [{ port: 'http', path: '/pushgateway/metrics', honorLabels: true }] });
  });

  test('owner kinds render as the flags Lethe reads and as get/list/watch rules on exactly those resources', async () => {
    const objects = await renderChart('lethe', 'lethe', [
      '--set', 'ownerKinds.runs={workflows.argoproj.io,pipelineruns.tekton.dev,taskruns.tekton.dev}',
      '--set', 'ownerKinds.schedules={cronworkflows.argoproj.io}',
    ]);
    const loaded = loadConfig(deploymentOf(objects).spec?.template.spec?.containers[0]?.args ?? [], {});
    if (loaded.kind !== 'config') throw new Error('expected a config');
    expect(loaded.config.lifecycle.runKinds.map((k) => k.name)).toEqual(['workflows.argoproj.io', 'pipelineruns.tekton.dev', 'taskruns.tekton.dev']);
    expect(loaded.config.lifecycle.scheduleKinds.map((k) => k.name)).toEqual(['cronworkflows.argoproj.io']);
    const rules = (only(objects, 'ClusterRole')['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).filter(
      (r) => !['', 'batch', 'lethe.dev', 'authentication.k8s.io'].includes(r.apiGroups[0] ?? ''),
    );
    expect(rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['tekton.dev'], resources: ['pipelineruns'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['tekton.dev'], resources: ['taskruns'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['argoproj.io'], resources: ['cronworkflows'], verbs: ['get', 'list', 'watch'] },
    ]);
    // None by default: no flag, no rule.
    const plain = await renderChart('lethe', 'lethe');
    expect((deploymentOf(plain).spec?.template.spec?.containers[0]?.args ?? []).filter((a) => a.includes('-kinds='))).toEqual([]);
    expect((only(plain, 'ClusterRole')['rules'] as { apiGroups: string[] }[]).map((r) => r.apiGroups[0]).sort()).toEqual(['', '', 'authentication.k8s.io', 'batch', 'lethe.dev', 'lethe.dev']);
  });

  test('leader election: off for one replica by default, and then no Role; on when asked, with a Role for one Lease', async () => {
    const plain = await renderChart('lethe', 'lethe');
    expect(deploymentOf(plain).spec?.template.spec?.containers[0]?.args).toContain('--leader-election.enabled=false');
    expect(plain.some((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toBe(false);

    const elected = await renderChart('lethe', 'lethe', ['--set', 'leaderElection.enabled=true', '--set', 'leaderElection.leaseName=lethe-leader']);
    expect(deploymentOf(elected).spec?.template.spec?.containers[0]?.args).toEqual(
      expect.arrayContaining(['--leader-election.enabled=true', '--leader-election.lease-name=lethe-leader']),
    );
    expect(only(elected, 'Role')['rules']).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['lethe-leader'], verbs: ['get', 'update'] },
    ]);
  });

  test('several replicas on the Redis store: leader election, a PodDisruptionBudget, anti-affinity, the URL from a Secret', async () => {
    const objects = await renderChart('lethe', 'lethe', ['--set', 'replicas=3', '--set', 'store.backend=redis', '--set', 'store.redis.existingSecret=lethe-redis']);
    const deployment = deploymentOf(objects);
    const container = deployment.spec?.template.spec?.containers[0];
    expect(deployment.spec?.replicas).toBe(3);
    expect(container?.env).toContainEqual({ name: 'LETHE_STORE_REDIS_URL', valueFrom: { secretKeyRef: { name: 'lethe-redis', key: 'url' } } });
    const loaded = loadConfig(container?.args ?? [], { LETHE_STORE_REDIS_URL: 'redis://redis:6379' });
    if (loaded.kind !== 'config') throw new Error('expected a config');
    expect(loaded.config).toMatchObject({ store: { backend: 'redis' }, leaderElection: { enabled: true, leaseName: 'lethe' } });
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Role', 'RoleBinding', 'PodDisruptionBudget']));
    expect(deployment.spec?.template.spec?.affinity?.podAntiAffinity).toBeDefined();
  });

  test('every rendered object is accepted by server-side apply; the real CRDs check the ServiceMonitor and PrometheusRule', async () => {
    const namespace = await createTestNamespace(kc, 'lethe-chart');
    const release = randomName('chart');
    const objects = await renderChart(release, namespace, [...EVERYTHING_ON]);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'PrometheusRule', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceMonitor'].sort(),
    );
    try {
      for (const object of objects) {
        const applied = await serverSideApply(kc, object);
        expect({ kind: applied.kind, name: applied.metadata.name }).toEqual({ kind: object.kind, name: object.metadata.name });
      }
      const api = KubernetesObjectApi.makeApiClient(kc);
      const monitor = only(objects, 'ServiceMonitor');
      const stored = await api.read({ apiVersion: monitor.apiVersion, kind: monitor.kind, metadata: { name: monitor.metadata.name, namespace } });
      expect((stored as unknown as K8sObject)['spec']).toMatchObject({ endpoints: [{ honorLabels: true, port: 'http', path: '/metrics' }] });

      // The schemas are really enforced: the same objects with a wrong field are refused.
      const badMonitor = { ...monitor, spec: { ...(monitor['spec'] as object), endpoints: [{ port: 'http', honorLabels: true, scheme: 'gopher' }] } };
      const refused = await apiError(serverSideApply(kc, badMonitor));
      expect(refused).toMatchObject({ code: 422, message: expect.stringContaining('scheme') });
      const rule = only(objects, 'PrometheusRule');
      const badRule = { ...rule, spec: { groups: [{ name: 'lethe', rules: [{ alert: 'X', expr: 'up', for: '5 minutes' }] }] } };
      expect(await apiError(serverSideApply(kc, badRule))).toMatchObject({ code: 422, message: expect.stringContaining('rules[0].for') });
    } finally {
      await deleteObjects(kc, objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
      await deleteTestNamespace(kc, namespace);
    }
  }, TIMEOUT);

  test('helm install --dry-run=server and a real helm install and uninstall succeed against the API server', async () => {
    const namespace = await createTestNamespace(kc, 'lethe-helm');
    const release = randomName('helm');
    const common = ['--kubeconfig', kubeconfigPath(), '--namespace', namespace];
    try {
      const dry = await helm(['install', release, chartDir, ...common, '--dry-run=server', ...EVERYTHING_ON]);
      // Helm says that it does not render CRDs in a dry run; nothing else.
      expect({ code: dry.code, err: helmErrors(dry.stderr) }).toEqual({ code: 0, err: expect.stringMatching(/^(level=WARN msg="This chart or one of its subcharts contains CRDs[^\n]*)?$/) });
      expect(dry.stdout).toContain('kind: Deployment');

      const installed = await helm(['install', release, chartDir, ...common, ...EVERYTHING_ON]);
      expect({ code: installed.code, err: helmErrors(installed.stderr) }).toEqual({ code: 0, err: '' });
      expect(installed.stdout).toContain('STATUS: deployed');
      expect(installed.stdout).toContain(`Point push clients at it exactly as at a Pushgateway`);
      const listed = await helm(['list', ...common, '--output', 'json']);
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: release, status: 'deployed' })]);

      const uninstalled = await helm(['uninstall', release, ...common, '--wait']);
      expect(uninstalled.code).toBe(0);
      const core = kc.makeApiClient(CoreV1Api);
      expect(await isGone(() => core.readNamespacedServiceAccount({ name: `${release}-lethe`, namespace }))).toBe(true);
    } finally {
      await helm(['uninstall', release, ...common]);
      await deleteTestNamespace(kc, namespace);
    }
  }, TIMEOUT);

  test('the pod template meets the restricted Pod Security Standard (and the check is live)', async () => {
    const namespace = randomName('lethe-pss');
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { [TEST_LABEL]: 'true', 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    try {
      const template = deploymentOf(await renderChart('lethe', namespace, [...EVERYTHING_ON])).spec?.template;
      const pod: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lethe-pss', namespace, labels: template?.metadata?.labels ?? {} }, spec: template?.spec ?? { containers: [] } };
      await eventually(() => core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' }), { timeout: 10_000 });

      const weakened: V1Pod = {
        ...pod,
        spec: {
          ...pod.spec!,
          containers: pod.spec!.containers.map((c) => ({ ...c, securityContext: { ...c.securityContext, allowPrivilegeEscalation: true, capabilities: { add: ['NET_ADMIN'] } } })),
        },
      };
      const refused = await apiError(core.createNamespacedPod({ namespace, body: weakened, dryRun: 'All' }));
      expect(refused).toMatchObject({ code: 403, message: expect.stringContaining('violates PodSecurity "restricted:latest"') });
    } finally {
      await deleteTestNamespace(kc, namespace);
    }
  }, TIMEOUT);

  test('kubectl apply -f crds/ -f deploy/manifests/ installs Lethe, and the manifests are what the chart renders', async () => {
    const check = await run(join(repoRoot, 'deploy', 'render-manifests.sh'), ['--check', helmBinary(), 'deploy/manifests']);
    expect({ code: check.code, err: check.stderr }).toEqual({ code: 0, err: '' });

    const manifests = k8sObjects(await readFile(join(repoRoot, 'deploy', 'manifests', 'lethe.yaml'), 'utf8'));
    try {
      const applied = await kubectl(['apply', '-f', 'crds/', '-f', 'deploy/manifests/'], kubeconfigPath());
      // The only complaint allowed: the harness created the MetricsGroup CRD without kubectl apply.
      const warnings = applied.stderr.split('\n').filter((l) => l !== '' && !l.includes('customresourcedefinitions/metricsgroups.lethe.dev is missing the kubectl.kubernetes.io/last-applied-configuration'));
      expect({ code: applied.code, warnings }).toEqual({ code: 0, warnings: [] });
      const api = KubernetesObjectApi.makeApiClient(kc);
      for (const object of manifests) {
        const stored = await api.read({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }) } });
        expect({ kind: stored.kind, name: stored.metadata?.name }).toEqual({ kind: object.kind, name: object.metadata.name });
      }
      const monitoring = await kubectl(['apply', '-f', 'deploy/manifests/prometheus-operator/'], kubeconfigPath());
      expect({ code: monitoring.code, err: monitoring.stderr }).toEqual({ code: 0, err: '' });
      expect(monitoring.stdout).toContain('servicemonitor.monitoring.coreos.com/lethe');
      expect(monitoring.stdout).toContain('prometheusrule.monitoring.coreos.com/lethe');
      // Applying again changes nothing.
      const again = await kubectl(['apply', '-f', 'crds/', '-f', 'deploy/manifests/'], kubeconfigPath());
      expect(again.stdout.split('\n').filter((l) => l !== '' && !l.endsWith(' unchanged'))).toEqual([]);
    } finally {
      await deleteObjects(kc, manifests.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
      await deleteTestNamespace(kc, 'lethe');
    }
  }, TIMEOUT);
});
