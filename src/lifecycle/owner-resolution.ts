import {
  CRONJOB,
  JOB,
  METRICSGROUP,
  NAMESPACE,
  isKind,
  resolvePolicy,
  sameOwner,
  type Attribution,
  type GroupView,
  type ObjectKind,
  type ObjectRef,
  type OwnerPolicy,
  type OwnerRef,
  type Policy,
  type PolicyOverrides,
} from '../model/index.js';
import type { MetricsGroupInfo } from './cluster-snapshot.js';
import type { ChainLink } from './owner-chain.js';
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
  let best: MetricsGroupInfo | undefined;
  for (const mg of index.metricsGroups.get(ns) ?? []) {
    if (!matchesSelector(mg.selector, group.key)) continue;
    if (best === undefined || (specificity(best.selector) - specificity(mg.selector) || byAgeThenName(mg, best)) < 0) best = mg;
  }
  return best;
}

const ref = (kind: ObjectKind, namespace: string, name: string, uid: string, resolvedFor: number): OwnerRef => ({
  group: kind.group,
  kind: kind.kind,
  namespace,
  name,
  uid,
  resolvedFor,
});

const objectRef = (l: ChainLink | ObjectRef): ObjectRef => ({ group: l.group, kind: l.kind, name: l.name, uid: l.uid });

/** A run as its groups' owner, with its schedule (object, else key). */
function runOwner(ns: string, run: ObjectRef, schedule: ObjectRef | undefined, scheduleKey: string | undefined, at: number): OwnerRef {
  return {
    ...ref(run, ns, run.name, run.uid, at),
    ...(schedule === undefined ? {} : { schedule: objectRef(schedule) }),
    ...(schedule === undefined && scheduleKey !== undefined ? { scheduleKey } : {}),
  };
}

interface PushingRun {
  readonly run?: ObjectRef;
  readonly schedule?: ObjectRef;
  readonly scheduleKey?: string;
}

/**
 * The pushing pod's run and schedule, as its attribution recorded them; when an owner on its
 * chain could not be read then, walked on from the run now that the caches may know it.
 */
function pushingRun(a: Attribution, index: SnapshotIndex): PushingRun {
  let { run, schedule } = a;
  if (a.chainIncomplete === true && run !== undefined && schedule === undefined) {
    const object = index.lookup(run.uid);
    if (object !== undefined) {
      const chain = index.chainFrom(object);
      if (chain.run !== undefined) run = objectRef(chain.run);
      if (chain.schedule !== undefined) schedule = objectRef(chain.schedule);
    }
  }
  return { ...(run === undefined ? {} : { run }), ...(schedule === undefined ? {} : { schedule }), ...(a.scheduleKey === undefined ? {} : { scheduleKey: a.scheduleKey }) };
}

/**
 * The owner the group's latest push gives it, in the order of DESIGN.md: a MetricsGroup whose
 * selector matches; a Job or CronJob claiming the key by annotation; the pushing pod's run (with
 * its schedule); else its namespace. Only objects of the attributed namespace qualify.
 */
export function candidateOwner(group: GroupView, index: SnapshotIndex): OwnerRef | undefined {
  const attribution = group.attribution;
  const ns = attribution.namespace;
  if (ns === undefined) return undefined;
  const at = group.lastPushAt;
  const snap = index.snapshot;

  const mg = bestMetricsGroup(index, group, ns);
  if (mg !== undefined) return ref(METRICSGROUP, ns, mg.name, mg.uid, at);

  const pushing = pushingRun(attribution, index);
  const jobs = (index.claimingJobs.get(ns) ?? []).filter((j) => j.claims.some((s) => matchesSelector(s, group.key)));
  if (jobs.length > 0) {
    // The pushing Job when it claims the key, else the newest claimant.
    const job = jobs.find((j) => j.uid === pushing.run?.uid) ?? [...jobs].sort(byAgeThenName).at(-1);
    if (job !== undefined) {
      const schedule = index.chainFrom(job).schedule;
      return runOwner(ns, { ...JOB, name: job.name, uid: job.uid }, schedule === undefined ? undefined : objectRef(schedule), job.scheduleKey, at);
    }
  }
  const cronJobs = (index.claimingCronJobs.get(ns) ?? []).filter((c) => c.claims.some((s) => matchesSelector(s, group.key)));
  if (cronJobs.length > 0) {
    const pusher = cronJobs.find((c) => c.uid === pushing.schedule?.uid);
    // A run of the claiming CronJob keeps the per-run rules; any other push belongs to the CronJob.
    if (pusher !== undefined && pushing.run !== undefined) {
      return runOwner(ns, pushing.run, { ...CRONJOB, name: pusher.name, uid: pusher.uid }, undefined, at);
    }
    const cj = pusher ?? [...cronJobs].sort(byAgeThenName)[0];
    if (cj !== undefined) return ref(CRONJOB, ns, cj.name, cj.uid, at);
  }

  if (pushing.run !== undefined) return runOwner(ns, pushing.run, pushing.schedule, pushing.scheduleKey, at);
  const nsUid = attribution.namespaceUid ?? snap.namespaces.get(ns)?.uid;
  return nsUid === undefined ? undefined : ref(NAMESPACE, ns, ns, nsUid, at);
}

