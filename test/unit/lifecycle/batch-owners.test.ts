/**
 * decide() with owners of any kind (docs/owners.md): runs and schedules of configured kinds,
 * bare pods and schedule keys, keepLast by run (an Indexed Job's completions), a kind Lethe cannot
 * read, a chain learnt after the push, a MetricsGroup's ownerRef of any kind, and the policy
 * annotations of other kinds. Each row is a cluster snapshot and the groups; the expected lines
 * are what decide() concludes for each group.
 */
import { describe, expect, test } from '@jest/globals';
import { decide, type ClusterSnapshot } from '../../../src/lifecycle/index.js';
import { defaultPolicy, mergePolicy, type GroupView, type PolicyOverrides } from '../../../src/model/index.js';
import {
  MIN,
  NS,
  T0,
  attributed,
  controllerRef,
  cronJob,
  fromJob,
  group,
  job,
  metricsGroup,
  ownedBy,
  ownerObject,
  ownerRef,
  pod,
  pushedAt,
  refTo,
  runOf,
  selector,
  snapshot,
  summarize,
  unscraped,
} from './builders.js';

interface Row {
  groups: GroupView[];
  snap: ClusterSnapshot;
  defaults?: PolicyOverrides;
  expected: string[];
}

const run = (row: Row): string[] =>
  decide({ groups: row.groups, snapshot: row.snap, defaults: mergePolicy(defaultPolicy, row.defaults), now: T0 }).decisions.map((d) => summarize(d, T0));

const argo = { runKinds: ['Workflow' as const], scheduleKinds: ['CronWorkflow' as const] };
const wfOwner = (name: string, cron?: string, resolvedFor = T0 - MIN) =>
  ownerRef('Workflow', name, { resolvedFor, ...(cron === undefined ? {} : { schedule: refTo('CronWorkflow', cron) }) });
const podOwner = (name: string, scheduleKey?: string, resolvedFor = T0 - MIN) =>
  ownerRef('Pod', name, { resolvedFor, ...(scheduleKey === undefined ? {} : { scheduleKey }) });
const fromPod = (name: string, scheduleKey?: string) =>
  attributed({ source: 'pod-ip', namespace: NS, namespaceUid: 'ns-uid-a', pod: name, podUid: `${name}-uid`, run: refTo('Pod', name), ...(scheduleKey === undefined ? {} : { scheduleKey }) });

