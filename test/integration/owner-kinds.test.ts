/**
 * The configured owner kinds against the real API server (src/kube/owner-kinds.ts): discovery,
 * metadata-only list+watch, the schedule read from a CronWorkflow, a pushing pod's chain resolved
 * through the caches; a kind that is not installed, one whose CRD appears later and goes again,
 * and one Lethe may not list — reported, never stopping the others.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  Watch,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { ACCEPT_METADATA_LIST, MetadataWatchConfig, OwnerReads } from '../../src/kube/index.js';
import { resolveOwnerChain, type ChainObject } from '../../src/lifecycle/index.js';
import { createLogger } from '../../src/observability/index.js';
import {
  OWNER_API,
  createJobOf,
  createOwnerObject,
  createPod,
  cronWorkflowBody,
  cronWorkflowRunName,
  deleteOwnerObject,
  jobSetBody,
  jobSetJobBody,
  pipelineRunBody,
  taskRunBody,
  taskRunPodBody,
  workflowBody,
  workflowPodBody,
} from '../harness/batch-owners.js';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { installFixtureCrds } from '../harness/owner-crds.js';
import { tokenKubeConfig } from './deploy-support.js';
import { serviceAccountToken } from './auth-support.js';
import { chainObjectOf, reportOf, startOwnerKinds, stateMetric, untilWatching, type TestOwnerKinds } from './owner-support.js';

const RUNS = ['workflows.argoproj.io', 'pipelineruns.tekton.dev', 'taskruns.tekton.dev', 'jobsets.jobset.x-k8s.io', 'rayjobs.ray.io'];
const SCHEDULES = ['cronworkflows.argoproj.io'];

/** The cached object of this UID, once the watch has it. */
const cached = (t: TestOwnerKinds, uid: string) =>
  eventually(() => {
    const found = t.kinds.lookup(uid);
    if (found === undefined) throw new Error(`${uid} is not cached yet`);
    return found;
  });

const logged = (t: TestOwnerKinds, message: string, kind: string): number => t.logs.filter((l) => l['message'] === message && l['kind'] === kind).length;

