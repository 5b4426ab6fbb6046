import {
  resolvePolicy,
  type DeletionReason,
  type GroupView,
  type OwnerKind,
  type OwnerPolicy,
  type OwnerRef,
  type Policy,
  type PolicyOverrides,
} from '../model/index.js';
import type { ClusterSnapshot, CronJobInfo, JobInfo, MetricsGroupInfo } from './cluster-view.js';
import { matchesSelector, specificity } from './selector.js';

/**
 * PURE: who owns a group, which policy applies to it, and the chain of named checks that says
 * whether it goes. No clock, no I/O: everything comes in as arguments.
 */

/** Per-namespace indexes over one snapshot, built once per pass. */
export class SnapshotIndex {
  /** MetricsGroups whose selector can be read (an invalid spec still selects, and holds what it selects). */
  readonly metricsGroups = new Map<string, MetricsGroupInfo[]>();
  /** Namespaces with a MetricsGroup whose selector cannot be read: every group there is held. */
  readonly heldNamespaces = new Map<string, MetricsGroupInfo>();
  readonly claimingJobs = new Map<string, JobInfo[]>();
  readonly claimingCronJobs = new Map<string, CronJobInfo[]>();
  private jobsByName: Map<string, JobInfo> | undefined;
  private cronJobsByName: Map<string, CronJobInfo> | undefined;

  constructor(readonly snapshot: ClusterSnapshot) {
    const add = <T>(map: Map<string, T[]>, ns: string, item: T): void => {
      const list = map.get(ns);
      if (list === undefined) map.set(ns, [item]);
      else list.push(item);
    };
    for (const mg of snapshot.metricsGroups.values()) {
      if (mg.holdsNamespace === true) {
        if (!this.heldNamespaces.has(mg.namespace)) this.heldNamespaces.set(mg.namespace, mg);
      } else add(this.metricsGroups, mg.namespace, mg);
    }
    for (const job of snapshot.jobs.values()) if (job.claims.length > 0) add(this.claimingJobs, job.namespace, job);
    for (const cj of snapshot.cronJobs.values()) if (cj.claims.length > 0) add(this.claimingCronJobs, cj.namespace, cj);
  }

  /** The Job named so in `ns` (the first one, should the cache briefly hold two). */
  jobNamed(ns: string, name: string): JobInfo | undefined {
    this.jobsByName ??= byName(this.snapshot.jobs.values());
    return this.jobsByName.get(`${ns}/${name}`);
  }

  cronJobNamed(ns: string, name: string): CronJobInfo | undefined {
    this.cronJobsByName ??= byName(this.snapshot.cronJobs.values());
    return this.cronJobsByName.get(`${ns}/${name}`);
  }
}

/** Objects by `namespace/name`, the first one winning; built only when a MetricsGroup's spec.ownerRef asks. */
function byName<T extends { namespace: string; name: string }>(objects: Iterable<T>): Map<string, T> {
  const map = new Map<string, T>();
  for (const o of objects) {
    const id = `${o.namespace}/${o.name}`;
    if (!map.has(id)) map.set(id, o);
  }
  return map;
}

const byAgeThenName = (a: { createdAt: number; name: string }, b: { createdAt: number; name: string }): number =>
  a.createdAt - b.createdAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function metricsGroupMatches(mg: MetricsGroupInfo, group: GroupView): boolean {
  return mg.holdsNamespace !== true && group.attribution.namespace === mg.namespace && matchesSelector(mg.selector, group.key);
}

/** The MetricsGroup for a group: most specific selector, then oldest, then name. */
function bestMetricsGroup(index: SnapshotIndex, group: GroupView, ns: string): MetricsGroupInfo | undefined {
  const matching = (index.metricsGroups.get(ns) ?? []).filter((mg) => matchesSelector(mg.selector, group.key));
  matching.sort((a, b) => specificity(b.selector) - specificity(a.selector) || byAgeThenName(a, b));
  return matching[0];
}

