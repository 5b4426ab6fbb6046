/** Builders for lifecycle tests: valid defaults that modifiers adjust (STYLE.md "Object builders"). */
import {
  ownerChainRules,
  type ClusterSnapshot,
  type CronJobInfo,
  type GroupSelector,
  type JobInfo,
  type MetricsGroupInfo,
  type NamespaceInfo,
  type OwnerObjectInfo,
  type OwnerReference,
  type PodInfo,
  type Tombstone,
} from '../../../src/lifecycle/index.js';
import { kindKey, type Attribution, type Decision, type GroupView, type ObjectKind, type ObjectRef, type OwnerRef, type StoredFamily } from '../../../src/model/index.js';
import { family, key } from '../../harness/builders.js';

export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
export const MIN = 60_000;
export const NS = 'team-a';
export const NS_UID = 'ns-uid-a';

export type Mod<T> = (t: T) => T;
const apply = <T>(base: T, mods: readonly Mod<T>[]): T => mods.reduce((t, m) => m(t), base);

export interface GroupSpec {
  key: ReturnType<typeof key>;
  lastPushAt: number;
  scrapedAt: number | undefined;
  attribution: Attribution;
  owner: OwnerRef | undefined;
  series: number;
}

/** A group pushed at T0 − 1 min, scraped, attributed to pod `p` in NS. */
export function group(job: string, rest = '', ...mods: Mod<GroupSpec>[]): GroupView {
  const spec = apply<GroupSpec>(
    {
      key: key(job, rest),
      lastPushAt: T0 - MIN,
      scrapedAt: T0 - MIN + 1000,
      attribution: { source: 'token', namespace: NS, namespaceUid: NS_UID, pod: 'p', podUid: 'p-uid' },
      owner: undefined,
      series: 1,
    },
    mods,
  );
  const families = new Map<string, StoredFamily>([
    ['work_done', { family: family('work_done', 'gauge', Array.from({ length: spec.series }, (_, i) => ({ labels: [{ name: 'i', value: String(i) }], value: 1 }))), pushedAt: spec.lastPushAt }],
    ['push_time_seconds', { family: family('push_time_seconds'), pushedAt: spec.lastPushAt }],
  ]);
  return {
    key: spec.key,
    families,
    lastPushAt: spec.lastPushAt,
    lastFailureAt: 0,
    generation: spec.lastPushAt,
    scrapedAt: spec.scrapedAt,
    attribution: spec.attribution,
    owner: spec.owner,
    excludedReason: undefined,
  };
}

export const pushedAt = (ms: number): Mod<GroupSpec> => (g) => ({ ...g, lastPushAt: ms, scrapedAt: g.scrapedAt === undefined ? undefined : ms + 1000 });
export const unscraped: Mod<GroupSpec> = (g) => ({ ...g, scrapedAt: undefined });
export const ownedBy = (owner: OwnerRef | undefined): Mod<GroupSpec> => (g) => ({ ...g, owner });
export const attributed = (a: Attribution): Mod<GroupSpec> => (g) => ({ ...g, attribution: a });
export const unattributedGroup: Mod<GroupSpec> = (g) => ({ ...g, attribution: { source: 'none' } });
export const series = (n: number): Mod<GroupSpec> => (g) => ({ ...g, series: n });
/** The kinds the tests use, by Kind: built in, and the batch systems' (docs/owners.md). */
export const KINDS = {
  Job: { group: 'batch', kind: 'Job' },
  CronJob: { group: 'batch', kind: 'CronJob' },
  Namespace: { group: '', kind: 'Namespace' },
  Pod: { group: '', kind: 'Pod' },
  MetricsGroup: { group: 'lethe.dev', kind: 'MetricsGroup' },
  Workflow: { group: 'argoproj.io', kind: 'Workflow' },
  CronWorkflow: { group: 'argoproj.io', kind: 'CronWorkflow' },
  PipelineRun: { group: 'tekton.dev', kind: 'PipelineRun' },
  TaskRun: { group: 'tekton.dev', kind: 'TaskRun' },
  JobSet: { group: 'jobset.x-k8s.io', kind: 'JobSet' },
} as const satisfies Record<string, ObjectKind>;
export type KindName = keyof typeof KINDS;

/** A reference to object `name` of a kind (its UID is `<name>-uid`). */
export const refTo = (kind: KindName, name: string): ObjectRef => ({ ...KINDS[kind], name, uid: `${name}-uid` });

/** Pushed by a pod of run `runName` (a Job unless `runKind` says otherwise), scheduled by `scheduleName` when given. */
export const fromJob =
  (runName: string, scheduleName?: string, runKind: KindName = 'Job', scheduleKind: KindName = 'CronJob'): Mod<GroupSpec> =>
  (g) => ({
    ...g,
    attribution: {
      ...g.attribution,
      run: refTo(runKind, runName),
      ...(scheduleName === undefined ? {} : { schedule: refTo(scheduleKind, scheduleName) }),
    },
  });

export const ownerRef = (kind: KindName, name: string, extra: Partial<OwnerRef> = {}): OwnerRef => ({
  ...KINDS[kind],
  namespace: kind === 'Namespace' ? name : NS,
  name,
  uid: kind === 'Namespace' ? NS_UID : `${name}-uid`,
  ...extra,
});

export function namespace(name = NS, ...mods: Mod<NamespaceInfo>[]): NamespaceInfo {
  return apply({ name, uid: name === NS ? NS_UID : `${name}-uid`, terminating: false }, mods);
}

export function job(name: string, ...mods: Mod<JobInfo>[]): JobInfo {
  return apply<JobInfo>(
    { uid: `${name}-uid`, ...KINDS.Job, namespace: NS, name, ownerReferences: [], createdAt: T0 - 60 * MIN, suspended: false, policy: {}, claims: [] },
    mods,
  );
}

