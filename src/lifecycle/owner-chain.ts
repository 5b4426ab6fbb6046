import { CRONJOB, JOB, POD, kindKey, type ObjectKind } from '../model/index.js';

/**
 * PURE: from a pushing pod up its owners, by UID, to the group's run and the run's schedule.
 *
 * The walk follows each object's controller ownerReference (the one the garbage collector and
 * the controllers treat as "the" owner). An object without a controller reference is followed
 * through its only ownerReference of a configured kind, if it has exactly one: the Spark
 * operator's ScheduledSparkApplication owns its SparkApplications without `controller: true`.
 *
 * - The **run** is the outermost owner of a run kind below the schedule: a JobSet's pods belong to
 *   the JobSet (not to one of its Jobs), a TrainJob's to the TrainJob, a PipelineRun's to the
 *   PipelineRun (not to one of its TaskRuns). Jobs are run kinds too, so a plain Job and a CronJob's
 *   Job are runs as before. With no run kind in the chain, a pod at the top of the chain (no owner
 *   to follow) is its own run: a bare pod, or a Spark driver started without the operator for its
 *   executors.
 * - The **schedule** is the first owner of a schedule kind met on the way up; the walk stops there.
 *   An object directly below a schedule is a run of it, whatever its kind.
 *
 * The walk ends at an owner that is not known: of a kind nobody watches (`unwatched`: nothing
 * more can be learned, the answer is final), or of a watched kind but missing from the caches
 * (`missing`: deleted, or not seen yet; asking again later may give more). It also ends on a
 * cycle and after `maxDepth` hops. An owner found by UID must match its reference (kind, group,
 * name) and sit in the dependent's namespace (or be cluster-scoped), as the garbage collector
 * requires; otherwise it counts as missing.
 */

/** One entry of `metadata.ownerReferences`. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller: boolean;
}

/** An object as the caches know it (metadata only). */
export interface ChainObject {
  readonly uid: string;
  readonly group: string;
  readonly kind: string;
  /** `''` for a cluster-scoped object. */
  readonly namespace: string;
  readonly name: string;
  readonly ownerReferences: readonly OwnerReference[];
}

/** An object of a chain: found in the caches, or only known from a reference to it. */
export interface ChainLink {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** False for an owner known only from a reference (missing or unwatched). */
  readonly found: boolean;
}

export interface OwnerChainRules {
  /** Kinds whose objects are runs (Job included). */
  readonly runKinds: readonly ObjectKind[];
  /** Kinds whose objects are schedules (CronJob included). */
  readonly scheduleKinds: readonly ObjectKind[];
  /** Hops followed at most (default 16: real chains have at most four). */
  readonly maxDepth?: number;
}

export type ChainEnd = 'top' | 'schedule' | 'unwatched' | 'missing' | 'cycle' | 'depth';

export interface OwnerChain {
  /** The group's run; undefined when the chain has none (a Deployment's pod, say). */
  readonly run: ChainLink | undefined;
  /** The run's schedule, when one was met above it. */
  readonly schedule: ChainLink | undefined;
  /** The objects walked, from the pod up; the last one may be known only from a reference. */
  readonly links: readonly ChainLink[];
  readonly end: ChainEnd;
  /**
   * True when nothing above the walked links could change `run` or `schedule` (the chain reached
   * its top, a schedule, or an unwatched kind); false after a missing owner, a cycle or the depth
   * limit, when run and schedule are the best known so far.
   */
  readonly complete: boolean;
}

export const DEFAULT_MAX_DEPTH = 16;