const ref = (kind: OwnerKind, namespace: string, name: string, uid: string, resolvedFor: number): OwnerRef => ({
  kind,
  namespace,
  name,
  uid,
  resolvedFor,
});

/**
 * The owner the group's latest push gives it, in the order of DESIGN.md: a MetricsGroup whose
 * selector matches; a Job or CronJob claiming the key by annotation; the pushing pod's controller
 * chain; else its namespace. Only objects of the attributed namespace qualify.
 */
export function candidateOwner(group: GroupView, index: SnapshotIndex): OwnerRef | undefined {
  const attribution = group.attribution;
  const ns = attribution.namespace;
  if (ns === undefined) return undefined;
  const at = group.lastPushAt;
  const snap = index.snapshot;

  const mg = bestMetricsGroup(index, group, ns);
  if (mg !== undefined) return ref('MetricsGroup', ns, mg.name, mg.uid, at);

  const jobs = (index.claimingJobs.get(ns) ?? []).filter((j) => j.claims.some((s) => matchesSelector(s, group.key)));
  if (jobs.length > 0) {
    // The pushing Job when it claims the key, else the newest claimant.
    const job = jobs.find((j) => j.uid === attribution.job?.uid) ?? [...jobs].sort(byAgeThenName).at(-1);
    if (job !== undefined) return jobRef(ns, job.name, job.uid, job.cronJob, at);
  }
  const cronJobs = (index.claimingCronJobs.get(ns) ?? []).filter((c) => c.claims.some((s) => matchesSelector(s, group.key)));
  if (cronJobs.length > 0) {
    const pusher = cronJobs.find((c) => c.uid === attribution.cronJob?.uid);
    // A run of the claiming CronJob keeps the per-run rules; any other push belongs to the CronJob.
    if (pusher !== undefined && attribution.job !== undefined) {
      return jobRef(ns, attribution.job.name, attribution.job.uid, { name: pusher.name, uid: pusher.uid }, at);
    }
    const cj = pusher ?? [...cronJobs].sort(byAgeThenName)[0];
    if (cj !== undefined) return ref('CronJob', ns, cj.name, cj.uid, at);
  }

  if (attribution.job !== undefined) {
    const cronJob = attribution.cronJob ?? snap.jobs.get(attribution.job.uid)?.cronJob;
    return jobRef(ns, attribution.job.name, attribution.job.uid, cronJob, at);
  }
  const nsUid = attribution.namespaceUid ?? snap.namespaces.get(ns)?.uid;
  return nsUid === undefined ? undefined : ref('Namespace', ns, ns, nsUid, at);
}

function jobRef(ns: string, name: string, uid: string, cronJob: { name: string; uid: string } | undefined, at: number): OwnerRef {
  return { ...ref('Job', ns, name, uid, at), ...(cronJob === undefined ? {} : { cronJob: { name: cronJob.name, uid: cronJob.uid } }) };
}

/**
 * The owner after this pass. A stored owner stays until a newer push (which resolves the owner
 * again), except that a matching MetricsGroup adopts groups at any time, and a MetricsGroup whose
 * selector no longer matches lets them go.
 */
export function effectiveOwner(group: GroupView, candidate: OwnerRef | undefined, snap: ClusterSnapshot): OwnerRef | undefined {
  const stored = group.owner;
  if (stored === undefined) return candidate;
  if (group.lastPushAt > (stored.resolvedFor ?? group.lastPushAt)) return candidate;
  const storedMg = stored.kind === 'MetricsGroup' ? snap.metricsGroups.get(stored.uid) : undefined;
  const storedMgLetGo = storedMg !== undefined && !metricsGroupMatches(storedMg, group);
  if (candidate?.kind === 'MetricsGroup' && candidate.uid !== stored.uid) {
    // A deleted MetricsGroup's policy applies first, even when a new one (perhaps of the same name) matches.
    if (stored.kind === 'MetricsGroup' && !storedMgLetGo) return stored;
    return candidate;
  }
  return storedMgLetGo ? candidate : stored;
}

