import { z } from 'zod';
import type { CronJobInfo, JobInfo, NamespaceInfo } from '../lifecycle/index.js';
import type { ObjectRef } from '../model/index.js';
import { parseAnnotations } from './annotations.js';

/**
 * Parsers from API objects (as listed, with Date fields, or as watched, with strings) to the
 * slim forms the caches keep. Objects with unusable metadata are dropped (undefined).
 */

const timestamp = z.union([z.string(), z.date()]).transform((t) => (t instanceof Date ? t.getTime() : Date.parse(t)));

const ownerReference = z.object({
  apiVersion: z.string().optional(),
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

type Metadata = z.infer<typeof metadata>;

function metadataOf(raw: unknown): Metadata | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const parsed = metadata.safeParse((raw as { metadata?: unknown }).metadata);
  return parsed.success ? parsed.data : undefined;
}

/** The controller owner reference of the given kind, as a name + UID. */
function controllerOf(meta: Metadata, kind: string): ObjectRef | undefined {
  const ref = meta.ownerReferences?.find((r) => r.controller === true && r.kind === kind);
  return ref === undefined ? undefined : { name: ref.name, uid: ref.uid };
}

export interface PodInfo {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** Succeeded or Failed: its IP may already belong to another pod. */
  readonly finished: boolean;
  readonly job?: ObjectRef;
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

export function parsePod(raw: unknown): PodInfo | undefined {
  const meta = metadataOf(raw);
  const body = podBody.safeParse(raw);
  if (meta === undefined || meta.namespace === undefined || !body.success) return undefined;
  const status = body.data.status;
  const ips = new Set<string>();
  if (status?.podIP !== undefined && status.podIP !== '') ips.add(status.podIP);
  for (const { ip } of status?.podIPs ?? []) if (ip !== '') ips.add(ip);
  const job = controllerOf(meta, 'Job');
  return {
    uid: meta.uid,
    namespace: meta.namespace,
    name: meta.name,
    ips: [...ips],
    hostNetwork: body.data.spec?.hostNetwork === true,
    finished: status?.phase === 'Succeeded' || status?.phase === 'Failed',
    ...(job === undefined ? {} : { job }),
  };
}

export function parseJob(raw: unknown): JobInfo | undefined {
  const meta = metadataOf(raw);
  if (meta === undefined || meta.namespace === undefined) return undefined;
  const { policy, claims, problems } = parseAnnotations(meta.annotations);
  const cronJob = controllerOf(meta, 'CronJob');
  return {
    uid: meta.uid,
    namespace: meta.namespace,
    name: meta.name,
    createdAt: meta.creationTimestamp ?? 0,
    policy,
    claims,
    ...(problems.length === 0 ? {} : { invalid: problems.join('; ') }),
    ...(cronJob === undefined ? {} : { cronJob }),
  };
}

const cronJobBody = z.object({
  spec: z.object({ schedule: z.string(), timeZone: z.string().optional(), suspend: z.boolean().optional() }),
});

export function parseCronJob(raw: unknown): CronJobInfo | undefined {
  const meta = metadataOf(raw);
  const body = cronJobBody.safeParse(raw);
  if (meta === undefined || meta.namespace === undefined || !body.success) return undefined;
  const { policy, claims, problems } = parseAnnotations(meta.annotations);
  const spec = body.data.spec;
  return {
    uid: meta.uid,
    namespace: meta.namespace,
    name: meta.name,
    createdAt: meta.creationTimestamp ?? 0,
    schedule: spec.schedule,
    suspend: spec.suspend === true,
    policy,
    claims,
    ...(problems.length === 0 ? {} : { invalid: problems.join('; ') }),
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