describe('owner kinds: discovery, metadata-only watches, chains through the caches', () => {
  let kc: KubeConfig;
  let namespace: string;
  let owners: TestOwnerKinds;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    await installFixtureCrds(kc, ['argo-workflows', 'tekton', 'jobset']);
    namespace = await createTestNamespace(kc, 'lethe-owner-kinds');
    owners = startOwnerKinds(kc, RUNS, SCHEDULES);
    for (const name of [...RUNS.filter((n) => n !== 'rayjobs.ray.io'), ...SCHEDULES]) await untilWatching(owners.kinds, name);
  }, 300_000);

  afterAll(async () => {
    await owners.stop();
    await deleteTestNamespace(kc, namespace);
  });

  test('discovery gives each installed kind its version, Kind and scope; the preferred version where several are served', () => {
    const shown = (name: string) => {
      const { state, kind, version, namespaced, readsSchedule, role } = reportOf(owners.kinds, name);
      return { state, kind, version, namespaced, readsSchedule, role };
    };
    expect(shown('workflows.argoproj.io')).toEqual({ state: 'watching', kind: 'Workflow', version: 'v1alpha1', namespaced: true, readsSchedule: false, role: 'run' });
    // Tekton serves v1beta1 and v1; v1 is its storage version and the one discovery prefers.
    expect(shown('pipelineruns.tekton.dev')).toEqual({ state: 'watching', kind: 'PipelineRun', version: 'v1', namespaced: true, readsSchedule: false, role: 'run' });
    expect(shown('taskruns.tekton.dev')).toMatchObject({ kind: 'TaskRun', version: 'v1' });
    expect(shown('jobsets.jobset.x-k8s.io')).toMatchObject({ kind: 'JobSet', version: 'v1alpha2' });
    expect(shown('cronworkflows.argoproj.io')).toEqual({ state: 'watching', kind: 'CronWorkflow', version: 'v1alpha1', namespaced: true, readsSchedule: true, role: 'schedule' });
    expect(owners.kinds.rules().runKinds).toEqual([
      { group: 'batch', kind: 'Job' },
      { group: 'argoproj.io', kind: 'Workflow' },
      { group: 'tekton.dev', kind: 'PipelineRun' },
      { group: 'tekton.dev', kind: 'TaskRun' },
      { group: 'jobset.x-k8s.io', kind: 'JobSet' },
    ]);
    expect(owners.kinds.rules().scheduleKinds).toEqual([{ group: 'batch', kind: 'CronJob' }, { group: 'argoproj.io', kind: 'CronWorkflow' }]);
  });

  test('a kind that is not installed is reported once, is not readable, and the others are watched', async () => {
    expect(reportOf(owners.kinds, 'rayjobs.ray.io')).toMatchObject({ state: 'absent', synced: false, message: expect.stringContaining('the API group ray.io is not served') });
    expect(owners.kinds.view().readable.has('RayJob.ray.io')).toBe(false);
    expect(owners.kinds.view().notes.get('rayjobs.ray.io')).toMatch(/^rayjobs\.ray\.io is absent \(the API group ray\.io is not served/);
    expect(owners.kinds.view().readable.has('Workflow.argoproj.io')).toBe(true);
    expect(await stateMetric(owners.registry, 'rayjobs.ray.io', 'absent')).toBe(1);
    expect(await stateMetric(owners.registry, 'rayjobs.ray.io', 'watching')).toBe(0);
    expect(await stateMetric(owners.registry, 'workflows.argoproj.io', 'watching')).toBe(1);
    // Looked up again every 300 ms, logged once.
    await consistently(() => logged(owners, 'Owner kind not installed', 'rayjobs.ray.io') === 1, { duration: 1_500 });
    expect(owners.logs.find((l) => l['message'] === 'Owner kind not installed')).toMatchObject({ level: 'warn', role: 'run', state: 'absent' });
  });

  test('lists and watch events are PartialObjectMetadata: no spec, no status', async () => {
    const { group, version, plural } = OWNER_API.workflow;
    const name = randomName('meta');
    const seen = new Promise<unknown>((resolve, reject) => {
      void new Watch(new MetadataWatchConfig(kc))
        .watch(`/apis/${group}/${version}/namespaces/${namespace}/${plural}`, { fieldSelector: `metadata.name=${name}` }, (_phase, object) => resolve(object), (err) => {
          if (err !== null && err !== undefined) reject(err as Error);
        })
        .then((controller) => seen.finally(() => controller.abort()), reject);
    });
    await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(name));
    const event = await seen;
    expect(event).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name } });
    expect(event).not.toHaveProperty('spec');

    const list: unknown = await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group, version, plural }, setHeaderOptions('Accept', ACCEPT_METADATA_LIST));
    expect(list).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
    const items = (list as { items: Record<string, unknown>[] }).items;
    expect(items.some((i) => (i['metadata'] as { name: string }).name === name)).toBe(true);
    expect(items.filter((i) => 'spec' in i || 'status' in i)).toEqual([]);
  }, 60_000);

  test('the caches keep owner references and what the lethe.dev annotations say; a CronWorkflow with its schedule; deletions are seen', async () => {
    const cron = await createOwnerObject(kc, namespace, OWNER_API.cronWorkflow, {
      ...cronWorkflowBody(randomName('nightly'), { schedules: ['0 3 * * *', '0 15 * * *'], timezone: 'Europe/Berlin' }),
    });
    const body = workflowBody(cronWorkflowRunName(cron.metadata.name, new Date()), { cronWorkflow: cron });
    body.metadata.annotations = { ...body.metadata.annotations, 'lethe.dev/keep-last': '3' };
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, body);

    const run = await cached(owners, workflow.metadata.uid);
    expect(run).toMatchObject({
      kind: 'Workflow',
      group: 'argoproj.io',
      namespace,
      name: workflow.metadata.name,
      deleting: false,
      policy: { keepLast: 3 },
      ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', name: cron.metadata.name, uid: cron.metadata.uid, controller: true }],
    });
    expect(run.schedule).toBeUndefined();
    expect(await cached(owners, cron.metadata.uid)).toMatchObject({
      kind: 'CronWorkflow',
      schedule: { schedules: ['0 3 * * *', '0 15 * * *'], timeZone: 'Europe/Berlin', suspend: false },
    });

    const deleted: string[] = [];
    const unsubscribe = owners.kinds.onObject((type, o) => {
      if (type === 'delete') deleted.push(o.uid);
    });
    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, workflow.metadata.name);
    await eventually(() => owners.kinds.lookup(workflow.metadata.uid) === undefined);
    await eventually(() => deleted.includes(workflow.metadata.uid));
    unsubscribe();
  });

  test("a pushing pod's chain resolves through the caches to its run and schedule", async () => {
    const lookupIn = (extra: readonly ChainObject[]) => (uid: string) => owners.kinds.lookup(uid) ?? extra.find((o) => o.uid === uid);

    // CronWorkflow → Workflow → Pod.
    const cron = await createOwnerObject(kc, namespace, OWNER_API.cronWorkflow, cronWorkflowBody(randomName('hourly'), { schedules: ['0 * * * *'] }));
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(cronWorkflowRunName(cron.metadata.name, new Date()), { cronWorkflow: cron }));
    const wfPod = await createPod(kc, namespace, workflowPodBody(workflow));
    await eventually(() => owners.kinds.lookup(workflow.metadata.uid) !== undefined && owners.kinds.lookup(cron.metadata.uid) !== undefined);
    const wfChain = resolveOwnerChain(await chainObjectOf(kc, namespace, 'Pod', wfPod.metadata.name), lookupIn([]), owners.kinds.rules());
    expect(wfChain).toMatchObject({ complete: true, end: 'schedule', run: { kind: 'Workflow', uid: workflow.metadata.uid }, schedule: { kind: 'CronWorkflow', uid: cron.metadata.uid } });

    // PipelineRun → TaskRun → Pod: the PipelineRun is the run.
    const pipelineRun = await createOwnerObject(kc, namespace, OWNER_API.pipelineRun, pipelineRunBody(randomName('ci')));
    const taskRunObject = taskRunBody(pipelineRun);
    const taskRun = await createOwnerObject(kc, namespace, OWNER_API.taskRun, taskRunObject);
    const trPod = await createPod(kc, namespace, taskRunPodBody(taskRun, taskRunObject.metadata.labels));
    await eventually(() => owners.kinds.lookup(taskRun.metadata.uid) !== undefined && owners.kinds.lookup(pipelineRun.metadata.uid) !== undefined);
    const trChain = resolveOwnerChain(await chainObjectOf(kc, namespace, 'Pod', trPod.metadata.name), lookupIn([]), owners.kinds.rules());
    expect(trChain).toMatchObject({ complete: true, end: 'top', run: { kind: 'PipelineRun', uid: pipelineRun.metadata.uid } });
    expect(trChain.links.map((l) => l.kind)).toEqual(['Pod', 'TaskRun', 'PipelineRun']);

    // JobSet → Job → Pod (Jobs come from the built-in caches; here read from the API server).
    const jobSet = await createOwnerObject(kc, namespace, OWNER_API.jobSet, jobSetBody(randomName('train'), { suspend: true }));
    const job = await createJobOf(kc, namespace, jobSetJobBody(jobSet, { suspend: true }));
    const jsPod = await createPod(kc, namespace, {
      metadata: { name: `${job.metadata.name}-0-abcde`, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }] },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
    });
    await eventually(() => owners.kinds.lookup(jobSet.metadata.uid) !== undefined);
    const jobObject = await chainObjectOf(kc, namespace, 'Job', job.metadata.name);
    const jsChain = resolveOwnerChain(await chainObjectOf(kc, namespace, 'Pod', jsPod.metadata.name), lookupIn([jobObject]), owners.kinds.rules());
    expect(jsChain).toMatchObject({ complete: true, run: { kind: 'JobSet', uid: jobSet.metadata.uid } });
    expect(jsChain.links.map((l) => l.kind)).toEqual(['Pod', 'Job', 'JobSet']);
  }, 60_000);

  test('OwnerReads asks the API server for one owner (metadata only) and says absent once it is gone', async () => {
    const reads = new OwnerReads(kc, createLogger({ level: 'error', format: 'json', stream: new PassThrough() }), owners.kinds);
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(randomName('live')));
    const link = { group: 'argoproj.io', kind: 'Workflow', namespace, name: workflow.metadata.name, uid: workflow.metadata.uid };
    expect(await reads.read(link)).toMatchObject({ uid: workflow.metadata.uid, kind: 'Workflow' });
    expect(await reads.confirmAbsent(link)).toBe('present');
    expect(await reads.confirmAbsent({ ...link, uid: 'another-uid' })).toBe('absent');
    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, workflow.metadata.name);
    await eventually(async () => (await reads.confirmAbsent(link)) === 'absent');
    // A kind that is not watched cannot be asked about: unknown, never absent.
    expect(await reads.confirmAbsent({ group: 'ray.io', kind: 'RayJob', namespace, name: 'x', uid: 'y' })).toBe('unknown');
  });
});

