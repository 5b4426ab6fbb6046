/**
 * Owner chains as the batch systems' controllers build them (docs/owners.md has the sources):
 * each row is a cluster (objects by UID), the configured kinds, the pushing pod, and the run and
 * schedule Lethe must find.
 */
import { describe, expect, test } from '@jest/globals';
import {
  groupOfApiVersion,
  ownerChainRules,
  resolveOwnerChain,
  type ChainEnd,
  type ChainLink,
  type ChainObject,
  type OwnerReference,
} from '../../../src/lifecycle/index.js';
import type { ObjectKind } from '../../../src/model/index.js';

const NS = 'team-a';

interface Kind {
  readonly apiVersion: string;
  readonly kind: string;
}

const K = {
  pod: { apiVersion: 'v1', kind: 'Pod' },
  replicaSet: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  job: { apiVersion: 'batch/v1', kind: 'Job' },
  cronJob: { apiVersion: 'batch/v1', kind: 'CronJob' },
  jobSet: { apiVersion: 'jobset.x-k8s.io/v1alpha2', kind: 'JobSet' },
  trainJob: { apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob' },
  workflow: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow' },
  cronWorkflow: { apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow' },
  pipelineRun: { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun' },
  taskRun: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun' },
  customRun: { apiVersion: 'tekton.dev/v1beta1', kind: 'CustomRun' },
  sparkApp: { apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication' },
  scheduledSparkApp: { apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'ScheduledSparkApplication' },
  rayJob: { apiVersion: 'ray.io/v1', kind: 'RayJob' },
  rayCluster: { apiVersion: 'ray.io/v1', kind: 'RayCluster' },
  queue: { apiVersion: 'example.dev/v1', kind: 'Queue' },
} as const satisfies Record<string, Kind>;

const key = (k: Kind): ObjectKind => ({ group: groupOfApiVersion(k.apiVersion), kind: k.kind });

/** A UID for `kind` `name`: the same name may be used by objects of several kinds (a TrainJob and its JobSet). */
const uid = (kind: Kind, name: string): string => `${kind.kind}/${name}`;

/** An object `name`, owned through the given references. */
function obj(kind: Kind, name: string, ...owners: OwnerReference[]): ChainObject {
  return { uid: uid(kind, name), group: groupOfApiVersion(kind.apiVersion), kind: kind.kind, namespace: NS, name, ownerReferences: owners };
}

/** A controller reference to `kind` `name`. */
const ctl = (kind: Kind, name: string): OwnerReference => ({ ...kind, name, uid: uid(kind, name), controller: true });
/** A reference that is not the controller (`controller` unset or false). */
const ref = (kind: Kind, name: string): OwnerReference => ({ ...kind, name, uid: uid(kind, name), controller: false });

interface Row {
  /** Every object of the cluster the caches hold, the pod first. Run and schedule are `Kind/name`. */
  readonly objects: readonly ChainObject[];
  readonly runs: readonly Kind[];
  readonly schedules: readonly Kind[];
  readonly run: string | undefined;
  readonly schedule?: string;
  readonly end: ChainEnd;
  readonly complete?: boolean;
  readonly maxDepth?: number;
}

function resolve(row: Row) {
  const byUid = new Map(row.objects.map((o) => [o.uid, o]));
  const pod = row.objects[0];
  if (pod === undefined) throw new Error('a row needs the pod first');
  return resolveOwnerChain(pod, (uid) => byUid.get(uid), ownerChainRules(row.runs.map(key), row.schedules.map(key), row.maxDepth));
}

const rows: Record<string, Row> = {
  // Built-in kinds.
  'a Job pod: the Job is the run': {
    objects: [obj(K.pod, 'backup-x7k2p', ctl(K.job, 'backup')), obj(K.job, 'backup')],
    runs: [], schedules: [], run: 'Job/backup', end: 'top',
  },
  'a CronJob run: the Job is the run, the CronJob its schedule': {
    objects: [obj(K.pod, 'nightly-28911-abcde', ctl(K.job, 'nightly-28911')), obj(K.job, 'nightly-28911', ctl(K.cronJob, 'nightly')), obj(K.cronJob, 'nightly')],
    runs: [], schedules: [], run: 'Job/nightly-28911', schedule: 'CronJob/nightly', end: 'schedule',
  },
  'an Indexed Job: every index pod has the same run': {
    objects: [obj(K.pod, 'shard-2-xyz', ctl(K.job, 'shard')), obj(K.pod, 'shard-0-abc', ctl(K.job, 'shard')), obj(K.job, 'shard')],
    runs: [], schedules: [], run: 'Job/shard', end: 'top',
  },
  'a Job copied to a MultiKueue worker (no ownerReferences): the copy is the run, no schedule': {
    objects: [obj(K.pod, 'nightly-28911-w1', ctl(K.job, 'nightly-28911')), obj(K.job, 'nightly-28911')],
    runs: [], schedules: [], run: 'Job/nightly-28911', end: 'top',
  },
  // Bare pods.
  'a bare pod (Airflow KubernetesPodOperator): its own run': {
    objects: [obj(K.pod, 'etl-load-8f2c')],
    runs: [K.workflow], schedules: [], run: 'Pod/etl-load-8f2c', end: 'top',
  },
  'a pod whose only owner is not configured and not its controller: its own run': {
    objects: [obj(K.pod, 'helper', ref(K.queue, 'q'))],
    runs: [], schedules: [], run: 'Pod/helper', end: 'top',
  },
  "a Deployment's pod: no run (its owner's kind is not watched)": {
    objects: [obj(K.pod, 'web-5d9c-abc', ctl(K.replicaSet, 'web-5d9c'))],
    runs: [K.workflow], schedules: [], run: undefined, end: 'unwatched',
  },
  // JobSet and Kubeflow Trainer.
  'JobSet → Job → Pod: the JobSet is the run, not its Job': {
    objects: [obj(K.pod, 'train-workers-0-0-abc', ctl(K.job, 'train-workers-0')), obj(K.job, 'train-workers-0', ctl(K.jobSet, 'train')), obj(K.jobSet, 'train')],
    runs: [K.jobSet], schedules: [], run: 'JobSet/train', end: 'top',
  },
  'JobSet not configured: its Job is the run (the chain stops at the unwatched JobSet)': {
    objects: [obj(K.pod, 'train-workers-0-0-abc', ctl(K.job, 'train-workers-0')), obj(K.job, 'train-workers-0', ctl(K.jobSet, 'train')), obj(K.jobSet, 'train')],
    runs: [], schedules: [], run: 'Job/train-workers-0', end: 'unwatched',
  },
  'TrainJob → JobSet → Job → Pod: the TrainJob is the run': {
    objects: [
      obj(K.pod, 'llm-node-0-0-abc', ctl(K.job, 'llm-node-0')),
      obj(K.job, 'llm-node-0', ctl(K.jobSet, 'llm')),
      obj(K.jobSet, 'llm', ctl(K.trainJob, 'llm')),
      obj(K.trainJob, 'llm'),
    ],
    runs: [K.trainJob, K.jobSet], schedules: [], run: 'TrainJob/llm', end: 'top',
  },
  // Argo Workflows.
  'Workflow → Pod: the Workflow is the run': {
    objects: [obj(K.pod, 'etl-main-123', ctl(K.workflow, 'etl')), obj(K.workflow, 'etl')],
    runs: [K.workflow], schedules: [K.cronWorkflow], run: 'Workflow/etl', end: 'top',
  },
  'CronWorkflow → Workflow → Pod: the Workflow is the run, the CronWorkflow its schedule': {
    objects: [obj(K.pod, 'nightly-1733-main-9', ctl(K.workflow, 'nightly-1733')), obj(K.workflow, 'nightly-1733', ctl(K.cronWorkflow, 'nightly')), obj(K.cronWorkflow, 'nightly')],
    runs: [K.workflow], schedules: [K.cronWorkflow], run: 'Workflow/nightly-1733', schedule: 'CronWorkflow/nightly', end: 'schedule',
  },
  'CronWorkflow configured, deleted already: the schedule is known from the reference': {
    objects: [obj(K.pod, 'nightly-1733-main-9', ctl(K.workflow, 'nightly-1733')), obj(K.workflow, 'nightly-1733', ctl(K.cronWorkflow, 'nightly'))],
    runs: [K.workflow], schedules: [K.cronWorkflow], run: 'Workflow/nightly-1733', schedule: 'CronWorkflow/nightly', end: 'schedule',
  },
  'a Workflow step that created a Job owned by the Workflow: the Workflow is the run': {
    objects: [obj(K.pod, 'export-abc', ctl(K.job, 'export')), obj(K.job, 'export', ctl(K.workflow, 'etl')), obj(K.workflow, 'etl')],
    runs: [K.workflow], schedules: [], run: 'Workflow/etl', end: 'top',
  },
  // Tekton.
  'PipelineRun → TaskRun → Pod: the PipelineRun is the run': {
    objects: [obj(K.pod, 'ci-build-pod', ctl(K.taskRun, 'ci-build')), obj(K.taskRun, 'ci-build', ctl(K.pipelineRun, 'ci')), obj(K.pipelineRun, 'ci')],
    runs: [K.pipelineRun, K.taskRun], schedules: [], run: 'PipelineRun/ci', end: 'top',
  },
  'a TaskRun of its own: the TaskRun is the run': {
    objects: [obj(K.pod, 'lint-pod', ctl(K.taskRun, 'lint')), obj(K.taskRun, 'lint')],
    runs: [K.pipelineRun, K.taskRun], schedules: [], run: 'TaskRun/lint', end: 'top',
  },
  'TaskRun not configured: no run (the chain stops at the unwatched TaskRun)': {
    objects: [obj(K.pod, 'ci-build-pod', ctl(K.taskRun, 'ci-build')), obj(K.taskRun, 'ci-build', ctl(K.pipelineRun, 'ci')), obj(K.pipelineRun, 'ci')],
    runs: [K.pipelineRun], schedules: [], run: undefined, end: 'unwatched',
  },
  // Spark operator.
  'ScheduledSparkApplication → SparkApplication (not controller) → driver Pod': {
    objects: [obj(K.pod, 'report-17-driver', ctl(K.sparkApp, 'report-17')), obj(K.sparkApp, 'report-17', ref(K.scheduledSparkApp, 'report')), obj(K.scheduledSparkApp, 'report')],
    runs: [K.sparkApp], schedules: [K.scheduledSparkApp], run: 'SparkApplication/report-17', schedule: 'ScheduledSparkApplication/report', end: 'schedule',
  },
  'a Spark executor: driver Pod (controller) → SparkApplication': {
    objects: [
      obj(K.pod, 'report-17-exec-1', ctl(K.pod, 'report-17-driver'), ref(K.sparkApp, 'report-17')),
      obj(K.pod, 'report-17-driver', ctl(K.sparkApp, 'report-17')),
      obj(K.sparkApp, 'report-17', ref(K.scheduledSparkApp, 'report')),
      obj(K.scheduledSparkApp, 'report'),
    ],
    runs: [K.sparkApp], schedules: [K.scheduledSparkApp], run: 'SparkApplication/report-17', schedule: 'ScheduledSparkApplication/report', end: 'schedule',
  },
  'spark-submit without the operator: an executor belongs to the bare driver Pod': {
    objects: [obj(K.pod, 'pi-exec-1', ctl(K.pod, 'pi-driver')), obj(K.pod, 'pi-driver')],
    runs: [K.sparkApp], schedules: [], run: 'Pod/pi-driver', end: 'top',
  },
  // Ray.
  // KubeRay names the RayCluster `<rayjob>-<5 random>` and the submitter Job like the RayJob.
  'RayJob → RayCluster → head Pod: the RayJob is the run': {
    objects: [obj(K.pod, 'rj-x7k2p-head-abcde', ctl(K.rayCluster, 'rj-x7k2p')), obj(K.rayCluster, 'rj-x7k2p', ctl(K.rayJob, 'rj')), obj(K.rayJob, 'rj')],
    runs: [K.rayJob, K.rayCluster], schedules: [], run: 'RayJob/rj', end: 'top',
  },
  'RayJob → submitter Job → Pod: the RayJob is the run': {
    objects: [obj(K.pod, 'rj-abcde', ctl(K.job, 'rj')), obj(K.job, 'rj', ctl(K.rayJob, 'rj')), obj(K.rayJob, 'rj')],
    runs: [K.rayJob, K.rayCluster], schedules: [], run: 'RayJob/rj', end: 'top',
  },
  'RayCluster not configured: a head pod has no run (the chain stops at the unwatched RayCluster)': {
    objects: [obj(K.pod, 'rj-x7k2p-head-abcde', ctl(K.rayCluster, 'rj-x7k2p')), obj(K.rayCluster, 'rj-x7k2p', ctl(K.rayJob, 'rj')), obj(K.rayJob, 'rj')],
    runs: [K.rayJob], schedules: [], run: undefined, end: 'unwatched',
  },
  'a RayCluster of its own: the RayCluster is the run': {
    objects: [obj(K.pod, 'serve-worker-x', ctl(K.rayCluster, 'serve')), obj(K.rayCluster, 'serve')],
    runs: [K.rayJob, K.rayCluster], schedules: [], run: 'RayCluster/serve', end: 'top',
  },
  // Missing owners, schedules without runs, cycles, depth, identity.
  'the Workflow is not in the cache yet: it is the run so far, and the chain is incomplete': {
    objects: [obj(K.pod, 'etl-main-123', ctl(K.workflow, 'etl'))],
    runs: [K.workflow], schedules: [K.cronWorkflow], run: 'Workflow/etl', end: 'missing', complete: false,
  },
  'the Job is gone: the Job is the run so far, incomplete': {
    objects: [obj(K.pod, 'backup-x7k2p', ctl(K.job, 'backup'))],
    runs: [K.jobSet], schedules: [], run: 'Job/backup', end: 'missing', complete: false,
  },
  'a pod right under a schedule: the pod is the schedule\'s run': {
    objects: [obj(K.pod, 'tick-1', ctl(K.cronWorkflow, 'tick')), obj(K.cronWorkflow, 'tick')],
    runs: [K.workflow], schedules: [K.cronWorkflow], run: 'Pod/tick-1', schedule: 'CronWorkflow/tick', end: 'schedule',
  },
  'two non-controller owners of configured kinds: ambiguous, not followed (a bare pod)': {
    objects: [obj(K.pod, 'p', ref(K.workflow, 'a'), ref(K.workflow, 'b')), obj(K.workflow, 'a'), obj(K.workflow, 'b')],
    runs: [K.workflow], schedules: [], run: 'Pod/p', end: 'top',
  },
  'a cycle: the walk stops, with the outermost run so far': {
    objects: [obj(K.pod, 'p', ctl(K.workflow, 'a')), obj(K.workflow, 'a', ctl(K.workflow, 'b')), obj(K.workflow, 'b', ctl(K.workflow, 'a'))],
    runs: [K.workflow], schedules: [], run: 'Workflow/b', end: 'cycle', complete: false,
  },
  'a pod that owns itself': {
    objects: [obj(K.pod, 'p', ctl(K.pod, 'p'))],
    runs: [], schedules: [], run: undefined, end: 'cycle', complete: false,
  },
  'deeper than maxDepth: the walk stops': {
    objects: [obj(K.pod, 'p', ctl(K.workflow, 'w1')), obj(K.workflow, 'w1', ctl(K.workflow, 'w2')), obj(K.workflow, 'w2', ctl(K.workflow, 'w3')), obj(K.workflow, 'w3')],
    runs: [K.workflow], schedules: [], run: 'Workflow/w2', end: 'depth', complete: false, maxDepth: 2,
  },
  'exactly maxDepth hops: complete': {
    objects: [obj(K.pod, 'p', ctl(K.workflow, 'w1')), obj(K.workflow, 'w1', ctl(K.workflow, 'w2')), obj(K.workflow, 'w2')],
    runs: [K.workflow], schedules: [], run: 'Workflow/w2', end: 'top', maxDepth: 2,
  },
  'the UID belongs to an object of another kind: not the owner (missing)': {
    objects: [obj(K.pod, 'p', { ...ctl(K.workflow, 'x'), uid: uid(K.pipelineRun, 'x') }), obj(K.pipelineRun, 'x')],
    runs: [K.workflow, K.pipelineRun], schedules: [], run: 'Workflow/x', end: 'missing', complete: false,
  },
};

describe('resolveOwnerChain', () => {
  test.each(Object.entries(rows))('%s', (_name, row) => {
    const chain = resolve(row);
    const named = (l: ChainLink | undefined) => (l === undefined ? undefined : `${l.kind}/${l.name}`);
    expect({
      run: named(chain.run),
      schedule: named(chain.schedule),
      end: chain.end,
      complete: chain.complete,
    }).toEqual({ run: row.run, schedule: row.schedule, end: row.end, complete: row.complete ?? true });
  });

  test('an owner in another namespace is not the owner, as for the garbage collector', () => {
    const pod = obj(K.pod, 'p', ctl(K.workflow, 'w'));
    const elsewhere: ChainObject = { ...obj(K.workflow, 'w'), namespace: 'team-b' };
    const chain = resolveOwnerChain(pod, (u) => (u === elsewhere.uid ? elsewhere : undefined), ownerChainRules([key(K.workflow)], []));
    expect(chain).toMatchObject({ end: 'missing', complete: false, run: { kind: 'Workflow', name: 'w', found: false } });
  });

  test('a cluster-scoped owner is followed', () => {
    const pod = obj(K.pod, 'p', ctl(K.workflow, 'w'));
    const clusterScoped: ChainObject = { ...obj(K.workflow, 'w'), namespace: '' };
    const chain = resolveOwnerChain(pod, (u) => (u === clusterScoped.uid ? clusterScoped : undefined), ownerChainRules([key(K.workflow)], []));
    expect(chain).toMatchObject({ end: 'top', complete: true, run: { name: 'w', namespace: '', found: true } });
  });

  test('the links are the objects walked, the last one known from its reference when missing', () => {
    const row = rows['the Workflow is not in the cache yet: it is the run so far, and the chain is incomplete'];
    if (row === undefined) throw new Error('row missing');
    expect(resolve(row).links).toEqual([
      { group: '', kind: 'Pod', namespace: NS, name: 'etl-main-123', uid: 'Pod/etl-main-123', found: true },
      { group: 'argoproj.io', kind: 'Workflow', namespace: NS, name: 'etl', uid: 'Workflow/etl', found: false },
    ]);
  });

  test('the run and schedule carry group, kind, namespace, name and UID', () => {
    const row = rows['CronWorkflow → Workflow → Pod: the Workflow is the run, the CronWorkflow its schedule'];
    if (row === undefined) throw new Error('row missing');
    const chain = resolve(row);
    expect(chain.run).toEqual({ group: 'argoproj.io', kind: 'Workflow', namespace: NS, name: 'nightly-1733', uid: 'Workflow/nightly-1733', found: true });
    expect(chain.schedule).toEqual({ group: 'argoproj.io', kind: 'CronWorkflow', namespace: NS, name: 'nightly', uid: 'CronWorkflow/nightly', found: true });
  });
});

describe('helpers', () => {
  test.each([
    ['v1', ''],
    ['batch/v1', 'batch'],
    ['argoproj.io/v1alpha1', 'argoproj.io'],
  ])('groupOfApiVersion(%s) = %j', (apiVersion, group) => {
    expect(groupOfApiVersion(apiVersion)).toBe(group);
  });

  test('ownerChainRules always has Jobs as runs and CronJobs as schedules, once', () => {
    const rules = ownerChainRules([{ group: 'batch', kind: 'Job' }, key(K.workflow)], [key(K.cronWorkflow)]);
    expect(rules.runKinds).toEqual([{ group: 'batch', kind: 'Job' }, { group: 'argoproj.io', kind: 'Workflow' }]);
    expect(rules.scheduleKinds).toEqual([{ group: 'batch', kind: 'CronJob' }, { group: 'argoproj.io', kind: 'CronWorkflow' }]);
  });
});
