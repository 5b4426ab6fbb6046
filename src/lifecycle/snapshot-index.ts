import { CRONJOB, JOB, METRICSGROUP, NAMESPACE, POD, isKind, kindKey, type ObjectKind, type ObjectRef } from '../model/index.js';
import type { ClusterSnapshot, CronJobInfo, JobInfo, MetricsGroupInfo, OwnerAnnotations, Presence } from './cluster-snapshot.js';
import type { RunQueue } from './overdue.js';
import { groupOfApiVersion, resolveOwnerChain, type ChainObject, type OwnerChain } from './owner-chain.js';

/**
 * PURE: look-ups over one cluster snapshot, built once per pass: MetricsGroups and claims by
 * namespace, objects by UID and by name, the role of each kind (run, schedule), whether an owner
 * still exists, and the runs of each schedule.
 */

/** What an owner is to its groups. */
export type OwnerRole = 'namespace' | 'metricsgroup' | 'run' | 'schedule';

interface RunState {
  readonly createdAt: number;
  readonly suspended: boolean;
  readonly startedAt: number | undefined;
}

export class SnapshotIndex {
  /** MetricsGroups whose selector can be read (an invalid spec still selects, and holds what it selects). */
  readonly metricsGroups = new Map<string, MetricsGroupInfo[]>();
  /** Namespaces with a MetricsGroup whose selector cannot be read: every group there is held. */
  readonly heldNamespaces = new Map<string, MetricsGroupInfo>();
  readonly claimingJobs = new Map<string, JobInfo[]>();
  readonly claimingCronJobs = new Map<string, CronJobInfo[]>();
  private readonly scheduleKinds: ReadonlySet<string>;
  /** By kind, namespace and name: UIDs (built for a kind when first asked). */
  private readonly byName = new Map<string, Map<string, Map<string, string>>>();
  private runsBySchedule: Map<string, RunState[]> | undefined;

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
    this.scheduleKinds = new Set(snapshot.ownerKinds.rules.scheduleKinds.map(kindKey));
  }

  /** Namespace, MetricsGroup, a schedule kind (CronJob, CronWorkflow, …), else a run (Job, Pod, Workflow, …). */
  roleOf(kind: ObjectKind): OwnerRole {
    // Jobs and CronJobs (most owners) without building a key: a pass asks several times per group.
    if (isKind(kind, JOB)) return 'run';
    if (isKind(kind, CRONJOB)) return 'schedule';
    if (isKind(kind, NAMESPACE)) return 'namespace';
    if (isKind(kind, METRICSGROUP)) return 'metricsgroup';
    return this.scheduleKinds.has(kindKey(kind)) ? 'schedule' : 'run';
  }

  /**
   * Whether an owner (not a namespace) still exists in the caches: `unknown` for a kind Lethe
   * cannot read now (a configured kind not installed or not readable, or not configured at all),
   * whose groups are then kept. An object being deleted (deletionTimestamp set) counts as gone.
   */
  presence(ref: ObjectKind & { readonly uid: string }): Presence {
    const snap = this.snapshot;
    const has = (found: boolean): Presence => (found ? 'present' : 'absent');
    if (isKind(ref, JOB)) return has(snap.jobs.has(ref.uid));
    if (isKind(ref, CRONJOB)) return has(snap.cronJobs.has(ref.uid));
    if (isKind(ref, POD)) return has(snap.pods.has(ref.uid));
    if (isKind(ref, METRICSGROUP)) return has(snap.metricsGroups.has(ref.uid));
    if (!snap.ownerKinds.readable.has(kindKey(ref))) return 'unknown';
    const found = snap.owners.get(ref.uid);
    return has(found !== undefined && found.deleting === false);
  }

  /** Why the presence of an object of this kind is unknown (see `presence`). */
  whyUnknown(kind: ObjectKind): string {
    const key = kindKey(kind);
    return (
      this.snapshot.ownerKinds.notes.get(key) ??
      `${key} is not a configured owner kind (--lifecycle.run-kinds, --lifecycle.schedule-kinds), or not discovered yet (see ownerKinds in /api/v1/status)`
    );
  }

  /** The `lethe.dev/` annotations of an object that can own groups, from the caches or its tombstone. */
  annotationsOf(ref: ObjectKind & { readonly uid: string }): OwnerAnnotations | undefined {
    const snap = this.snapshot;
    const cached = isKind(ref, JOB)
      ? snap.jobs.get(ref.uid)
      : isKind(ref, CRONJOB)
        ? snap.cronJobs.get(ref.uid)
        : isKind(ref, POD)
          ? snap.pods.get(ref.uid)
          : isKind(ref, METRICSGROUP)
            ? snap.metricsGroups.get(ref.uid)
            : snap.owners.get(ref.uid);
    return cached ?? snap.tombstones.get(ref.uid);
  }

  /** An object the owner chain can walk through, by UID: a pod, a Job, a CronJob, an object of a configured kind. */
  readonly lookup = (uid: string): ChainObject | undefined => {
    const snap = this.snapshot;
    const found = snap.owners.get(uid) ?? snap.jobs.get(uid) ?? snap.pods.get(uid);
    if (found !== undefined) return found;
    const cj = snap.cronJobs.get(uid);
    return cj === undefined ? undefined : { uid: cj.uid, group: CRONJOB.group, kind: CRONJOB.kind, namespace: cj.namespace, name: cj.name, ownerReferences: [] };
  };

  /** The owner chain from an object up, through the caches (as the attribution walks it from a pod). */
  chainFrom(object: ChainObject): OwnerChain {
    return resolveOwnerChain(object, this.lookup, this.snapshot.ownerKinds.rules);
  }

  /** The UID of the object of this kind named so in `ns` (the first one, should the cache briefly hold two). */
  uidNamed(kind: ObjectKind, ns: string, name: string): string | undefined {
    const key = kindKey(kind);
    let namespaces = this.byName.get(key);
    if (namespaces === undefined) {
      namespaces = new Map();
      const snap = this.snapshot;
      const objects: Iterable<{ namespace: string; name: string; uid: string; group?: string; kind?: string }> = isKind(kind, JOB)
        ? snap.jobs.values()
        : isKind(kind, CRONJOB)
          ? snap.cronJobs.values()
          : [...snap.owners.values()].filter((o) => isKind(o, kind) && !o.deleting);
      for (const o of objects) {
        let names = namespaces.get(o.namespace);
        if (names === undefined) namespaces.set(o.namespace, (names = new Map<string, string>()));
        if (!names.has(o.name)) names.set(o.name, o.uid);
      }
      this.byName.set(key, namespaces);
    }
    return namespaces.get(ns)?.get(name);
  }

  /**
   * What the Jobs below a schedule say about its runs: the earliest one waiting suspended (a run
   * queued for Kueue's admission), and when the newest one that does not wait was admitted. A
   * schedule's runs of other kinds say it through their Jobs (a JobSet's), when they have any.
   */
  queueOf(schedule: ObjectRef): RunQueue {
    if (this.runsBySchedule === undefined) {
      this.runsBySchedule = new Map();
      for (const job of this.snapshot.jobs.values()) {
        const controller = job.ownerReferences.find((r) => r.controller);
        if (controller === undefined && job.ownerReferences.length === 0) continue;
        // A CronJob's Job (most of them) needs no walk.
        const cronJob = controller !== undefined && controller.kind === CRONJOB.kind && groupOfApiVersion(controller.apiVersion) === CRONJOB.group;
        const uid = cronJob ? controller.uid : this.chainFrom(job).schedule?.uid;
        if (uid === undefined) continue;
        const runs = this.runsBySchedule.get(uid) ?? [];
        runs.push({ createdAt: job.createdAt, suspended: job.suspended, startedAt: job.startedAt });
        this.runsBySchedule.set(uid, runs);
      }
    }
    const runs = this.runsBySchedule.get(schedule.uid) ?? [];
    let queuedSince: number | undefined;
    let newest: RunState | undefined;
    for (const run of runs) {
      if (run.suspended) queuedSince = Math.min(queuedSince ?? run.createdAt, run.createdAt);
      else if (newest === undefined || run.createdAt > newest.createdAt) newest = run;
    }
    return {
      ...(queuedSince === undefined ? {} : { queuedSince }),
      ...(newest?.startedAt === undefined ? {} : { admittedAt: newest.startedAt }),
    };
  }
}