describe('an owner kind whose CRD appears later, then goes', () => {
  test('absent, then watched within a lookup round of its CRD being Established, then absent again when the CRD is deleted', async () => {
    const kc = loadTestKubeConfig();
    const api = kc.makeApiClient(ApiextensionsV1Api);
    const group = `${randomName('later')}.lethe.dev`;
    const crdName = `widgets.${group}`;
    const owners = startOwnerKinds(kc, [crdName], []);
    const namespace = await createTestNamespace(kc, 'lethe-owner-later');
    try {
      await eventually(() => reportOf(owners.kinds, crdName).state === 'absent');
      expect(logged(owners, 'Owner kind not installed', crdName)).toBe(1);

      await api.createCustomResourceDefinition({
        body: {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: crdName },
          spec: {
            group,
            scope: 'Namespaced',
            names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
          },
        },
      });
      const report = await untilWatching(owners.kinds, crdName);
      expect(report).toMatchObject({ kind: 'Widget', version: 'v1', namespaced: true });
      expect(await stateMetric(owners.registry, crdName, 'watching')).toBe(1);
      expect(owners.logs.filter((l) => l['message'] === 'Watching owner kind' && l['kind'] === crdName)).toEqual([
        expect.objectContaining({ level: 'info', version: 'v1', ownerKind: 'Widget', metadataOnly: true }),
      ]);
      const widget = await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
        group,
        version: 'v1',
        plural: 'widgets',
        namespace,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: {} },
      });
      const uid = (widget as { metadata: { uid: string } }).metadata.uid;
      await eventually(() => owners.kinds.lookup(uid) !== undefined);

      await api.deleteCustomResourceDefinition({ name: crdName });
      await eventually(() => isGone(() => api.readCustomResourceDefinition({ name: crdName })), { timeout: 60_000 });
      await eventually(() => reportOf(owners.kinds, crdName).state === 'absent', { timeout: 30_000 });
      expect(owners.kinds.lookup(uid)).toBeUndefined();
      expect(owners.kinds.view().readable.has(`Widget.${group}`)).toBe(false);
      expect(logged(owners, 'Owner kind not installed', crdName)).toBe(2);
      expect(await stateMetric(owners.registry, crdName, 'absent')).toBe(1);
    } finally {
      await owners.stop();
      await deleteTestNamespace(kc, namespace);
      try {
        await api.deleteCustomResourceDefinition({ name: crdName });
      } catch {
        // already gone
      }
    }
  }, 120_000);
});

