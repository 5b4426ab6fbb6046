/**
 * Objects of the batch systems (JobSet, Argo Workflows, Tekton), built as their controllers build
 * them: the names, labels and ownerReferences their code sets (docs/owners.md cites it). No
 * controller of those systems runs in the tests; the test creates each object as the controller
 * would, and the control plane's real garbage collector and job controller do the rest.
 */
import { createHash } from 'node:crypto';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Job, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import { randomName } from './kube.js';

/** Where each kind is served (its storage version, which discovery prefers). */
export const OWNER_API = {
  jobSet: { group: 'jobset.x-k8s.io', version: 'v1alpha2', plural: 'jobsets', kind: 'JobSet' },
  workflow: { group: 'argoproj.io', version: 'v1alpha1', plural: 'workflows', kind: 'Workflow' },
  cronWorkflow: { group: 'argoproj.io', version: 'v1alpha1', plural: 'cronworkflows', kind: 'CronWorkflow' },
  pipelineRun: { group: 'tekton.dev', version: 'v1', plural: 'pipelineruns', kind: 'PipelineRun' },
  taskRun: { group: 'tekton.dev', version: 'v1', plural: 'taskruns', kind: 'TaskRun' },
} as const;

export type OwnerApi = (typeof OWNER_API)[keyof typeof OWNER_API];

/** An object as the API server returned it: enough to reference it. */
export interface Created {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid: string };
}

export interface Body {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: V1OwnerReference[] };
  readonly [field: string]: unknown;
}

/** `metav1.NewControllerRef` (and controller-runtime's SetControllerReference, knative's kmeta.NewControllerRef): controller and blockOwnerDeletion. */
export function controllerRef(owner: Created): V1OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

function created(raw: unknown, what: string): Created {
  const o = raw as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; uid?: unknown } } | null;
  const m = o?.metadata;
  if (typeof o?.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof m?.name !== 'string' || typeof m.namespace !== 'string' || typeof m.uid !== 'string') {
    throw new Error(`creating ${what} returned no usable object`);
  }
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: m.name, namespace: m.namespace, uid: m.uid } };
}

/** Creates an object of one of the batch kinds. */
export async function createOwnerObject(kc: KubeConfig, namespace: string, api: OwnerApi, body: Body): Promise<Created> {
  const { group, version, plural } = api;
  return created(await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group, version, plural, namespace, body }), `${api.kind} ${body.metadata.name}`);
}

/** Deletes one, in the background (the default for custom resources): the garbage collector removes its dependents. */
export async function deleteOwnerObject(kc: KubeConfig, namespace: string, api: OwnerApi, name: string): Promise<void> {
  const { group, version, plural } = api;
  await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({ group, version, plural, namespace, name, propagationPolicy: 'Background' });
}

export async function readOwnerObject(kc: KubeConfig, namespace: string, api: OwnerApi, name: string): Promise<unknown> {
  const { group, version, plural } = api;
  return kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group, version, plural, namespace, name });
}

const apiVersionOf = (api: OwnerApi): string => `${api.group}/${api.version}`;

const container = { name: 'main', image: 'busybox', command: ['true'] };

// ---- JobSet (sigs.k8s.io/jobset v0.10.1) ----

/** A JobSet with one replicated Job of `replicas` Jobs. */
export function jobSetBody(name: string, mods: { replicatedJob?: string; replicas?: number; suspend?: boolean } = {}): Body {
  return {
    apiVersion: apiVersionOf(OWNER_API.jobSet),
    kind: OWNER_API.jobSet.kind,
    metadata: { name },
    spec: {
      ...(mods.suspend === undefined ? {} : { suspend: mods.suspend }),
      replicatedJobs: [
        {
          name: mods.replicatedJob ?? 'workers',
          replicas: mods.replicas ?? 1,
          template: { spec: { parallelism: 1, completions: 1, backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [container] } } } },
        },
      ],
    },
  };
}

/**
 * The Job the JobSet controller makes for replicated Job `rjob`, index `index` (constructJob in
 * pkg/controllers/jobset_controller.go): named `<jobset>-<rjob>-<index>`, the JobSet labels and
 * annotations on the Job and its pod template, suspended as the JobSet is, and controlled by the
 * JobSet (SetControllerReference). The built-in job controller then makes its pods.
 */
