import { z } from 'zod';
import type { OwnerObjectInfo, OwnerScheduleInfo } from '../lifecycle/index.js';
import { metadataOf, ownerAnnotationsOf, ownerReferencesFrom } from './objects.js';

/**
 * Parsers for objects of the configured owner kinds: the metadata Lethe keeps of every object
 * (a PartialObjectMetadata from the metadata-only watch, or a full object), and the schedule of
 * the schedule kinds whose spec Lethe knows how to read.
 */

/** What an owner kind's objects are, from discovery. */
export interface OwnerKindIdentity {
  readonly group: string;
  readonly kind: string;
  /** `resource.group`, as configured. */
  readonly name: string;
}

/** Reads a schedule from a schedule kind's full object; a string says why it cannot. */
export type ScheduleReader = (raw: unknown) => OwnerScheduleInfo | string;

/**
 * Argo Workflows CronWorkflow (argoproj.io/v1alpha1): `spec.schedules` (v3.6 and later), or the
 * older `spec.schedule`, which wins when set (as in Argo's own `getSchedules`); `spec.timezone`
 * (lower-case z; empty: the controller's local time, taken as UTC); `spec.suspend`.
 */
const cronWorkflowSpec = z.object({
  spec: z.object({
    schedule: z.string().optional(),
    schedules: z.array(z.string()).optional(),
    timezone: z.string().optional(),
    suspend: z.boolean().optional(),
  }),
});

export const readCronWorkflowSchedule: ScheduleReader = (raw) => {
  const parsed = cronWorkflowSpec.safeParse(raw);
  if (!parsed.success) return 'spec.schedule, spec.schedules, spec.timezone or spec.suspend has an unexpected type';
  const spec = parsed.data.spec;
  const schedules = spec.schedule !== undefined && spec.schedule !== '' ? [spec.schedule] : (spec.schedules ?? []).filter((s) => s !== '');
  if (schedules.length === 0) return 'neither spec.schedules nor spec.schedule is set';
  return { schedules, suspend: spec.suspend === true, ...(spec.timezone === undefined || spec.timezone === '' ? {} : { timeZone: spec.timezone }) };
};

/** Spark operator ScheduledSparkApplication (sparkoperator.k8s.io/v1beta2): `spec.schedule`, `spec.timeZone`, `spec.suspend`. */
const scheduledSparkSpec = z.object({
  spec: z.object({ schedule: z.string().optional(), timeZone: z.string().optional(), suspend: z.boolean().optional() }),
});

export const readScheduledSparkApplicationSchedule: ScheduleReader = (raw) => {
  const parsed = scheduledSparkSpec.safeParse(raw);
  if (!parsed.success) return 'spec.schedule, spec.timeZone or spec.suspend has an unexpected type';
  const spec = parsed.data.spec;
  if (spec.schedule === undefined || spec.schedule === '') return 'spec.schedule is not set';
  return { schedules: [spec.schedule], suspend: spec.suspend === true, ...(spec.timeZone === undefined || spec.timeZone === '' ? {} : { timeZone: spec.timeZone }) };
};

/** Schedule kinds whose spec Lethe reads (a full watch); other schedule kinds are watched metadata-only. */
export const SCHEDULE_READERS: Readonly<Record<string, ScheduleReader>> = {
  'cronworkflows.argoproj.io': readCronWorkflowSchedule,
  'scheduledsparkapplications.sparkoperator.k8s.io': readScheduledSparkApplicationSchedule,
};

/**
 * A listed or watched object of an owner kind → what the caches keep; undefined when its
 * metadata is unusable. With a schedule reader, the schedule is read from the full object.
 */
export function parseOwnerObject(raw: unknown, identity: OwnerKindIdentity, readSchedule?: ScheduleReader): OwnerObjectInfo | undefined {
  const meta = metadataOf(raw);
  if (meta === undefined) return undefined;
  const { claims: _none, ...annotated } = ownerAnnotationsOf(meta, false);
  const schedule = readSchedule?.(raw);
  return {
    uid: meta.uid,
    group: identity.group,
    kind: identity.kind,
    namespace: meta.namespace ?? '',
    name: meta.name,
    ownerReferences: ownerReferencesFrom(meta),
    createdAt: meta.creationTimestamp ?? 0,
    deleting: meta.deletionTimestamp !== undefined,
    ...annotated,
    ...(schedule === undefined ? {} : typeof schedule === 'string' ? { scheduleError: schedule } : { schedule }),
  };
}