const rows: Record<string, Row> = {
  // Argo Workflows (runs) and CronWorkflows (schedules).
  'a push from a Workflow pod is owned by the Workflow': {
    groups: [group('etl', '', fromJob('etl-1', undefined, 'Workflow'))],
    snap: snapshot({ ...argo, owners: [ownerObject('Workflow', 'etl-1')] }),
    expected: ['etl: keep (owner Workflow/etl-1, changed)'],
  },
  'Workflow deleted: its groups go (run-deleted)': {
    groups: [group('etl', '', fromJob('etl-1', undefined, 'Workflow'), ownedBy(wfOwner('etl-1')))],
    snap: snapshot(argo),
    expected: ['etl: delete run-deleted on Workflow/etl-1 gone Workflow/etl-1 (owner Workflow/etl-1)'],
  },
  'a Workflow being deleted (deletionTimestamp set) counts as gone': {
    groups: [group('etl', '', fromJob('etl-1', undefined, 'Workflow'), ownedBy(wfOwner('etl-1')))],
    snap: snapshot({ ...argo, owners: [ownerObject('Workflow', 'etl-1', (o) => ({ ...o, deleting: true }))] }),
    expected: ['etl: delete run-deleted on Workflow/etl-1 gone Workflow/etl-1 (owner Workflow/etl-1)'],
  },
  'Workflows not readable now (CRD missing, forbidden): the group is kept, whatever the cache lacks': {
    groups: [group('etl', '', fromJob('etl-1', undefined, 'Workflow'), ownedBy(wfOwner('etl-1')))],
    snap: snapshot({ ...argo, unreadable: { Workflow: 'workflows.argoproj.io is forbidden' } }),
    expected: ['etl: keep (owner Workflow/etl-1)'],
  },
  'an owner of a kind no longer configured is kept': {
    groups: [group('etl', '', fromJob('etl-1', undefined, 'Workflow'), ownedBy(wfOwner('etl-1')))],
    snap: snapshot(),
    expected: ['etl: keep (owner Workflow/etl-1)'],
  },
  'CronWorkflow run deleted, no newer run: kept': {
    groups: [group('etl', '', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wfOwner('etl-1', 'nightly')))],
    snap: snapshot({ ...argo, owners: [ownerObject('CronWorkflow', 'nightly')] }),
    expected: ['etl: keep (owner Workflow/etl-1)'],
  },
  'CronWorkflow run deleted after a newer run pushed: run-superseded, on the CronWorkflow': {
    groups: [
      group('etl', '/run/1', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wfOwner('etl-1', 'nightly')), pushedAt(T0 - 60 * MIN)),
      group('etl', '/run/2', fromJob('etl-2', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wfOwner('etl-2', 'nightly'))),
    ],
    snap: snapshot({ ...argo, owners: [ownerObject('CronWorkflow', 'nightly'), ownerObject('Workflow', 'etl-2', runOf('nightly', 'CronWorkflow'))] }),
    expected: ['etl run=1: delete run-superseded on CronWorkflow/nightly gone Workflow/etl-1 (owner Workflow/etl-1)', 'etl run=2: keep (owner Workflow/etl-2)'],
  },
  'CronWorkflow deleted: the groups of its runs go (schedule-deleted)': {
    groups: [group('etl', '', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wfOwner('etl-1', 'nightly')))],
    snap: snapshot({ ...argo, owners: [ownerObject('Workflow', 'etl-1', runOf('nightly', 'CronWorkflow'))] }),
    expected: ['etl: delete schedule-deleted on CronWorkflow/nightly gone CronWorkflow/nightly (owner Workflow/etl-1)'],
  },
  "the CronWorkflow's annotations and the Workflow's set the policy (the run's win)": {
    groups: [group('etl', '', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wfOwner('etl-1', 'nightly', T0 - 90 * MIN)), pushedAt(T0 - 90 * MIN))],
    snap: snapshot({
      ...argo,
      owners: [
        ownerObject('CronWorkflow', 'nightly', (o) => ({ ...o, policy: { ttlMs: 60 * MIN, deletionPolicy: 'Orphan' } })),
        ownerObject('Workflow', 'etl-1', runOf('nightly', 'CronWorkflow'), (o) => ({ ...o, policy: { ttlMs: 120 * MIN } })),
      ],
    }),
    expected: ['etl: keep (owner Workflow/etl-1, changed) at +1800s'],
  },

  // Bare pods.
  'a push from a bare pod is owned by the pod': {
    groups: [group('load', '', fromPod('load-x1'))],
    snap: snapshot({ pods: [pod('load-x1')] }),
    expected: ['load: keep (owner Pod/load-x1, changed)'],
  },
  'bare pod deleted: its groups go, after the scrape grace': {
    groups: [group('load', '', fromPod('load-x1'), ownedBy(podOwner('load-x1')), unscraped)],
    snap: snapshot(),
    expected: ['load: delete run-deleted on Pod/load-x1 gone Pod/load-x1 (owner Pod/load-x1) at +240s'],
  },
  'bare pod with a schedule key deleted, no newer run: kept': {
    groups: [group('load', '', fromPod('load-x1', 'etl.load'), ownedBy(podOwner('load-x1', 'etl.load')))],
    snap: snapshot(),
    expected: ['load: keep (owner Pod/load-x1)'],
  },
  'bare pod with a schedule key deleted after a newer pod of the key pushed: run-superseded': {
    groups: [
      group('load', '/try/1', fromPod('load-x1', 'etl.load'), ownedBy(podOwner('load-x1', 'etl.load')), pushedAt(T0 - 30 * MIN)),
      group('load', '/try/2', fromPod('load-x2', 'etl.load'), ownedBy(podOwner('load-x2', 'etl.load'))),
    ],
    snap: snapshot({ pods: [pod('load-x2')] }),
    expected: ['load try=1: delete run-superseded on Pod/load-x1 gone Pod/load-x1 (owner Pod/load-x1)', 'load try=2: keep (owner Pod/load-x2)'],
  },
  'a newer pod of another schedule key does not supersede': {
    groups: [
      group('load', '/try/1', fromPod('load-x1', 'etl.load'), ownedBy(podOwner('load-x1', 'etl.load')), pushedAt(T0 - 30 * MIN)),
      group('load', '/try/2', fromPod('load-y1', 'etl.other'), ownedBy(podOwner('load-y1', 'etl.other'))),
    ],
    snap: snapshot({ pods: [pod('load-y1')] }),
    expected: ['load try=1: keep (owner Pod/load-x1)', 'load try=2: keep (owner Pod/load-y1)'],
  },
  "a bare pod's own annotations set its policy": {
    groups: [group('load', '', fromPod('load-x1'), ownedBy(podOwner('load-x1')))],
    snap: snapshot({ pods: [pod('load-x1', (p) => ({ ...p, policy: { ttlMs: 30 * MIN } }))] }),
    expected: ['load: keep (owner Pod/load-x1, changed) at +1740s'],
  },

  // Indexed Jobs: keepLast counts runs.
  'keepLast 2 over three runs of three indexes each: every group of the newest two runs stays': {
    groups: [1, 2, 3].flatMap((r) =>
      [0, 1, 2].map((i) => group('train', `/run/${r}/index/${i}`, fromJob(`t-${r}`, 'train'), ownedBy(ownerRef('Job', `t-${r}`, { schedule: refTo('CronJob', 'train'), resolvedFor: T0 - (10 - r) * MIN })), pushedAt(T0 - (10 - r) * MIN - i * 1000))),
    ),
    snap: snapshot({ cronJobs: [cronJob('train')], jobs: [1, 2, 3].map((r) => job(`t-${r}`, runOf('train'))) }),
    defaults: { keepLast: 2 },
    expected: [
      'train index=0 run=1: delete keep-last-exceeded on CronJob/train (owner Job/t-1)',
      'train index=1 run=1: delete keep-last-exceeded on CronJob/train (owner Job/t-1)',
      'train index=2 run=1: delete keep-last-exceeded on CronJob/train (owner Job/t-1)',
      ...[2, 3].flatMap((r) => [0, 1, 2].map((i) => `train index=${i} run=${r}: keep (owner Job/t-${r})`)),
    ],
  },

  // Chains learnt after the push.
  "a chain that could not be read at the push is walked on from the run: a JobSet's Job's pod belongs to the JobSet": {
    groups: [group('train', '', fromJob('ts-workers-0'), (g) => ({ ...g, attribution: { ...g.attribution, chainIncomplete: true } }))],
    snap: snapshot({
      runKinds: ['JobSet'],
      jobs: [job('ts-workers-0', runOf('ts', 'JobSet'))],
      owners: [ownerObject('JobSet', 'ts')],
    }),
    expected: ['train: keep (owner JobSet/ts, changed)'],
  },
  "a run's schedule learnt after its push: the stored owner gets it": {
    groups: [group('report', '', fromJob('r-1'), ownedBy(ownerRef('Job', 'r-1', { resolvedFor: T0 - MIN })), (g) => ({ ...g, attribution: { ...g.attribution, chainIncomplete: true } }))],
    snap: snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-1', runOf('report'))] }),
    expected: ['report: keep (owner Job/r-1, changed)'],
  },

  // MetricsGroup spec.ownerRef of any kind.
  "a MetricsGroup's ownerRef to a Workflow by UID: the Workflow gone (or recreated under its name), its groups go": {
    groups: [group('etl', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({
      ...argo,
      owners: [ownerObject('Workflow', 'etl-1', (o) => ({ ...o, uid: 'etl-1-new-uid' }))],
      metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'etl' }), ownerRef: { group: 'argoproj.io', kind: 'Workflow', name: 'etl-1', uid: 'etl-1-uid' } }))],
    }),
    expected: ['etl: delete run-deleted on Workflow/etl-1 gone Workflow/etl-1 (owner MetricsGroup/mg)'],
  },
  "a MetricsGroup's ownerRef to a Workflow by name: any Workflow of that name keeps the groups": {
    groups: [group('etl', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({
      ...argo,
      owners: [ownerObject('Workflow', 'etl-1', (o) => ({ ...o, uid: 'etl-1-new-uid' }))],
      metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'etl' }), ownerRef: { group: 'argoproj.io', kind: 'Workflow', name: 'etl-1' } }))],
    }),
    expected: ['etl: keep (owner MetricsGroup/mg)'],
  },
  "a MetricsGroup's ownerRef to a kind Lethe cannot read: kept": {
    groups: [group('etl', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({
      ...argo,
      unreadable: { Workflow: 'absent' },
      metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'etl' }), ownerRef: { group: 'argoproj.io', kind: 'Workflow', name: 'etl-1' } }))],
    }),
    expected: ['etl: keep (owner MetricsGroup/mg)'],
  },
  "a MetricsGroup's ownerRef to a bare pod that is gone: run-deleted": {
    groups: [group('load', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'load' }), ownerRef: { group: '', kind: 'Pod', name: 'load-x1' } }))] }),
    expected: ['load: delete run-deleted on Pod/load-x1 gone Pod/load-x1 (owner MetricsGroup/mg)'],
  },
};

