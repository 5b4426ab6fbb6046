import { z } from 'zod';
import { ANNOTATION_PREFIX } from './annotations.js';
import type { OwnerObjectInfo, OwnerReference, OwnerScheduleInfo } from '../lifecycle/index.js';

/**
 * Parsers for objects of the configured owner kinds: the metadata Lethe keeps of every object
 * (a PartialObjectMetadata from the metadata-only watch, or a full object), and the schedule of
 * the schedule kinds whose spec Lethe knows how to read.
 */

const timestamp = z.union([z.string(), z.date()]).transform((t) => (t instanceof Date ? t.getTime() : Date.parse(t)));

const ownerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
});

const metadata = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string(),
  creationTimestamp: timestamp.optional(),
  deletionTimestamp: timestamp.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(ownerReference).optional(),
});


/** Every entry of `metadata.ownerReferences` of any object (a pod, an owner); [] when unusable. */
export function ownerReferencesOf(raw: unknown): OwnerReference[] {
  if (typeof raw !== 'object' || raw === null) return [];
  const refs = z.array(ownerReference).safeParse((raw as { metadata?: { ownerReferences?: unknown } }).metadata?.ownerReferences ?? []);
  if (!refs.success) return [];
  return refs.data.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid, controller: r.controller === true }));
}

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
  if (typeof raw !== 'object' || raw === null) return undefined;
  const parsed = metadata.safeParse((raw as { metadata?: unknown }).metadata);
  if (!parsed.success) return undefined;
  const meta = parsed.data;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.annotations ?? {})) if (k.startsWith(ANNOTATION_PREFIX)) annotations[k] = v;
  const schedule = readSchedule?.(raw);
  return {
    uid: meta.uid,
    group: identity.group,
    kind: identity.kind,
    namespace: meta.namespace ?? '',
    name: meta.name,
    ownerReferences: (meta.ownerReferences ?? []).map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid, controller: r.controller === true })),
    createdAt: meta.creationTimestamp ?? 0,
    deleting: meta.deletionTimestamp !== undefined,
    annotations,
    ...(schedule === undefined ? {} : typeof schedule === 'string' ? { scheduleError: schedule } : { schedule }),
  };
}
