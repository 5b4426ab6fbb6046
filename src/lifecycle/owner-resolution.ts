import {
  resolvePolicy,
  type GroupView,
  type OwnerKind,
  type OwnerPolicy,
  type OwnerRef,
  type Policy,
  type PolicyOverrides,
} from '../model/index.js';
import type { ClusterSnapshot, MetricsGroupInfo } from './cluster-view.js';
import { matchesSelector, specificity } from './selector.js';
import type { SnapshotIndex } from './snapshot-index.js';

/**
 * PURE: who owns a group (from its latest push and what is stored), and which policy applies to
 * it. No clock, no I/O: everything comes in as arguments.
 */

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