describe('decide: batch owners', () => {
  test.each(Object.entries(rows))('%s', (_name, row) => {
    expect(run(row)).toEqual(row.expected);
  });
});

describe('decide: what it tells people about runs', () => {
  test('the run of each group, its schedule, and why an owner is unknown', () => {
    const groups = [
      group('etl', '', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wfOwner('etl-1', 'nightly'))),
      group('scan', '', fromJob('s-1'), ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN }))),
      group('load', '', fromPod('load-x1', 'etl.load'), ownedBy(podOwner('load-x1', 'etl.load'))),
    ];
    const plan = decide({
      groups,
      snapshot: snapshot({ ...argo, unreadable: { CronWorkflow: 'cronworkflows.argoproj.io is forbidden (grant get, list and watch on it)' }, owners: [ownerObject('Workflow', 'etl-1')], jobs: [job('s-1')], metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'scan' }) }))] }),
      defaults: defaultPolicy,
      now: T0,
    });
    const [etl, scan, load] = groups.map((g) => plan.insights.get(g.key.id));
    expect(etl).toMatchObject({
      ownerAlive: true,
      ownerUnknown: 'schedule CronWorkflow nightly: cronworkflows.argoproj.io is forbidden (grant get, list and watch on it)',
      run: { kind: 'Workflow', name: 'etl-1', namespace: NS, schedule: { kind: 'CronWorkflow', name: 'nightly' } },
    });
    // Owned by a MetricsGroup: its run is the one that pushed it.
    expect(scan).toMatchObject({ ownerAlive: true, run: { kind: 'Job', name: 's-1' } });
    expect(scan?.ownerUnknown).toBeUndefined();
    expect(load).toMatchObject({ ownerAlive: false, run: { kind: 'Pod', name: 'load-x1', scheduleKey: 'etl.load' } });
  });

  test('a group pushed from no run has none', () => {
    const plan = decide({ groups: [group('adhoc')], snapshot: snapshot(), defaults: defaultPolicy, now: T0 });
    expect(plan.insights.get(group('adhoc').key.id)?.run).toBeUndefined();
  });
});