/** `argoproj.io/v1alpha1` → `argoproj.io`; `v1` → `''`. */
export function groupOfApiVersion(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** The rules for the built-in kinds (Job runs, CronJob schedules) plus the configured ones. */
export function ownerChainRules(runKinds: readonly ObjectKind[], scheduleKinds: readonly ObjectKind[], maxDepth?: number): OwnerChainRules {
  return {
    runKinds: [JOB, ...runKinds.filter((k) => kindKey(k) !== kindKey(JOB))],
    scheduleKinds: [CRONJOB, ...scheduleKinds.filter((k) => kindKey(k) !== kindKey(CRONJOB))],
    ...(maxDepth === undefined ? {} : { maxDepth }),
  };
}

/** The owner reference the walk follows from `object`, if any. */
export function followedReference(object: ChainObject, watched: ReadonlySet<string>): OwnerReference | undefined {
  const controller = object.ownerReferences.find((r) => r.controller);
  if (controller !== undefined) return controller;
  const configured = object.ownerReferences.filter((r) => watched.has(kindKey({ group: groupOfApiVersion(r.apiVersion), kind: r.kind })));
  return configured.length === 1 ? configured[0] : undefined;
}

const link = (o: ChainObject): ChainLink => ({ group: o.group, kind: o.kind, namespace: o.namespace, name: o.name, uid: o.uid, found: true });

function referenced(ref: OwnerReference, namespace: string): ChainLink {
  return { group: groupOfApiVersion(ref.apiVersion), kind: ref.kind, namespace, name: ref.name, uid: ref.uid, found: false };
}

/** The found owner is the one the reference means (the garbage collector's identity check). */
function matches(owner: ChainObject, ref: OwnerReference, dependentNamespace: string): boolean {
  return (
    owner.kind === ref.kind &&
    owner.group === groupOfApiVersion(ref.apiVersion) &&
    owner.name === ref.name &&
    (owner.namespace === dependentNamespace || owner.namespace === '')
  );
}

export function resolveOwnerChain(pod: ChainObject, lookup: (uid: string) => ChainObject | undefined, rules: OwnerChainRules): OwnerChain {
  const runKinds = new Set(rules.runKinds.map(kindKey));
  const scheduleKinds = new Set(rules.scheduleKinds.map(kindKey));
  const configured = new Set([...runKinds, ...scheduleKinds]);
  const watched = new Set([...configured, kindKey(POD)]);
  const maxDepth = rules.maxDepth ?? DEFAULT_MAX_DEPTH;
  const isRun = (l: ChainLink): boolean => runKinds.has(kindKey(l));
  const isSchedule = (l: ChainLink): boolean => scheduleKinds.has(kindKey(l));

  const links: ChainLink[] = [link(pod)];
  const seen = new Set([pod.uid]);
  let current = pod;
  let end: ChainEnd = 'top';
  for (;;) {
    const ref = followedReference(current, configured);
    if (ref === undefined) break;
    if (seen.has(ref.uid)) {
      end = 'cycle';
      break;
    }
    if (links.length - 1 >= maxDepth) {
      end = 'depth';
      break;
    }
    seen.add(ref.uid);
    const ownerKey = kindKey({ group: groupOfApiVersion(ref.apiVersion), kind: ref.kind });
    // Only configured kinds (and pods) are followed, whatever else `lookup` may know.
    const owner = watched.has(ownerKey) ? lookup(ref.uid) : undefined;
    if (owner === undefined || !matches(owner, ref, current.namespace)) {
      links.push(referenced(ref, current.namespace));
      end = scheduleKinds.has(ownerKey) ? 'schedule' : watched.has(ownerKey) ? 'missing' : 'unwatched';
      break;
    }
    const found = link(owner);
    links.push(found);
    if (isSchedule(found)) {
      end = 'schedule';
      break;
    }
    current = owner;
  }

  const top = links.at(-1);
  const schedule = end === 'schedule' ? top : undefined;
  const below = schedule === undefined ? links : links.slice(0, -1);
  let run: ChainLink | undefined;
  for (const l of below) if (isRun(l)) run = l;
  if (run === undefined && schedule !== undefined) run = below.at(-1);
  // A pod at the top of its chain (no owner to follow) is its own run.
  if (run === undefined && end === 'top' && top !== undefined && kindKey(top) === kindKey(POD)) run = top;
  return {
    run,
    schedule: run === undefined ? undefined : schedule,
    links,
    end,
    complete: end === 'top' || end === 'schedule' || end === 'unwatched',
  };
}