export function jobSetJobBody(jobSet: Created, mods: { replicatedJob?: string; index?: number; suspend?: boolean } = {}): V1Job {
  const rjob = mods.replicatedJob ?? 'workers';
  const index = mods.index ?? 0;
  const jobName = `${jobSet.metadata.name}-${rjob}-${index}`;
  const labels = {
    'jobset.sigs.k8s.io/jobset-name': jobSet.metadata.name,
    'jobset.sigs.k8s.io/jobset-uid': jobSet.metadata.uid,
    'jobset.sigs.k8s.io/replicatedjob-name': rjob,
    'jobset.sigs.k8s.io/replicatedjob-replicas': '1',
    'jobset.sigs.k8s.io/global-replicas': '1',
    'jobset.sigs.k8s.io/job-index': String(index),
    'jobset.sigs.k8s.io/job-global-index': String(index),
    'jobset.sigs.k8s.io/group-name': 'default',
    'jobset.sigs.k8s.io/group-replicas': '1',
    'jobset.sigs.k8s.io/job-group-index': String(index),
    'jobset.sigs.k8s.io/restart-attempt': '0',
    'jobset.sigs.k8s.io/job-key': createHash('sha1').update(`${jobSet.metadata.namespace}/${jobName}`).digest('hex'),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName, labels, annotations: { ...labels }, ownerReferences: [controllerRef(jobSet)] },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 0,
      suspend: mods.suspend ?? false,
      template: { metadata: { labels, annotations: { ...labels } }, spec: { restartPolicy: 'Never', containers: [container] } },
    },
  };
}

export async function createJobOf(kc: KubeConfig, namespace: string, body: V1Job): Promise<Created> {
  return created(await kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body }), `Job ${body.metadata?.name ?? ''}`);
}

// ---- Argo Workflows (github.com/argoproj/argo-workflows/v3 v3.6.5) ----

/**
 * A Workflow with one container template `main`. Run by a CronWorkflow, it is what
 * ConvertCronWorkflowToWorkflowWithProperties (workflow/common/convert.go) makes: named
 * `<cron>-<scheduled unix seconds>`, labelled `workflows.argoproj.io/cron-workflow`, annotated
 * with the scheduled time, and controlled by the CronWorkflow.
 */
export function workflowBody(name: string, mods: { cronWorkflow?: Created; scheduledTime?: Date } = {}): Body {
  const cron = mods.cronWorkflow;
  const scheduled = mods.scheduledTime ?? new Date();
  return {
    apiVersion: apiVersionOf(OWNER_API.workflow),
    kind: OWNER_API.workflow.kind,
    metadata: {
      name,
      ...(cron === undefined
        ? {}
        : {
            labels: { 'workflows.argoproj.io/cron-workflow': cron.metadata.name },
            annotations: { 'workflows.argoproj.io/scheduled-time': scheduled.toISOString().replace(/\.\d{3}Z$/, 'Z') },
            ownerReferences: [controllerRef(cron)],
          }),
    },
    spec: { entrypoint: 'main', templates: [{ name: 'main', container }] },
  };
}

/** `getChildWorkflowName` (workflow/cron/operator.go): `<cron>-<unix seconds>`. */
export function cronWorkflowRunName(cronWorkflow: string, scheduledTime: Date): string {
  return `${cronWorkflow}-${Math.floor(scheduledTime.getTime() / 1000)}`;
}

/** A CronWorkflow: `spec.schedules` (v3.6), optional time zone and suspend. */
export function cronWorkflowBody(name: string, mods: { schedules?: string[]; schedule?: string; timezone?: string; suspend?: boolean } = {}): Body {
  return {
    apiVersion: apiVersionOf(OWNER_API.cronWorkflow),
    kind: OWNER_API.cronWorkflow.kind,
    metadata: { name },
    spec: {
      ...(mods.schedule === undefined ? { schedules: mods.schedules ?? ['0 3 * * *'] } : { schedule: mods.schedule }),
      ...(mods.timezone === undefined ? {} : { timezone: mods.timezone }),
      ...(mods.suspend === undefined ? {} : { suspend: mods.suspend }),
      workflowSpec: { entrypoint: 'main', templates: [{ name: 'main', container }] },
    },
  };
}

/**
 * A Workflow's pod for template `template` (createWorkflowPod in workflow/controller/workflowpod.go):
 * named `<workflow>-<template>-<fnv hash of the node name>`, labelled with the workflow and
 * `completed: false`, annotated with the node, controlled by the Workflow.
 */
