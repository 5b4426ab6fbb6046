/**
 * The owner chains of docs/owners.md on the real control plane, with the real CRDs at their pinned
 * versions: objects are created as the JobSet, Argo Workflows and Tekton controllers create them
 * (none of those controllers runs), and the real garbage collector removes the dependents when the
 * owner goes, once per chain. The real job controller makes the JobSet's Job's pod.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
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
  readOwnerObject,
  taskRunBody,
  taskRunPodBody,
  workflowBody,
  workflowPodBody,
  type Created,
} from '../harness/batch-owners.js';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { installFixtureCrds } from '../harness/owner-crds.js';

const GC_TIMEOUT = 60_000;

describe('batch owner chains and the garbage collector', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await installFixtureCrds(kc, ['argo-workflows', 'tekton', 'jobset']);
    namespace = await createTestNamespace(kc, 'lethe-owners-gc');
  }, 300_000);

  afterAll(async () => {
    await deleteTestNamespace(kc, namespace);
  });

  const controllerOf = (pod: V1Pod) => pod.metadata?.ownerReferences?.filter((r) => r.controller === true);
  const podGone = (name: string) => eventually(() => isGone(() => core.readNamespacedPod({ name, namespace })), { timeout: GC_TIMEOUT, interval: 200 });
  const ownerGone = (api: (typeof OWNER_API)[keyof typeof OWNER_API], name: string) =>
    eventually(() => isGone(() => readOwnerObject(kc, namespace, api, name)), { timeout: GC_TIMEOUT, interval: 200 });
  const ref = (owner: Created) => ({ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true });

  test('Workflow → Pod: the Workflow deleted, its pod is collected', async () => {
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(randomName('etl')));
    const pod = await createPod(kc, namespace, workflowPodBody(workflow));
    const stored = await core.readNamespacedPod({ name: pod.metadata.name, namespace });
    expect(controllerOf(stored)).toEqual([ref(workflow)]);
    expect(stored.metadata?.labels).toMatchObject({ 'workflows.argoproj.io/workflow': workflow.metadata.name });

    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, workflow.metadata.name);
    await podGone(pod.metadata.name);
  }, 120_000);

  test('CronWorkflow → Workflow → Pod: the CronWorkflow deleted, its run and the run\'s pod are collected', async () => {
    const cron = await createOwnerObject(kc, namespace, OWNER_API.cronWorkflow, cronWorkflowBody(randomName('nightly'), { schedules: ['0 3 * * *'], timezone: 'Europe/Berlin' }));
    const scheduled = new Date(Date.UTC(2026, 11, 1, 2, 0, 0));
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(cronWorkflowRunName(cron.metadata.name, scheduled), { cronWorkflow: cron, scheduledTime: scheduled }));
    expect(workflow.metadata.name).toBe(`${cron.metadata.name}-1796090400`);
    const pod = await createPod(kc, namespace, workflowPodBody(workflow));

    await deleteOwnerObject(kc, namespace, OWNER_API.cronWorkflow, cron.metadata.name);
    await ownerGone(OWNER_API.workflow, workflow.metadata.name);
    await podGone(pod.metadata.name);
  }, 120_000);

  test('PipelineRun → TaskRun → Pod: the PipelineRun deleted, its TaskRun and the TaskRun\'s pod are collected', async () => {
    const pipelineRun = await createOwnerObject(kc, namespace, OWNER_API.pipelineRun, pipelineRunBody(randomName('ci'), ['build']));
    const taskRunObject = taskRunBody(pipelineRun, 'build');
    const taskRun = await createOwnerObject(kc, namespace, OWNER_API.taskRun, taskRunObject);
    expect(taskRun.metadata.name).toBe(`${pipelineRun.metadata.name}-build`);
    const pod = await createPod(kc, namespace, taskRunPodBody(taskRun, taskRunObject.metadata.labels));
    const stored = await core.readNamespacedPod({ name: pod.metadata.name, namespace });
    expect(controllerOf(stored)).toEqual([ref(taskRun)]);
    expect(stored.metadata?.labels).toMatchObject({ 'tekton.dev/pipelineRun': pipelineRun.metadata.name, 'tekton.dev/taskRun': taskRun.metadata.name });

    await deleteOwnerObject(kc, namespace, OWNER_API.pipelineRun, pipelineRun.metadata.name);
    await ownerGone(OWNER_API.taskRun, taskRun.metadata.name);
    await podGone(pod.metadata.name);
  }, 120_000);

  test('JobSet → Job → Pod (the pod made by the job controller): the JobSet deleted, its Job and the pod are collected', async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    const jobSet = await createOwnerObject(kc, namespace, OWNER_API.jobSet, jobSetBody(randomName('train')));
    const job = await createJobOf(kc, namespace, jobSetJobBody(jobSet));
    expect(job.metadata.name).toBe(`${jobSet.metadata.name}-workers-0`);
    const pod = await eventually(
      async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata.uid}` });
        const first = pods.items[0];
        if (first === undefined) throw new Error('the job controller has not made the pod yet');
        return first;
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(controllerOf(pod)).toEqual([ref(job)]);
    expect(pod.metadata?.labels).toMatchObject({ 'jobset.sigs.k8s.io/jobset-name': jobSet.metadata.name });

    await deleteOwnerObject(kc, namespace, OWNER_API.jobSet, jobSet.metadata.name);
    await eventually(() => isGone(() => batch.readNamespacedJob({ name: job.metadata.name, namespace })), { timeout: GC_TIMEOUT, interval: 200 });
    await podGone(pod.metadata?.name ?? '');
  }, 120_000);
});