describe('decide: the owner a push gives', () => {
  test("a bare pod's schedule key goes with its owner (and a schedule object wins over a key)", () => {
    const keyed = group('load', '', fromPod('load-x1', 'etl.load'));
    const scheduled = group('etl', '', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), (g) => ({ ...g, attribution: { ...g.attribution, scheduleKey: 'ignored' } }));
    const plan = decide({ groups: [keyed, scheduled], snapshot: snapshot({ ...argo, pods: [pod('load-x1')], owners: [ownerObject('CronWorkflow', 'nightly'), ownerObject('Workflow', 'etl-1')] }), defaults: defaultPolicy, now: T0 });
    expect(plan.decisions[0]?.owner).toMatchObject({ kind: 'Pod', name: 'load-x1', scheduleKey: 'etl.load' });
    expect(plan.decisions[1]?.owner).toMatchObject({ kind: 'Workflow', schedule: { kind: 'CronWorkflow', name: 'nightly' } });
    expect(plan.decisions[1]?.owner?.scheduleKey).toBeUndefined();
  });
});

describe('decide: the run a Job, Workflow or pod chain gives', () => {
  test("a JobSet's pod: the JobSet (its Job is not the run)", () => {
    const g = group('train', '', fromJob('ts', undefined, 'JobSet'));
    const plan = decide({ groups: [g], snapshot: snapshot({ runKinds: ['JobSet'], owners: [ownerObject('JobSet', 'ts')], jobs: [job('ts-workers-0', (j) => ({ ...j, ownerReferences: [controllerRef('JobSet', 'ts')] }))] }), defaults: defaultPolicy, now: T0 });
    expect(plan.decisions.map((d) => summarize(d, T0))).toEqual(['train: keep (owner JobSet/ts, changed)']);
  });
});