describe('an owner kind Lethe may not list', () => {
  test('is reported forbidden while the others are watched, and is watched once the permission is granted', async () => {
    const admin = loadTestKubeConfig();
    await installFixtureCrds(admin, ['argo-workflows', 'tekton']);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const namespace = await createTestNamespace(admin, 'lethe-owner-rbac');
    const role = randomName('lethe-owner-kinds');
    const subject = { kind: 'ServiceAccount', name: 'default', namespace };
    const grant = async (name: string, resources: string[], group: string) => {
      await rbac.createClusterRole({ body: { metadata: { name }, rules: [{ apiGroups: [group], resources, verbs: ['get', 'list', 'watch'] }] } });
      await rbac.createClusterRoleBinding({ body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [subject] } });
    };
    await grant(`${role}-argo`, ['workflows'], 'argoproj.io');
    const asLethe = tokenKubeConfig(admin, await serviceAccountToken(admin, namespace), 'lethe');
    const owners = startOwnerKinds(asLethe, ['workflows.argoproj.io', 'pipelineruns.tekton.dev'], []);
    try {
      await untilWatching(owners.kinds, 'workflows.argoproj.io');
      await eventually(() => reportOf(owners.kinds, 'pipelineruns.tekton.dev').state === 'forbidden');
      expect(reportOf(owners.kinds, 'pipelineruns.tekton.dev')).toMatchObject({ kind: 'PipelineRun', message: expect.stringMatching(/listing pipelineruns.tekton.dev is forbidden: HTTP 403: .*cannot list resource "pipelineruns"/) });
      expect(await stateMetric(owners.registry, 'pipelineruns.tekton.dev', 'forbidden')).toBe(1);
      expect(owners.logs.filter((l) => l['message'] === 'Owner kind not readable')).toHaveLength(1);

      await grant(`${role}-tekton`, ['pipelineruns'], 'tekton.dev');
      await untilWatching(owners.kinds, 'pipelineruns.tekton.dev');
      expect(await stateMetric(owners.registry, 'pipelineruns.tekton.dev', 'forbidden')).toBe(0);
    } finally {
      await owners.stop();
      for (const name of [`${role}-argo`, `${role}-tekton`]) {
        await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
        await rbac.deleteClusterRole({ name }).catch(() => undefined);
      }
      await deleteTestNamespace(admin, namespace);
    }
  }, 300_000);
});