/** One layer of policy as an object says it now (or said it when it went). */
interface PolicyLayer {
  readonly policy: PolicyOverrides;
  readonly invalid?: string;
}

function layerOf(snap: ClusterSnapshot, kind: OwnerKind, uid: string): PolicyLayer | undefined {
  switch (kind) {
    case 'Job':
      return snap.jobs.get(uid) ?? snap.tombstones.get(uid);
    case 'CronJob':
      return snap.cronJobs.get(uid) ?? snap.tombstones.get(uid);
    case 'MetricsGroup':
      return snap.metricsGroups.get(uid) ?? snap.tombstones.get(uid);
    case 'Namespace':
      return undefined;
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/**
 * The policy an owner sets: the CronJob's annotations, then the Job's (for a CronJob run), or a
 * MetricsGroup's spec, read from the objects (or their tombstones). When an object it comes from
 * is gone and no longer remembered here (a restart between the owner's deletion and the
 * decision), the policy stored with the group (`stored`) applies: level-triggered, the decision
 * after a restart is the one before it. Undefined: the owner sets nothing (the flags apply).
 */
export function ownerPolicyOf(owner: OwnerRef | undefined, snap: ClusterSnapshot, stored: OwnerPolicy | undefined): OwnerPolicy | undefined {
  if (owner === undefined || owner.kind === 'Namespace') return undefined;
  const own = layerOf(snap, owner.kind, owner.uid);
  const cronJob = owner.cronJob === undefined ? undefined : layerOf(snap, 'CronJob', owner.cronJob.uid);
  const forgotten = own === undefined || (owner.cronJob !== undefined && cronJob === undefined);
  if (forgotten && stored !== undefined) return stored;
  const overrides = mergeOverrides(cronJob?.policy, own?.policy);
  const problems = [cronJob?.invalid, own?.invalid].filter((p): p is string => p !== undefined && p !== '');
  if (Object.keys(overrides).length === 0 && problems.length === 0) return undefined;
  return {
    source: owner.kind === 'MetricsGroup' ? 'metricsgroup' : 'annotations',
    overrides,
    ...(problems.length === 0 ? {} : { invalid: problems.join('; ') }),
  };
}

function mergeOverrides(...layers: readonly (PolicyOverrides | undefined)[]): PolicyOverrides {
  let merged: PolicyOverrides = {};
  for (const layer of layers) if (layer !== undefined) merged = { ...merged, ...layer };
  return merged;
}

/**
 * The policy in force for an owner's groups: flag defaults, then the owner's policy
 * (`ownerPolicyOf`), held when that cannot be read or `held` (a MetricsGroup of the namespace
 * whose selector cannot be read).
 */
export function policyFor(owner: OwnerRef | undefined, snap: ClusterSnapshot, defaults: Policy, held = false): Policy {
  return resolvePolicy(defaults, ownerPolicyOf(owner, snap, owner?.policy), held);
}

/** The held namespace's MetricsGroup when the group's namespace has one whose selector cannot be read. */
export function holdingMetricsGroup(group: GroupView, owner: OwnerRef | undefined, index: SnapshotIndex): MetricsGroupInfo | undefined {
  const ns = owner?.namespace ?? group.attribution.namespace;
  return ns === undefined ? undefined : index.heldNamespaces.get(ns);
}

/** What one named check concluded. */
export type Verdict =
  | { readonly kind: 'delete'; readonly reason: DeletionReason; readonly subject: OwnerRef | undefined; readonly gone?: OwnerRef }
  | { readonly kind: 'orphan'; readonly from: OwnerRef }
  /** Nothing now; look again at `at`. */
  | { readonly kind: 'later'; readonly at: number };

/** Everything a check may look at for one group. */
export interface GroupContext {
  readonly group: GroupView;
  readonly owner: OwnerRef | undefined;
  readonly policy: Policy;
  readonly snapshot: ClusterSnapshot;
  /** Look-ups over the snapshot, built once per pass. */
  readonly index: SnapshotIndex;
  readonly now: number;
  readonly lineages: LineageIndex;
}

export type Check = (ctx: GroupContext) => Verdict | undefined;

export interface LineageMember {
  readonly group: GroupView;
  /** The group's owner after this pass. */
  readonly owner: OwnerRef;
}

/** Groups sharing an owner lineage (a CronJob's runs count as one), newest push first. */
export class LineageIndex {
  private readonly byLineage = new Map<string, LineageMember[]>();
  private readonly rankOf = new Map<string, number>();

  add(group: GroupView, owner: OwnerRef | undefined): void {
    const id = lineageId(owner);
    if (id === undefined || owner === undefined) return;
    const list = this.byLineage.get(id);
    if (list === undefined) this.byLineage.set(id, [{ group, owner }]);
    else list.push({ group, owner });
  }

  /** Call once after every add. */
  seal(): void {
    for (const list of this.byLineage.values()) {
      list.sort((a, b) => b.group.lastPushAt - a.group.lastPushAt || (a.group.key.id < b.group.key.id ? -1 : a.group.key.id > b.group.key.id ? 1 : 0));
      list.forEach((m, i) => this.rankOf.set(m.group.key.id, i));
    }
  }

  /** 0 for the most recently pushed group of its lineage. */
  rank(group: GroupView): number {
    return this.rankOf.get(group.key.id) ?? 0;
  }

  members(id: string): readonly LineageMember[] {
    return this.byLineage.get(id) ?? [];
  }

  lineages(): IterableIterator<[string, LineageMember[]]> {
    return this.byLineage.entries();
  }
}

/** Groups of one CronJob (owned by it or by one of its runs) share its UID; others their owner's. */
export function lineageId(owner: OwnerRef | undefined): string | undefined {
  if (owner === undefined || owner.kind === 'Namespace') return undefined;
  return owner.cronJob?.uid ?? owner.uid;
}

const cronJobRef = (owner: OwnerRef, cronJob: { name: string; uid: string }): OwnerRef => ({
  kind: 'CronJob',
  namespace: owner.namespace,
  name: cronJob.name,
  uid: cronJob.uid,
});

const namespaceRef = (name: string, uid: string): OwnerRef => ({ kind: 'Namespace', namespace: name, name, uid });

/** Applies the owner's deletion policy: delete the group, or orphan it to its namespace. */
function ownerGone(ctx: GroupContext, reason: DeletionReason, gone: OwnerRef, subject: OwnerRef = gone): Verdict {
  if (ctx.policy.deletionPolicy === 'Orphan') return { kind: 'orphan', from: gone };
  return { kind: 'delete', reason, subject, gone };
}

/**
 * The group's namespace was deleted (or is being deleted): nothing of it may stay. It counts as
 * deleted only when Lethe saw it go: terminating, or gone (or recreated under another UID) while
 * the group knows its UID, or gone while the group's owner is an object that lived in it. A
 * namespace that was never there (a static token's, say) is not a deleted one.
 */
export const namespaceDeleted: Check = ({ group, owner, snapshot }) => {
  const name = owner?.namespace ?? group.attribution.namespace;
  if (name === undefined) return undefined;
  const ns = snapshot.namespaces.get(name);
  const deleted = (uid: string): Verdict => {
    const gone = namespaceRef(name, uid);
    return { kind: 'delete', reason: 'namespace-deleted', subject: gone, gone };
  };
  if (ns?.terminating === true) return deleted(ns.uid);
  const knownUid = owner?.kind === 'Namespace' ? owner.uid : group.attribution.namespaceUid;
  if (knownUid !== undefined && knownUid !== '') return ns === undefined || ns.uid !== knownUid ? deleted(knownUid) : undefined;
  if (ns === undefined && owner !== undefined && owner.kind !== 'Namespace') return deleted('');
  return undefined;
};

export const metricsGroupDeleted: Check = (ctx) => {
  const { owner, snapshot } = ctx;
  if (owner?.kind !== 'MetricsGroup' || snapshot.metricsGroups.has(owner.uid)) return undefined;
  return ownerGone(ctx, 'metricsgroup-deleted', owner);
};

/** A MetricsGroup's `spec.ownerRef` names a Job or CronJob that is no longer there. */
export const metricsGroupOwnerRefDeleted: Check = (ctx) => {
  const { owner, snapshot, index } = ctx;
  if (owner?.kind !== 'MetricsGroup') return undefined;
  const target = snapshot.metricsGroups.get(owner.uid)?.ownerRef;
  if (target === undefined) return undefined;
  const present = target.kind === 'Job' ? index.jobNamed(owner.namespace, target.name) : index.cronJobNamed(owner.namespace, target.name);
  if (present !== undefined) return undefined;
  const gone: OwnerRef = { kind: target.kind, namespace: owner.namespace, name: target.name, uid: '' };
  return ownerGone(ctx, target.kind === 'Job' ? 'job-deleted' : 'cronjob-deleted', gone);
};

/** The CronJob that owns the group, or runs the Job that owns it, was deleted. */
export const cronJobDeleted: Check = (ctx) => {
  const { owner, snapshot } = ctx;
  if (owner === undefined) return undefined;
  const cronJob = owner.kind === 'CronJob' ? owner : owner.kind === 'Job' && owner.cronJob !== undefined ? cronJobRef(owner, owner.cronJob) : undefined;
  if (cronJob === undefined || snapshot.cronJobs.has(cronJob.uid)) return undefined;
  return ownerGone(ctx, 'cronjob-deleted', cronJob);
};

/**
 * The owning Job was deleted. A bare Job's groups go. A CronJob run's groups stay until a newer
 * run of the same CronJob has pushed (keepUntilSuperseded), so "last success" survives history
 * clean-up.
 */
export const jobDeleted: Check = (ctx) => {
  const { owner, snapshot, policy, group, lineages } = ctx;
  if (owner?.kind !== 'Job' || snapshot.jobs.has(owner.uid)) return undefined;
  if (owner.cronJob === undefined || !policy.keepUntilSuperseded) return ownerGone(ctx, 'job-deleted', owner);
  const newer = lineages
    .members(owner.cronJob.uid)
    .some((other) => other.owner.uid !== owner.uid && other.group.lastPushAt > group.lastPushAt);
  if (!newer) return undefined;
  return ownerGone(ctx, 'cronjob-run-superseded', owner, cronJobRef(owner, owner.cronJob));
};

/** No push for `ttl`. */
export const ttlExpired: Check = ({ policy, group, now, owner }) => {
  if (policy.ttlMs <= 0) return undefined;
  const expiresAt = group.lastPushAt + policy.ttlMs;
  if (now < expiresAt) return { kind: 'later', at: expiresAt };
  return { kind: 'delete', reason: 'ttl-expired', subject: owner ?? namespaceOf(group) };
};

/** More than `keepLast` groups in the owner's lineage: the oldest go. */
export const keepLastExceeded: Check = ({ policy, group, lineages, owner }) => {
  if (policy.keepLast <= 0 || lineages.rank(group) < policy.keepLast || owner === undefined) return undefined;
  return { kind: 'delete', reason: 'keep-last-exceeded', subject: owner.cronJob === undefined ? owner : cronJobRef(owner, owner.cronJob) };
};

function namespaceOf(group: GroupView): OwnerRef | undefined {
  const { namespace, namespaceUid } = group.attribution;
  return namespace === undefined ? undefined : namespaceRef(namespace, namespaceUid ?? '');
}

/** The chain, in order: the first `delete` or `orphan` decides; `later`s set the next look. */
export const CHECKS: readonly (readonly [string, Check])[] = [
  ['namespace-deleted', namespaceDeleted],
  ['metricsgroup-deleted', metricsGroupDeleted],
  ['metricsgroup-owner-deleted', metricsGroupOwnerRefDeleted],
  ['cronjob-deleted', cronJobDeleted],
  ['job-deleted', jobDeleted],
  ['ttl-expired', ttlExpired],
  ['keep-last-exceeded', keepLastExceeded],
];
