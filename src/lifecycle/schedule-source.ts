import { CRONJOB, isKind, type ObjectRef, type OwnerRef } from '../model/index.js';
import { ownerRefTarget } from './checks.js';
import type { CronJobInfo, MetricsGroupInfo } from './cluster-snapshot.js';
import type { Schedule } from './overdue.js';
import type { SnapshotIndex } from './snapshot-index.js';

/**
 * PURE: where a group's schedule comes from — its CronJob, its CronWorkflow or
 * ScheduledSparkApplication (read from their specs), or its MetricsGroup's own schedule or
 * `spec.ownerRef` — for overdue.
 */

export interface ScheduleSource {
  readonly schedule: Schedule;
  /** Runs before this (the schedule's creation) are not expected to have pushed. */
  readonly createdAt: number;
  readonly suspended: boolean;
  /** The schedule object whose runs may wait queued (absent for a MetricsGroup's own schedule without one). */
  readonly object?: ObjectRef;
}

/** A schedule, `undefined` when there is none to read, or why the one there cannot be read. */
export type ScheduleLookup = ScheduleSource | string | undefined;

function cronJobSource(cj: CronJobInfo): ScheduleSource {
  return {
    schedule: { schedules: [cj.schedule], ...(cj.timeZone === undefined ? {} : { timeZone: cj.timeZone }) },
    createdAt: cj.createdAt,
    suspended: cj.suspend,
    object: { ...CRONJOB, name: cj.name, uid: cj.uid },
  };
}

/** The schedule of an object of a schedule kind: a CronJob's, or what Lethe reads from the spec of a CronWorkflow or ScheduledSparkApplication. */
export function scheduleOfObject(ref: ObjectRef, index: SnapshotIndex): ScheduleLookup {
  const snap = index.snapshot;
  if (isKind(ref, CRONJOB)) {
    const cj = snap.cronJobs.get(ref.uid);
    return cj === undefined ? undefined : cronJobSource(cj);
  }
  const o = snap.owners.get(ref.uid);
  if (o === undefined) return undefined;
  if (o.scheduleError !== undefined) return `${o.kind} ${o.namespace}/${o.name}: ${o.scheduleError}`;
  if (o.schedule === undefined) return undefined;
  const { schedules, timeZone, suspend } = o.schedule;
  return {
    schedule: { schedules, ...(timeZone === undefined ? {} : { timeZone }) },
    createdAt: o.createdAt,
    suspended: suspend,
    object: { group: o.group, kind: o.kind, name: o.name, uid: o.uid },
  };
}

/** A MetricsGroup's schedule: its own (`spec.overdue.schedule`), else its `spec.ownerRef`'s when that is a schedule. */
export function metricsGroupSchedule(mg: MetricsGroupInfo, index: SnapshotIndex): ScheduleLookup {
  const target = ownerRefTarget(mg, index);
  const scheduleTarget = target !== undefined && target.presence === 'present' && index.roleOf(target.ref) === 'schedule' ? target.ref : undefined;
  if (mg.schedule !== undefined) {
    return {
      schedule: { schedules: [mg.schedule.schedule], ...(mg.schedule.timeZone === undefined ? {} : { timeZone: mg.schedule.timeZone }) },
      createdAt: mg.createdAt,
      suspended: false,
      ...(scheduleTarget === undefined ? {} : { object: scheduleTarget }),
    };
  }
  return scheduleTarget === undefined ? undefined : scheduleOfObject(scheduleTarget, index);
}

/** Where a group's schedule comes from: its owner when that is a schedule, its run's schedule, or its MetricsGroup's. */
export function scheduleSourceOf(owner: OwnerRef | undefined, index: SnapshotIndex): ScheduleLookup {
  if (owner === undefined) return undefined;
  const role = index.roleOf(owner);
  if (role === 'schedule') return scheduleOfObject(owner, index);
  if (owner.schedule !== undefined) return scheduleOfObject(owner.schedule, index);
  if (role !== 'metricsgroup') return undefined;
  const mg = index.snapshot.metricsGroups.get(owner.uid);
  return mg === undefined ? undefined : metricsGroupSchedule(mg, index);
}
