/** Builders for lifecycle tests: valid defaults that modifiers adjust (STYLE.md "Object builders"). */
import type {
  ClusterSnapshot,
  CronJobInfo,
  GroupSelector,
  JobInfo,
  MetricsGroupInfo,
  NamespaceInfo,
  Tombstone,
} from '../../../src/lifecycle/index.js';
import type { Attribution, GroupView, OwnerRef, StoredFamily } from '../../../src/model/index.js';
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
/** Pushed by a pod of Job `job` (and CronJob `cronJob` when given). */
export const fromJob = (jobName: string, cronJobName?: string): Mod<GroupSpec> => (g) => ({
  ...g,
  attribution: {
    ...g.attribution,
    job: { name: jobName, uid: `${jobName}-uid` },
    ...(cronJobName === undefined ? {} : { cronJob: { name: cronJobName, uid: `${cronJobName}-uid` } }),
  },
});

export const ownerRef = (kind: OwnerRef['kind'], name: string, extra: Partial<OwnerRef> = {}): OwnerRef => ({
  kind,
  namespace: kind === 'Namespace' ? name : NS,
  name,
  uid: kind === 'Namespace' ? NS_UID : `${name}-uid`,
  ...extra,
});

export function namespace(name = NS, ...mods: Mod<NamespaceInfo>[]): NamespaceInfo {
  return apply({ name, uid: name === NS ? NS_UID : `${name}-uid`, terminating: false }, mods);
}

export function job(name: string, ...mods: Mod<JobInfo>[]): JobInfo {
  return apply<JobInfo>({ uid: `${name}-uid`, namespace: NS, name, createdAt: T0 - 60 * MIN, policy: {}, claims: [] }, mods);
}

export const runOf = (cronJobName: string): Mod<JobInfo> => (j) => ({ ...j, cronJob: { name: cronJobName, uid: `${cronJobName}-uid` } });

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
}

/** A snapshot; the namespace NS exists unless `namespaces` says otherwise. */
export function snapshot(spec: SnapshotSpec = {}): ClusterSnapshot {
  return {
    namespaces: new Map((spec.namespaces ?? [namespace()]).map((n) => [n.name, n])),
    jobs: new Map((spec.jobs ?? []).map((j) => [j.uid, j])),
    cronJobs: new Map((spec.cronJobs ?? []).map((c) => [c.uid, c])),
    metricsGroups: new Map((spec.metricsGroups ?? []).map((m) => [m.uid, m])),
    tombstones: new Map((spec.tombstones ?? []).map((t) => [t.ref.uid, t])),
  };
}