export function workflowPodBody(workflow: Created, template = 'main'): V1Pod {
  const nodeName = `${workflow.metadata.name}[0].${template}`;
  return {
    metadata: {
      name: `${workflow.metadata.name}-${template}-${fnv32a(nodeName)}`,
      labels: { 'workflows.argoproj.io/workflow': workflow.metadata.name, 'workflows.argoproj.io/completed': 'false' },
      annotations: { 'workflows.argoproj.io/node-name': nodeName, 'workflows.argoproj.io/node-id': `${workflow.metadata.name}-${fnv32a(nodeName)}` },
      ownerReferences: [controllerRef(workflow)],
    },
    spec: { restartPolicy: 'Never', containers: [container] },
  };
}

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

// ---- Tekton (github.com/tektoncd/pipeline v1.0.0) ----

/** A PipelineRun of an embedded pipeline with one task per name in `tasks`. */
export function pipelineRunBody(name: string, tasks: readonly string[] = ['build']): Body {
  return {
    apiVersion: apiVersionOf(OWNER_API.pipelineRun),
    kind: OWNER_API.pipelineRun.kind,
    metadata: { name },
    spec: { pipelineSpec: { tasks: tasks.map((t) => ({ name: t, taskSpec: { steps: [{ name: 'step', image: 'busybox', script: 'true' }] } })) } },
  };
}

/**
 * The TaskRun a PipelineRun makes for pipeline task `task` (createTaskRun in
 * pkg/reconciler/pipelinerun/pipelinerun.go): named `<pipelinerun>-<task>`, labelled with the
 * pipeline run and task, controlled by the PipelineRun.
 */
export function taskRunBody(pipelineRun: Created, task = 'build'): Body {
  return {
    apiVersion: apiVersionOf(OWNER_API.taskRun),
    kind: OWNER_API.taskRun.kind,
    metadata: {
      name: `${pipelineRun.metadata.name}-${task}`,
      labels: {
        'tekton.dev/pipeline': pipelineRun.metadata.name,
        'tekton.dev/pipelineRun': pipelineRun.metadata.name,
        'tekton.dev/pipelineRunUID': pipelineRun.metadata.uid,
        'tekton.dev/pipelineTask': task,
      },
      ownerReferences: [controllerRef(pipelineRun)],
    },
    spec: { taskSpec: { steps: [{ name: 'step', image: 'busybox', script: 'true' }] } },
  };
}

/** A TaskRun of its own (no PipelineRun). */
export function standaloneTaskRunBody(name: string): Body {
  return {
    apiVersion: apiVersionOf(OWNER_API.taskRun),
    kind: OWNER_API.taskRun.kind,
    metadata: { name },
    spec: { taskSpec: { steps: [{ name: 'step', image: 'busybox', script: 'true' }] } },
  };
}

/**
 * A TaskRun's pod (MakePod in pkg/pod/pod.go): named `<taskrun>-pod`, the TaskRun's labels plus
 * `tekton.dev/taskRun` and `tekton.dev/taskRunUID`, controlled by the TaskRun.
 */
export function taskRunPodBody(taskRun: Created, labels: Readonly<Record<string, string>> = {}): V1Pod {
  return {
    metadata: {
      name: `${taskRun.metadata.name}-pod`,
      labels: { ...labels, 'app.kubernetes.io/managed-by': 'tekton-pipelines', 'tekton.dev/taskRun': taskRun.metadata.name, 'tekton.dev/taskRunUID': taskRun.metadata.uid },
      ownerReferences: [controllerRef(taskRun)],
    },
    spec: { restartPolicy: 'Never', containers: [{ ...container, name: 'step-step' }] },
  };
}

// ---- Pods ----

/** Creates a pod (a controller's, or a bare one) and returns it as created. */
export async function createPod(kc: KubeConfig, namespace: string, body: V1Pod): Promise<Created> {
  const pod = await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body });
  return created({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, `Pod ${body.metadata?.name ?? ''}`);
}

/**
 * A bare pod as Airflow's KubernetesPodOperator starts it (operators/pod.py): no owner, labelled
 * with the DAG, task, run and try (label-safe values).
 */
export function airflowPodBody(dag: string, task: string, mods: { runId?: string; annotations?: Record<string, string> } = {}): V1Pod {
  return {
    metadata: {
      name: `${task.replace(/_/g, '-')}-${randomName('').slice(1)}`,
      labels: {
        dag_id: dag,
        task_id: task,
        run_id: (mods.runId ?? 'scheduled__2026-12-01T0300000000-1a2b3c4d5').slice(0, 63),
        kubernetes_pod_operator: 'True',
        try_number: '1',
      },
      ...(mods.annotations === undefined ? {} : { annotations: mods.annotations }),
    },
    spec: { restartPolicy: 'Never', containers: [{ ...container, name: 'base' }] },
  };
}
