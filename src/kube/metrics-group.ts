import { z } from 'zod';
import { parseDuration } from '../config/index.js';
import type { GroupSelector, MetricsGroupInfo } from '../lifecycle/index.js';
import type { PolicyOverrides } from '../model/index.js';

/**
 * The MetricsGroup custom resource (lethe.dev/v1alpha1) and the `lethe.dev/` annotations on Jobs
 * and CronJobs: user-written cluster data, checked here with zod and turned into lifecycle types.
 */

export const METRICS_GROUP = { group: 'lethe.dev', version: 'v1alpha1', plural: 'metricsgroups', kind: 'MetricsGroup' } as const;

export const ANNOTATION = {
  groupingKey: 'lethe.dev/grouping-key',
  ttl: 'lethe.dev/ttl',
  keepLast: 'lethe.dev/keep-last',
  maxGrace: 'lethe.dev/max-grace',
  deletionPolicy: 'lethe.dev/deletion-policy',
  keepUntilSuperseded: 'lethe.dev/keep-until-superseded',
  overdueAfter: 'lethe.dev/overdue-after',
} as const;

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

const specSchema = z.object({
  selector: selectorSchema,
  ownerRef: z.object({ kind: z.enum(['Job', 'CronJob']), name: z.string().min(1) }).optional(),
  ttl: duration.optional(),
  keepLast: z.number().int().min(0).optional(),
  maxGrace: duration.optional(),
  deletionPolicy: z.enum(['Delete', 'Orphan']).optional(),
  overdue: z
    .object({
      after: duration.optional(),
      schedule: z.string().min(1).optional(),
      timeZone: z.string().min(1).optional(),
    })
    .optional(),
});

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

function flatten(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
}

/**
 * Parses a MetricsGroup from the API server. Undefined when its metadata is unusable; a bad spec
 * gives a MetricsGroup marked `invalid`, which matches no group and says why in its status.
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
  const spec = specSchema.safeParse(obj.spec);
  if (!spec.success) {
    return { ...base, selector: { matchLabels: {}, matchExpressions: [] }, policy: {}, invalid: flatten(spec.error) };
  }
  const s = spec.data;
  const policy: PolicyOverrides = {
    ...(s.ttl === undefined ? {} : { ttlMs: s.ttl }),
    ...(s.keepLast === undefined ? {} : { keepLast: s.keepLast }),
    ...(s.maxGrace === undefined ? {} : { maxGraceMs: s.maxGrace }),
    ...(s.deletionPolicy === undefined ? {} : { deletionPolicy: s.deletionPolicy }),
    ...(s.overdue?.after === undefined ? {} : { overdueAfterMs: s.overdue.after }),
  };
  const schedule = s.overdue?.schedule;
  const timeZone = s.overdue?.timeZone;
  return {
    ...base,
    selector: s.selector,
    policy,
    ...(s.ownerRef === undefined ? {} : { ownerRef: s.ownerRef }),
    ...(schedule === undefined ? {} : { schedule: { schedule, ...(timeZone === undefined ? {} : { timeZone }) } }),
  };
}

export interface ParsedAnnotations {
  readonly policy: PolicyOverrides;
  readonly claims: readonly GroupSelector[];
  /** One line per annotation that could not be used (it is ignored). */
  readonly problems: readonly string[];
}

/** `job=backup,env=prod` → a selector matching those labels. */
function parseClaim(text: string): GroupSelector | undefined {
  const matchLabels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) return undefined;
    matchLabels[name] = part.slice(eq + 1).trim();
  }
  return Object.keys(matchLabels).length === 0 ? undefined : { matchLabels, matchExpressions: [] };
}

/** Reads the `lethe.dev/` annotations of a Job or CronJob. Bad values are reported and ignored. */
export function parseAnnotations(annotations: Readonly<Record<string, string>> | undefined): ParsedAnnotations {
  const policy: { -readonly [K in keyof PolicyOverrides]: PolicyOverrides[K] } = {};
  const claims: GroupSelector[] = [];
  const problems: string[] = [];
  if (annotations === undefined) return { policy, claims, problems };
  const bad = (name: string, value: string, expected: string): void => {
    problems.push(`${name}=${JSON.stringify(value)}: expected ${expected}`);
  };
  const durationOf = (name: string, set: (ms: number) => void): void => {
    const value = annotations[name];
    if (value === undefined) return;
    const ms = parseDuration(value.trim());
    if (ms === undefined) bad(name, value, 'a duration such as 30m or 24h');
    else set(ms);
  };
  const claim = annotations[ANNOTATION.groupingKey];
  if (claim !== undefined) {
    const selector = parseClaim(claim);
    if (selector === undefined) bad(ANNOTATION.groupingKey, claim, 'label pairs such as job=backup,env=prod');
    else claims.push(selector);
  }
  durationOf(ANNOTATION.ttl, (ms) => (policy.ttlMs = ms));
  durationOf(ANNOTATION.maxGrace, (ms) => (policy.maxGraceMs = ms));
  durationOf(ANNOTATION.overdueAfter, (ms) => (policy.overdueAfterMs = ms));
  const keepLast = annotations[ANNOTATION.keepLast];
  if (keepLast !== undefined) {
    if (/^\d+$/.test(keepLast.trim())) policy.keepLast = Number(keepLast.trim());
    else bad(ANNOTATION.keepLast, keepLast, 'a whole number');
  }
  const deletionPolicy = annotations[ANNOTATION.deletionPolicy];
  if (deletionPolicy !== undefined) {
    if (deletionPolicy === 'Delete' || deletionPolicy === 'Orphan') policy.deletionPolicy = deletionPolicy;
    else bad(ANNOTATION.deletionPolicy, deletionPolicy, 'Delete or Orphan');
  }
  const superseded = annotations[ANNOTATION.keepUntilSuperseded];
  if (superseded !== undefined) {
    if (superseded === 'true' || superseded === 'false') policy.keepUntilSuperseded = superseded === 'true';
    else bad(ANNOTATION.keepUntilSuperseded, superseded, 'true or false');
  }
  return { policy, claims, problems };
}