/** A controller reference to object `name` of a kind, as its controller sets it. */
export const controllerRef = (kind: KindName, name: string): OwnerReference => {
  const k = KINDS[kind];
  return { apiVersion: k.group === '' ? 'v1' : `${k.group}/v1`, kind: k.kind, name, uid: `${name}-uid`, controller: true };
};

/** Controlled by object `name` of a kind (a CronJob unless said otherwise). */
export const runOf =
  <T extends { ownerReferences: readonly OwnerReference[] }>(ownerName: string, kind: KindName = 'CronJob'): Mod<T> =>
  (o) => ({ ...o, ownerReferences: [controllerRef(kind, ownerName)] });

export function pod(name: string, ...mods: Mod<PodInfo>[]): PodInfo {
  return apply<PodInfo>({ uid: `${name}-uid`, ...KINDS.Pod, namespace: NS, name, ownerReferences: [], policy: {} }, mods);
}

/** An object of a configured owner kind (a Workflow, a CronWorkflow, …). */
export function ownerObject(kind: KindName, name: string, ...mods: Mod<OwnerObjectInfo>[]): OwnerObjectInfo {
  return apply<OwnerObjectInfo>(
    { uid: `${name}-uid`, ...KINDS[kind], namespace: NS, name, ownerReferences: [], createdAt: T0 - 24 * 60 * MIN, deleting: false, policy: {} },
    mods,
  );
}

export function cronJob(name: string, ...mods: Mod<CronJobInfo>[]): CronJobInfo {
  return apply<CronJobInfo>(
    { uid: `${name}-uid`, namespace: NS, name, createdAt: T0 - 24 * 60 * MIN, schedule: '0 * * * *', suspend: false, policy: {}, claims: [] },
    mods,
  );
}

export const selector = (matchLabels: Record<string, string>, matchExpressions: GroupSelector['matchExpressions'] = []): GroupSelector => ({
  matchLabels,
  matchExpressions,
});

export function metricsGroup(name: string, ...mods: Mod<MetricsGroupInfo>[]): MetricsGroupInfo {
  return apply<MetricsGroupInfo>(
    { uid: `${name}-uid`, namespace: NS, name, generation: 1, createdAt: T0 - 60 * MIN, selector: selector({}), policy: {} },
    mods,
  );
}

export interface SnapshotSpec {
  namespaces?: NamespaceInfo[];
  jobs?: JobInfo[];
  cronJobs?: CronJobInfo[];
  metricsGroups?: MetricsGroupInfo[];
  tombstones?: Tombstone[];
  pods?: PodInfo[];
  owners?: OwnerObjectInfo[];
  /** Configured kinds of run and of schedule (Jobs and CronJobs are always). */
  runKinds?: KindName[];
  scheduleKinds?: KindName[];
  /** Configured kinds that are not readable now, with why. */
  unreadable?: Partial<Record<KindName, string>>;
}

/** A snapshot; the namespace NS exists unless `namespaces` says otherwise. */
export function snapshot(spec: SnapshotSpec = {}): ClusterSnapshot {
  const runKinds = (spec.runKinds ?? []).map((k) => KINDS[k]);
  const scheduleKinds = (spec.scheduleKinds ?? []).map((k) => KINDS[k]);
  const unreadable = new Map(Object.entries(spec.unreadable ?? {}).map(([k, why]) => [kindKey(KINDS[k as KindName]), why ?? '']));
  return {
    namespaces: new Map((spec.namespaces ?? [namespace()]).map((n) => [n.name, n])),
    jobs: new Map((spec.jobs ?? []).map((j) => [j.uid, j])),
    cronJobs: new Map((spec.cronJobs ?? []).map((c) => [c.uid, c])),
    metricsGroups: new Map((spec.metricsGroups ?? []).map((m) => [m.uid, m])),
    tombstones: new Map((spec.tombstones ?? []).map((t) => [t.ref.uid, t])),
    pods: new Map((spec.pods ?? []).map((p) => [p.uid, p])),
    owners: new Map((spec.owners ?? []).map((o) => [o.uid, o])),
    ownerKinds: {
      rules: ownerChainRules(runKinds, scheduleKinds),
      readable: new Set([...runKinds, ...scheduleKinds].map(kindKey).filter((k) => !unreadable.has(k))),
      notes: unreadable,
    },
  };
}

/** One line per decision, so table rows stay readable: `backup: delete job-deleted on Job/b-1 (owner Job/b-1)`. */
export function summarize(d: Decision, now: number): string {
  const job = d.groupKey.labels.find((l) => l.name === 'job')?.value ?? '';
  const key = [job, ...d.groupKey.labels.filter((l) => l.name !== 'job').map((l) => `${l.name}=${l.value}`)].join(' ');
  const owner = d.owner === undefined ? 'unowned' : `${d.owner.kind}/${d.owner.name}`;
  const parts = [`${key}:`, d.action];
  if (d.action === 'delete') {
    parts.push(d.reason, `on ${d.subject === undefined ? '-' : `${d.subject.kind}/${d.subject.name}`}`);
    if (d.gone !== undefined) parts.push(`gone ${d.gone.kind}/${d.gone.name}`);
  }
  if (d.action === 'keep' && d.orphanedFrom !== undefined) parts.push(`orphaned from ${d.orphanedFrom.kind}/${d.orphanedFrom.name}`);
  parts.push(`(owner ${owner}${d.ownerChanged ? ', changed' : ''})`);
  if (d.notBefore !== undefined) parts.push(`at +${(d.notBefore - now) / 1000}s`);
  return parts.join(' ');
}
