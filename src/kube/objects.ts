import { z } from 'zod';
import type { Annotated, CronJobInfo, JobInfo, NamespaceInfo, OwnerAnnotations, OwnerReference, PodInfo } from '../lifecycle/index.js';
import { JOB, POD } from '../model/index.js';
import { ANNOTATION_PREFIX, parseAnnotations } from './annotations.js';

/**
 * Parsers from API objects (as listed, with Date fields, or as watched, with strings) to the
 * slim forms the caches keep. Objects with unusable metadata are dropped (undefined).
 */

export const timestamp = z.union([z.string(), z.date()]).transform((t) => (t instanceof Date ? t.getTime() : Date.parse(t)));

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

export type Metadata = z.infer<typeof metadata>;

/** An object's metadata, checked; undefined when it is unusable. */
export function metadataOf(raw: unknown): Metadata | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const parsed = metadata.safeParse((raw as { metadata?: unknown }).metadata);
  return parsed.success ? parsed.data : undefined;
}

/** The owner references of checked metadata, `controller` made a boolean. */
export function ownerReferencesFrom(meta: Metadata): OwnerReference[] {
  return (meta.ownerReferences ?? []).map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid, controller: r.controller === true }));
}

/** Every entry of `metadata.ownerReferences` of any object (a pod, an owner); [] when unusable. */
export function ownerReferencesOf(raw: unknown): OwnerReference[] {
  if (typeof raw !== 'object' || raw === null) return [];
  const refs = z.array(ownerReference).safeParse((raw as { metadata?: { ownerReferences?: unknown } }).metadata?.ownerReferences ?? []);
  return refs.success ? ownerReferencesFrom({ name: '', uid: '', ownerReferences: refs.data }) : [];
}

const NO_POLICY: OwnerAnnotations = Object.freeze({ policy: Object.freeze({}) });

/**
 * What an owner's `lethe.dev/` annotations say (one shared empty value for the many objects that
 * have none). `claims`: whether it may claim grouping keys (Jobs and CronJobs).
 */
export function ownerAnnotationsOf(meta: Metadata, claims: boolean): Annotated {
  const annotations = meta.annotations;
  if (annotations === undefined || !Object.keys(annotations).some((k) => k.startsWith(ANNOTATION_PREFIX))) return { ...NO_POLICY, claims: [] };
  const parsed = parseAnnotations(annotations, { claims });
  return {
    policy: parsed.policy,
    claims: parsed.claims,
    ...(parsed.problems.length === 0 ? {} : { invalid: parsed.problems.join('; ') }),
    ...(parsed.scheduleKey === undefined ? {} : { scheduleKey: parsed.scheduleKey }),
  };
}

/** A pod as Lethe's pod cache keeps it: for attribution by IP, and as a run when no controller owns it. */
export interface CachedPod extends PodInfo {
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** Succeeded or Failed: its IP may already belong to another pod. */
  readonly finished: boolean;
}

const podBody = z.object({
  spec: z.object({ hostNetwork: z.boolean().optional() }).optional(),
  status: z
    .object({
      phase: z.string().optional(),
      podIP: z.string().optional(),
      podIPs: z.array(z.object({ ip: z.string() })).optional(),
    })
    .optional(),
});

export function parsePod(raw: unknown): CachedPod | undefined {
  const meta = metadataOf(raw);
  const body = podBody.safeParse(raw);
  if (meta === undefined || meta.namespace === undefined || !body.success) return undefined;
  const status = body.data.status;
  const ips = new Set<string>();
  if (status?.podIP !== undefined && status.podIP !== '') ips.add(status.podIP);
  for (const { ip } of status?.podIPs ?? []) if (ip !== '') ips.add(ip);
  const { claims: _none, ...annotated } = ownerAnnotationsOf(meta, false);
  return {
    uid: meta.uid,
    group: POD.group,
    kind: POD.kind,
    namespace: meta.namespace,
    name: meta.name,
    ownerReferences: ownerReferencesFrom(meta),
    ips: [...ips],
    hostNetwork: body.data.spec?.hostNetwork === true,
    finished: status?.phase === 'Succeeded' || status?.phase === 'Failed',
    ...annotated,
  };
}

const jobBody = z.object({
  spec: z.object({ suspend: z.boolean().nullish() }).optional(),
  status: z.object({ startTime: timestamp.nullish() }).optional(),
});

export function parseJob(raw: unknown): JobInfo | undefined {
  const meta = metadataOf(raw);
  const body = jobBody.safeParse(raw);
  if (meta === undefined || meta.namespace === undefined) return undefined;
  const startedAt = body.success ? body.data.status?.startTime : undefined;
  return {
    uid: meta.uid,
    group: JOB.group,
    kind: JOB.kind,
    namespace: meta.namespace,
    name: meta.name,
    ownerReferences: ownerReferencesFrom(meta),
    createdAt: meta.creationTimestamp ?? 0,
    suspended: body.success && body.data.spec?.suspend === true,
    ...(startedAt === undefined || startedAt === null || Number.isNaN(startedAt) ? {} : { startedAt }),
    ...ownerAnnotationsOf(meta, true),
  };
}

const cronJobBody = z.object({
  spec: z.object({ schedule: z.string(), timeZone: z.string().optional(), suspend: z.boolean().optional() }),
});

export function parseCronJob(raw: unknown): CronJobInfo | undefined {
  const meta = metadataOf(raw);
  const body = cronJobBody.safeParse(raw);
  if (meta === undefined || meta.namespace === undefined || !body.success) return undefined;
  const spec = body.data.spec;
  return {
    uid: meta.uid,
    namespace: meta.namespace,
    name: meta.name,
    createdAt: meta.creationTimestamp ?? 0,
    schedule: spec.schedule,
    suspend: spec.suspend === true,
    ...ownerAnnotationsOf(meta, true),
    ...(spec.timeZone === undefined ? {} : { timeZone: spec.timeZone }),
  };
}

const namespaceBody = z.object({ status: z.object({ phase: z.string().optional() }).optional() });

export function parseNamespace(raw: unknown): NamespaceInfo | undefined {
  const meta = metadataOf(raw);
  const body = namespaceBody.safeParse(raw);
  if (meta === undefined || !body.success) return undefined;
  return {
    name: meta.name,
    uid: meta.uid,
    terminating: meta.deletionTimestamp !== undefined || body.data.status?.phase === 'Terminating',
  };
}