/**
 * The owner after this pass. A stored owner stays until a newer push (which resolves the owner
 * again), except that a matching MetricsGroup adopts groups at any time, a MetricsGroup whose
 * selector no longer matches lets them go, and a run whose schedule could not be read when it
 * pushed gets it once the caches know it.
 */
export function effectiveOwner(group: GroupView, candidate: OwnerRef | undefined, index: SnapshotIndex): OwnerRef | undefined {
  const stored = group.owner;
  if (stored === undefined) return candidate;
  if (group.lastPushAt > (stored.resolvedFor ?? group.lastPushAt)) return candidate;
  const storedMg = isKind(stored, METRICSGROUP) ? index.snapshot.metricsGroups.get(stored.uid) : undefined;
  const storedMgLetGo = storedMg !== undefined && !metricsGroupMatches(storedMg, group);
  if (candidate !== undefined && isKind(candidate, METRICSGROUP) && candidate.uid !== stored.uid) {
    // A deleted MetricsGroup's policy applies first, even when a new one (perhaps of the same name) matches.
    if (isKind(stored, METRICSGROUP) && !storedMgLetGo) return stored;
    return candidate;
  }
  if (candidate !== undefined && sameOwner(stored, candidate) && stored.schedule === undefined && candidate.schedule !== undefined) return candidate;
  return storedMgLetGo ? candidate : stored;
}

/**
 * The policy an owner sets: its schedule's annotations, then its own (a scheduled run), or a
 * MetricsGroup's spec, read from the objects (or their tombstones). When an object it comes from
 * is gone and no longer remembered here (a restart between the owner's deletion and the
 * decision), the policy stored with the group (`stored`) applies: level-triggered, the decision
 * after a restart is the one before it. Undefined: the owner sets nothing (the flags apply).
 */
export function ownerPolicyOf(owner: OwnerRef | undefined, index: SnapshotIndex, stored: OwnerPolicy | undefined): OwnerPolicy | undefined {
  if (owner === undefined || isKind(owner, NAMESPACE)) return undefined;
  const own = index.annotationsOf(owner);
  const schedule = owner.schedule === undefined ? undefined : index.annotationsOf(owner.schedule);
  const forgotten = own === undefined || (owner.schedule !== undefined && schedule === undefined);
  if (forgotten && stored !== undefined) return stored;
  const overrides = mergeOverrides(schedule?.policy, own?.policy);
  const invalid = joinProblems(schedule?.invalid, own?.invalid);
  if (overrides === undefined && invalid === undefined) return undefined;
  return {
    source: isKind(owner, METRICSGROUP) ? 'metricsgroup' : 'annotations',
    overrides: overrides ?? {},
    ...(invalid === undefined ? {} : { invalid }),
  };
}

const says = (p: PolicyOverrides | undefined): p is PolicyOverrides => p !== undefined && Object.keys(p).length > 0;

/** The schedule's overrides, then the object's, field by field; undefined when neither says anything (most owners: a pass asks for every group). */
function mergeOverrides(schedule: PolicyOverrides | undefined, own: PolicyOverrides | undefined): PolicyOverrides | undefined {
  if (!says(schedule)) return says(own) ? own : undefined;
  return says(own) ? { ...schedule, ...own } : schedule;
}

/** The problems that are there (an empty one is none), joined; undefined when there are none. */
function joinProblems(schedule: string | undefined, own: string | undefined): string | undefined {
  const first = schedule === '' ? undefined : schedule;
  const second = own === '' ? undefined : own;
  if (first === undefined || second === undefined) return first ?? second;
  return `${first}; ${second}`;
}

/**
 * The policy in force for an owner's groups: flag defaults, then the owner's policy
 * (`ownerPolicyOf`), held when that cannot be read or `held` (a MetricsGroup of the namespace
 * whose selector cannot be read).
 */
export function policyFor(owner: OwnerRef | undefined, index: SnapshotIndex, defaults: Policy, held = false): Policy {
  return resolvePolicy(defaults, ownerPolicyOf(owner, index, owner?.policy), held);
}

/** The held namespace's MetricsGroup when the group's namespace has one whose selector cannot be read. */
export function holdingMetricsGroup(group: GroupView, owner: OwnerRef | undefined, index: SnapshotIndex): MetricsGroupInfo | undefined {
  const ns = owner?.namespace ?? group.attribution.namespace;
  return ns === undefined ? undefined : index.heldNamespaces.get(ns);
}

/**
 * The run a group counts as (keepLast): its owner when that is a run, else the run whose pod
 * pushed it; `undefined` when it has none.
 */
export function runOfGroup(group: GroupView, owner: OwnerRef | undefined, index: SnapshotIndex): OwnerRef | undefined {
  if (owner !== undefined && index.roleOf(owner) === 'run') return owner;
  const ns = group.attribution.namespace;
  const pushing = pushingRun(group.attribution, index);
  if (ns === undefined || pushing.run === undefined) return undefined;
  return runOwner(ns, pushing.run, pushing.schedule, pushing.scheduleKey, group.lastPushAt);
}
