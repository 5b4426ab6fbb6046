import { z } from 'zod';
import { parseDuration } from '../config/index.js';
import { groupOfApiVersion, type GroupSelector, type MetricsGroupInfo, type MetricsGroupOwnerRef } from '../lifecycle/index.js';
import type { PolicyOverrides } from '../model/index.js';

/**
 * The MetricsGroup custom resource (lethe.dev/v1alpha1): user-written cluster data, checked here
 * with zod and turned into lifecycle types.
 */

export const METRICS_GROUP = { group: 'lethe.dev', version: 'v1alpha1', plural: 'metricsgroups', kind: 'MetricsGroup' } as const;

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration (use e.g. 30s, 5m, 24h): ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return ms;
});

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a label name');

const requirement = z
  .object({
    key: labelName,
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string()).default([]),
  })
  .refine((r) => (r.operator === 'In' || r.operator === 'NotIn' ? r.values.length > 0 : r.values.length === 0), {
    message: 'In and NotIn need values; Exists and DoesNotExist take none',
  });

const selectorSchema = z.object({
  matchLabels: z.record(labelName, z.string()).default({}),
  matchExpressions: z.array(requirement).default([]),
});

const overdueSchema = z.object({
  after: duration.optional(),
  schedule: z.string().min(1).optional(),
  timeZone: z.string().min(1).optional(),
});

/** The API group of the kinds a `spec.ownerRef` may name without an apiVersion. */
const BUILT_IN_GROUPS: Readonly<Record<string, string>> = { Job: 'batch', CronJob: 'batch', Pod: '' };

/** The spec fields besides the selector, each read on its own so that one bad value spoils no other. */
const fieldSchemas = {
  ownerRef: z
    .object({ apiVersion: z.string().min(1).optional(), kind: z.string().min(1), name: z.string().min(1), uid: z.string().min(1).optional() })
    .refine((r) => r.kind !== 'Namespace' && r.kind !== 'MetricsGroup', { message: 'names the object whose life bounds the groups: a Job, a CronJob, a pod or an object of a configured owner kind' })
    .transform((r, ctx): MetricsGroupOwnerRef => {
      const group = r.apiVersion === undefined ? BUILT_IN_GROUPS[r.kind] : groupOfApiVersion(r.apiVersion);
      if (group === undefined) {
        ctx.addIssue({ code: 'custom', message: `apiVersion is needed for kind ${r.kind} (e.g. argoproj.io/v1alpha1)` });
        return z.NEVER;
      }
      return { group, kind: r.kind, name: r.name, ...(r.uid === undefined ? {} : { uid: r.uid }) };
    })
    .optional(),
  ttl: duration.optional(),
  keepLast: z.number().int().min(0).optional(),
  maxGrace: duration.optional(),
  deletionPolicy: z.enum(['Delete', 'Orphan']).optional(),
  overdue: overdueSchema.optional(),
};

const timestamp = z.union([z.string(), z.date()]).transform((t) => (t instanceof Date ? t.getTime() : Date.parse(t)));

const metadataSchema = z.object({
  name: z.string(),
  namespace: z.string(),
  uid: z.string(),
  generation: z.number().int().default(1),
  creationTimestamp: timestamp.optional(),
});

/** A MetricsGroup as the lifecycle sees it, plus its current status (to patch only on change). */
export interface MetricsGroupObject extends MetricsGroupInfo {
  readonly status: unknown;
}

/** `spec.ttl="soon": not a duration ...`: the field, the value it has (shortened) and what is wrong. */
function problemOf(field: string, value: unknown, error: z.ZodError): string {
  const shown = JSON.stringify(value) ?? 'undefined';
  const text = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
  const why = error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join(', ');
  return `${field}=${text}: ${why}`;
}

/**
 * Parses a MetricsGroup from the API server. Undefined when its metadata is unusable. A spec with
 * a value that cannot be read gives a MetricsGroup marked `invalid` (its status says why): it
 * still selects its groups, with whatever of its policy could be read, and holds them (never
 * more destructive by mistake); when the selector itself cannot be read it holds its whole
 * namespace.
 */
export function parseMetricsGroup(raw: unknown): MetricsGroupObject | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const obj = raw as { metadata?: unknown; spec?: unknown; status?: unknown };
  const meta = metadataSchema.safeParse(obj.metadata);
  if (!meta.success) return undefined;
  const m = meta.data;
  const base = {
    uid: m.uid,
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    createdAt: m.creationTimestamp ?? 0,
    status: obj.status,
  };
  const spec: Record<string, unknown> = typeof obj.spec === 'object' && obj.spec !== null ? (obj.spec as Record<string, unknown>) : {};
  const problems: string[] = typeof obj.spec === 'object' && obj.spec !== null ? [] : ['spec: expected an object'];
  const read = <T>(name: keyof typeof fieldSchemas, schema: z.ZodType<T>): T | undefined => {
    const result = schema.safeParse(spec[name]);
    if (result.success) return result.data;
    problems.push(problemOf(`spec.${name}`, spec[name], result.error));
    return undefined;
  };
  const selectorResult = selectorSchema.safeParse(spec['selector']);
  let selector: GroupSelector | undefined;
  if (!selectorResult.success) problems.push(problemOf('spec.selector', spec['selector'], selectorResult.error));
  else if (Object.keys(selectorResult.data.matchLabels).length === 0 && selectorResult.data.matchExpressions.length === 0) {
    problems.push('spec.selector: names no label (it would select every group of the namespace)');
  } else selector = selectorResult.data;
  const ownerRef = read('ownerRef', fieldSchemas.ownerRef);
  const ttl = read('ttl', fieldSchemas.ttl);
  const keepLast = read('keepLast', fieldSchemas.keepLast);
  const maxGrace = read('maxGrace', fieldSchemas.maxGrace);
  const deletionPolicy = read('deletionPolicy', fieldSchemas.deletionPolicy);
  const overdue = read('overdue', fieldSchemas.overdue);
  const policy: PolicyOverrides = {
    ...(ttl === undefined ? {} : { ttlMs: ttl }),
    ...(keepLast === undefined ? {} : { keepLast }),
    ...(maxGrace === undefined ? {} : { maxGraceMs: maxGrace }),
    ...(deletionPolicy === undefined ? {} : { deletionPolicy }),
    ...(overdue?.after === undefined ? {} : { overdueAfterMs: overdue.after }),
  };
  const schedule = overdue?.schedule;
  const timeZone = overdue?.timeZone;
  return {
    ...base,
    selector: selector ?? { matchLabels: {}, matchExpressions: [] },
    policy,
    ...(ownerRef === undefined ? {} : { ownerRef }),
    ...(schedule === undefined ? {} : { schedule: { schedule, ...(timeZone === undefined ? {} : { timeZone }) } }),
    ...(problems.length === 0 ? {} : { invalid: problems.join('; ') }),
    ...(selector === undefined ? { holdsNamespace: true } : {}),
  };
}
