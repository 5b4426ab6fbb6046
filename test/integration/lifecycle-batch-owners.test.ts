/**
 * Every batch owner on a real control plane (docs/owners.md): pushes from the pods of Argo
 * Workflows and CronWorkflows, Tekton PipelineRuns, JobSets, bare pods and Indexed Jobs, with
 * Lethe configured for their kinds and the real CRDs at their pinned versions installed. Objects
 * are created with the ownerReferences their controllers set (no controller of those systems
 * runs); the real garbage collector removes the dependents of a deleted owner, and the real job
 * controller runs the JobSet's Job. A configured kind whose CRD is missing is reported and
 * changes nothing for the others.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import {
  OWNER_API,
  airflowPodBody,
  createJobOf,
  createOwnerObject,
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
  type Created,
} from '../harness/batch-owners.js';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { installFixtureCrds } from '../harness/owner-crds.js';
import {
  TIMEOUT,
  body,
  createMetricsGroup,
  deletedCount,
  deletionEvents,
  freshIp,
  hasSeries,
  podWithIp,
  push,
  scrape,
  setPodIp,
  startTestLethe,
  untilPodKnown,
  untilReady,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

const RUNS = ['workflows.argoproj.io', 'pipelineruns.tekton.dev', 'taskruns.tekton.dev', 'jobsets.jobset.x-k8s.io', 'rayjobs.ray.io'];
const SCHEDULES = ['cronworkflows.argoproj.io'];
const GC_TIMEOUT = 60_000;

/** The /api/v1/groups entry of the group with this label value. */
async function groupDoc(port: number, marker: string): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/groups`);
  const doc = (await res.json()) as { data: { groups: (Record<string, unknown> & { labels: Record<string, string> })[] } };
  return doc.data.groups.find((g) => Object.values(g.labels).includes(marker));
}

describe('lifecycle: batch owners', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    await installFixtureCrds(kc, ['argo-workflows', 'tekton', 'jobset']);
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG'], [`--lifecycle.run-kinds=${RUNS.join(',')}`, `--lifecycle.schedule-kinds=${SCHEDULES.join(',')}`]);
    await untilReady(lethe);
    await eventually(() => lethe.kube!.ownerKinds.reports().every((r) => r.name === 'rayjobs.ray.io' || (r.state === 'watching' && r.synced && r.healthy)), { timeout: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await lethe.stop();
  }, TIMEOUT);

  beforeEach(async () => {
    namespace = await createTestNamespace(kc, 'lethe-batch');
  }, TIMEOUT);

  afterEach(async () => {
    await deleteTestNamespace(kc, namespace);
  });

  /** Pushes `grouping` from a new pod built from `podBody`, waits until the group is owned as `owned` says, and scrapes it. */
  async function pushFrom(podBody: Parameters<typeof podWithIp>[2], grouping: string, owned: (owner: { kind: string; uid: string } | undefined) => boolean): Promise<void> {
    const ip = freshIp();
    await podWithIp(kc, namespace, podBody, ip, lethe);
    expect(await push(lethe.port, grouping, body(), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, grouping.split('/').at(-1) ?? '', (g) => owned(g.owner));
    await scrape(lethe.port);
  }

  /** Lethe's deletion Events in the namespace, once there is one. */
  const eventsOf = (ns: string) =>
    eventually(async () => {
      const e = await deletionEvents(kc, ns);
      if (e.length === 0) throw new Error('no Event yet');
      return e;
    });
  const ownedBy = (o: Created) => (owner: { kind: string; uid: string } | undefined) => owner?.kind === o.kind && owner.uid === o.metadata.uid;
  const series = async (labels: Record<string, string>) => hasSeries(await scrape(lethe.port), 'work_done', labels);
  const ownerGone = (uid: string) => eventually(() => lethe.kube!.view.snapshot().owners.get(uid) === undefined, { timeout: GC_TIMEOUT });

  test("Workflow deleted: its pod's groups go (run-deleted), with an Event on the Workflow", async () => {
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(randomName('etl')));
    const pod = workflowPodBody(workflow);
    await pushFrom(pod, `etl/ns/${namespace}/run/w1`, ownedBy(workflow));
    const shown = await eventually(async () => {
      const g = await groupDoc(lethe.port, 'w1');
      if ((g?.['insight'] as { ownerAlive?: boolean } | null)?.ownerAlive !== true) throw new Error('no insight yet');
      return g;
    });
    expect(shown?.['run']).toMatchObject({ group: 'argoproj.io', kind: 'Workflow', name: workflow.metadata.name, uid: workflow.metadata.uid, schedule: null });
    const before = await deletedCount(lethe, 'run-deleted');

    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, workflow.metadata.name);
    await eventually(async () => !(await series({ run: 'w1' })), { timeout: GC_TIMEOUT });
    expect(await deletedCount(lethe, 'run-deleted')).toBe(before + 1);
    // The garbage collector removes the Workflow's pod.
    await eventually(() => isGone(() => core.readNamespacedPod({ name: pod.metadata!.name!, namespace })), { timeout: GC_TIMEOUT });
    expect(await eventsOf(namespace)).toEqual([['run-deleted', `Workflow/${workflow.metadata.name}`, expect.stringContaining(`Deleted 1 metric group after Workflow ${namespace}/${workflow.metadata.name} was deleted`)]]);
  }, TIMEOUT);

  test("CronWorkflow runs: a deleted run's group stays while no newer run pushed, goes once one has (run-superseded); the CronWorkflow deleted, the rest go", async () => {
    const cron = await createOwnerObject(kc, namespace, OWNER_API.cronWorkflow, cronWorkflowBody(randomName('nightly'), { schedules: ['0 3 * * *'] }));
    const runOf = async (scheduled: Date): Promise<Created> =>
      createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(cronWorkflowRunName(cron.metadata.name, scheduled), { cronWorkflow: cron, scheduledTime: scheduled }));
    const first = await runOf(new Date(Date.UTC(2026, 11, 1, 3)));
    await pushFrom(workflowPodBody(first), `nightly/ns/${namespace}/run/r1`, ownedBy(first));
    await waitForGroup(lethe, 'r1', (g) => g.owner?.schedule?.uid === cron.metadata.uid && g.owner.schedule.kind === 'CronWorkflow');

    // Without a newer run: the run's deletion leaves its group.
    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, first.metadata.name);
    await ownerGone(first.metadata.uid);
    await consistently(async () => series({ run: 'r1' }), { duration: 2_000 });

    // A newer run pushes: the deleted run's group goes.
    const second = await runOf(new Date(Date.UTC(2026, 11, 2, 3)));
    const before = await deletedCount(lethe, 'run-superseded');
    await pushFrom(workflowPodBody(second), `nightly/ns/${namespace}/run/r2`, ownedBy(second));
    await eventually(async () => !(await series({ run: 'r1' })), { timeout: 15_000 });
    expect(await series({ run: 'r2' })).toBe(true);
    expect(await deletedCount(lethe, 'run-superseded')).toBe(before + 1);
    expect(await eventsOf(namespace)).toEqual([['run-superseded', `CronWorkflow/${cron.metadata.name}`, expect.stringContaining('of deleted runs of CronWorkflow')]]);

    // The CronWorkflow deleted (the garbage collector takes its Workflow): its runs' groups go.
    await deleteOwnerObject(kc, namespace, OWNER_API.cronWorkflow, cron.metadata.name);
    await eventually(async () => !(await series({ run: 'r2' })), { timeout: GC_TIMEOUT });
    expect(lethe.logs.some((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'schedule-deleted' && String(l['groupingKey']).includes('"r2"'))).toBe(true);
  }, TIMEOUT);

  test("PipelineRun → TaskRun → Pod: the group belongs to the PipelineRun, and goes with it", async () => {
    const pipelineRun = await createOwnerObject(kc, namespace, OWNER_API.pipelineRun, pipelineRunBody(randomName('ci'), ['build']));
    const taskRunObject = taskRunBody(pipelineRun, 'build');
    const taskRun = await createOwnerObject(kc, namespace, OWNER_API.taskRun, taskRunObject);
    await pushFrom(taskRunPodBody(taskRun, taskRunObject.metadata.labels), `ci/ns/${namespace}/run/p1`, ownedBy(pipelineRun));
    expect([...lethe.store.groups()].find((g) => g.key.labels.some((l) => l.value === 'p1'))?.attribution.run).toEqual({
      group: 'tekton.dev',
      kind: 'PipelineRun',
      name: pipelineRun.metadata.name,
      uid: pipelineRun.metadata.uid,
    });

    await deleteOwnerObject(kc, namespace, OWNER_API.pipelineRun, pipelineRun.metadata.name);
    await eventually(async () => !(await series({ run: 'p1' })), { timeout: GC_TIMEOUT });
    await eventually(() => isGone(() => core.readNamespacedPod({ name: `${taskRun.metadata.name}-pod`, namespace })), { timeout: GC_TIMEOUT });
  }, TIMEOUT);

  test('JobSet → Job → Pod (made by the job controller): the group belongs to the JobSet, and goes with it', async () => {
    const jobSet = await createOwnerObject(kc, namespace, OWNER_API.jobSet, jobSetBody(randomName('train')));
    const job = await createJobOf(kc, namespace, jobSetJobBody(jobSet));
    const pod = await eventually(
      async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata.uid}` });
        const first = pods.items[0];
        if (first === undefined) throw new Error('the job controller has not made the pod yet');
        return first;
      },
      { timeout: 30_000, interval: 200 },
    );
    const ip = freshIp();
    await setPodIp(kc, namespace, pod.metadata!.name!, ip);
    await untilPodKnown(lethe, ip);
    expect(await push(lethe.port, `train/ns/${namespace}/run/j1`, body(), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, 'j1', (g) => g.owner?.kind === 'JobSet' && g.owner.uid === jobSet.metadata.uid);
    await scrape(lethe.port);

    await deleteOwnerObject(kc, namespace, OWNER_API.jobSet, jobSet.metadata.name);
    await eventually(async () => !(await series({ run: 'j1' })), { timeout: GC_TIMEOUT });
    expect(lethe.logs.some((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'run-deleted' && String(l['groupingKey']).includes('"j1"'))).toBe(true);
  }, TIMEOUT);

  test('bare pods: deleted, its groups go once scraped; with a schedule key, they stay until a newer pod of the key pushed', async () => {
    // Airflow's KubernetesPodOperator: a bare pod per try.
    const plain = airflowPodBody('etl', 'load');
    const ip = freshIp();
    const created = await podWithIp(kc, namespace, plain, ip, lethe);
    expect(await push(lethe.port, `load/ns/${namespace}/try/t1`, body(), { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, 't1', (g) => g.owner?.kind === 'Pod' && g.owner.uid === created.metadata!.uid);
    await core.deleteNamespacedPod({ name: created.metadata!.name!, namespace, gracePeriodSeconds: 0 });
    // Not scraped yet: the deletion waits for Prometheus (at most --lifecycle.max-grace).
    await eventually(async () => ((await groupDoc(lethe.port, 't1'))?.['insight'] as { nextDeletion?: { reason?: string } | null } | null)?.nextDeletion?.reason === 'run-deleted');
    await consistently(() => [...lethe.store.groups()].some((g) => g.key.labels.some((l) => l.value === 't1')), { duration: 1_500 });
    await scrape(lethe.port);
    await eventually(async () => !(await series({ try: 't1' })), { timeout: 15_000 });
    expect(await eventsOf(namespace)).toEqual([['run-deleted', `Pod/${created.metadata!.name!}`, expect.stringContaining(`after Pod ${namespace}/${created.metadata!.name!} was deleted`)]]);

    // With lethe.dev/schedule-key (the DAG and task), a try's groups stay until a newer try pushed.
    const keyed = (): ReturnType<typeof airflowPodBody> => airflowPodBody('etl', 'load', { annotations: { 'lethe.dev/schedule-key': 'etl.load' } });
    const second = keyed();
    await pushFrom(second, `load/ns/${namespace}/try/t2`, (o) => o?.kind === 'Pod');
    await waitForGroup(lethe, 't2', (g) => g.owner?.scheduleKey === 'etl.load');
    await core.deleteNamespacedPod({ name: second.metadata!.name!, namespace, gracePeriodSeconds: 0 });
    await eventually(() => isGone(() => core.readNamespacedPod({ name: second.metadata!.name!, namespace })));
    await consistently(async () => series({ try: 't2' }), { duration: 2_000 });
    const third = keyed();
    await pushFrom(third, `load/ns/${namespace}/try/t3`, (o) => o?.kind === 'Pod');
    await eventually(async () => !(await series({ try: 't2' })), { timeout: 15_000 });
    expect(await series({ try: 't3' })).toBe(true);
    expect(lethe.logs.some((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'run-superseded' && String(l['groupingKey']).includes('"t2"'))).toBe(true);
  }, TIMEOUT);

  test('an Indexed Job of 3 indexes under keepLast 2: every group of the newest two runs stays, the oldest run\'s go', async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    const cron = await batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'train', annotations: { 'lethe.dev/keep-last': '2' } },
        spec: { schedule: '0 0 1 1 *', suspend: true, jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } } } },
      },
    });
    const indexedRun = async (n: number): Promise<V1Job> =>
      batch.createNamespacedJob({
        namespace,
        body: {
          metadata: { name: `train-${n}`, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'train', uid: cron.metadata!.uid!, controller: true, blockOwnerDeletion: true }] },
          spec: {
            completionMode: 'Indexed',
            completions: 3,
            parallelism: 3,
            backoffLimit: 0,
            // Not the job controller's (the test makes the pods, one per completion index).
            managedBy: 'lethe.dev/test-harness',
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
          },
        },
      });
    for (const n of [1, 2, 3]) {
      const job = await indexedRun(n);
      for (const index of [0, 1, 2]) {
        const labels = { ...(job.spec?.selector?.matchLabels ?? {}), 'batch.kubernetes.io/job-completion-index': String(index) };
        const pod = {
          metadata: {
            name: `train-${n}-${index}-${randomName('p').slice(2, 7)}`,
            labels,
            annotations: { 'batch.kubernetes.io/job-completion-index': String(index) },
            ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
          },
          spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
        };
        await pushFrom(pod, `train/ns/${namespace}/run/${n}/index/i${n}${index}`, (o) => o?.uid === job.metadata!.uid);
      }
    }
    const groupsOfRun = (n: number) => [0, 1, 2].map((index) => ({ run: String(n), index: `i${n}${index}` }));
    await eventually(async () => {
      const text = await scrape(lethe.port);
      return groupsOfRun(1).every((l) => !hasSeries(text, 'work_done', l));
    }, { timeout: 15_000 });
    await consistently(async () => {
      const text = await scrape(lethe.port);
      return [...groupsOfRun(2), ...groupsOfRun(3)].every((l) => hasSeries(text, 'work_done', l));
    }, { duration: 2_000 });
    expect(lethe.logs.filter((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'keep-last-exceeded' && String(l['groupingKey']).includes(namespace))).toHaveLength(3);
    // Each group shows its run: the Job of its completion index.
    expect((await groupDoc(lethe.port, 'i32'))?.['run']).toMatchObject({ kind: 'Job', name: 'train-3', schedule: { kind: 'CronJob', name: 'train' } });
  }, TIMEOUT);

  test("a MetricsGroup's ownerRef to a Workflow (by UID): the Workflow deleted, the groups it selects go", async () => {
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(randomName('report')));
    await createMetricsGroup(kc, namespace, 'reports', {
      selector: { matchLabels: { job: 'reports' } },
      ownerRef: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', name: workflow.metadata.name, uid: workflow.metadata.uid },
    });
    await eventually(() => [...lethe.kube!.view.snapshot().metricsGroups.values()].some((m) => m.namespace === namespace && m.ownerRef?.uid === workflow.metadata.uid));
    await pushFrom(airflowPodBody('reports', 'send'), `reports/ns/${namespace}/day/d1`, (o) => o?.kind === 'MetricsGroup');

    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, workflow.metadata.name);
    await eventually(async () => !(await series({ day: 'd1' })), { timeout: GC_TIMEOUT });
    expect(lethe.logs.some((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'run-deleted' && String(l['groupingKey']).includes('"d1"'))).toBe(true);
  }, TIMEOUT);

  test('a configured kind whose CRD is not installed is reported (status, metric) and stops nothing else', async () => {
    const res = await fetch(`http://127.0.0.1:${lethe.port}/api/v1/status`);
    const status = (await res.json()) as { data: { problems: { reason: string; message: string; failsReadiness: boolean }[]; ownerKinds: { name: string; state: string; role: string }[] } };
    expect(status.data.ownerKinds).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'rayjobs.ray.io', role: 'run', state: 'absent' })]));
    expect(status.data.ownerKinds).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'workflows.argoproj.io', state: 'watching', kind: 'Workflow', apiVersion: 'argoproj.io/v1alpha1' })]));
    expect(status.data.problems).toEqual(
      expect.arrayContaining([{ reason: 'OwnerKindMissing', message: expect.stringMatching(/^rayjobs\.ray\.io \(run kind\) is absent: the API group ray\.io is not served/), failsReadiness: false }]),
    );
    const metric = await lethe.registry.getSingleMetric('lethe_owner_kind_state')?.get();
    expect(metric?.values.find((v) => v.labels['resource'] === 'rayjobs.ray.io' && v.labels['state'] === 'absent')?.value).toBe(1);
    expect(lethe.loop.gates()).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${lethe.port}/-/ready`)).status).toBe(200);

    // Deletions of the other kinds go on.
    const workflow = await createOwnerObject(kc, namespace, OWNER_API.workflow, workflowBody(randomName('still')));
    await pushFrom(workflowPodBody(workflow), `still/ns/${namespace}/run/s1`, ownedBy(workflow));
    await deleteOwnerObject(kc, namespace, OWNER_API.workflow, workflow.metadata.name);
    await eventually(async () => !(await series({ run: 's1' })), { timeout: GC_TIMEOUT });
  }, TIMEOUT);
});
