import { parseDuration } from '../config/index.js';
import type { GroupSelector } from '../lifecycle/index.js';
import type { PolicyOverrides } from '../model/index.js';

/**
 * The `lethe.dev/` annotations on the objects that own groups (Jobs, CronJobs, the objects of the
 * configured owner kinds, bare pods): user-written cluster data, read here into policy overrides
 * and grouping-key claims, every value that cannot be read reported by name.
 */

export const ANNOTATION = {
  groupingKey: 'lethe.dev/grouping-key',
  ttl: 'lethe.dev/ttl',
  keepLast: 'lethe.dev/keep-last',
  maxGrace: 'lethe.dev/max-grace',
  deletionPolicy: 'lethe.dev/deletion-policy',
  keepUntilSuperseded: 'lethe.dev/keep-until-superseded',
  overdueAfter: 'lethe.dev/overdue-after',
  scheduleKey: 'lethe.dev/schedule-key',
} as const;

/** The annotations an owner may carry for Lethe; the others are not kept. */
export const ANNOTATION_PREFIX = 'lethe.dev/';
const KNOWN_ANNOTATIONS: ReadonlySet<string> = new Set(Object.values(ANNOTATION));

export interface ParsedAnnotations {
  readonly policy: PolicyOverrides;
  readonly claims: readonly GroupSelector[];
  /**
   * One line per annotation that could not be read, naming it and its value. The object's
   * policy is then invalid: the groups it governs are held until it is fixed.
   */
  readonly problems: readonly string[];
  /** `lethe.dev/schedule-key`: a run without a schedule object is a run of this key in its namespace. */
  readonly scheduleKey?: string;
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

/**
 * Reads the `lethe.dev/` annotations of an owner. Bad values are reported (see `problems`); so is
 * a grouping-key claim on an object that cannot claim (only Jobs and CronJobs do: `claims` false).
 */
export function parseAnnotations(annotations: Readonly<Record<string, string>> | undefined, options: { readonly claims: boolean } = { claims: true }): ParsedAnnotations {
  const policy: { -readonly [K in keyof PolicyOverrides]: PolicyOverrides[K] } = {};
  const claims: GroupSelector[] = [];
  const problems: string[] = [];
  if (annotations === undefined) return { policy, claims, problems };
  const bad = (name: string, value: string, expected: string): void => {
    const shown = JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
    problems.push(`${name}=${shown}: expected ${expected}`);
  };
  // A misspelt name (`lethe.dev/deletion-polcy`) is as much a mistake as a misspelt value.
  for (const name of Object.keys(annotations)) {
    if (name.startsWith(ANNOTATION_PREFIX) && !KNOWN_ANNOTATIONS.has(name)) {
      bad(name, annotations[name] ?? '', `a known annotation name (${[...KNOWN_ANNOTATIONS].join(', ')})`);
    }
  }
  const durationOf = (name: string, set: (ms: number) => void): void => {
    const value = annotations[name];
    if (value === undefined) return;
    const ms = parseDuration(value.trim());
    if (ms === undefined) bad(name, value, 'a duration such as 30m or 24h');
    else set(ms);
  };
  const claim = annotations[ANNOTATION.groupingKey];
  if (claim !== undefined && !options.claims) bad(ANNOTATION.groupingKey, claim, 'no claim here: only Jobs and CronJobs claim grouping keys');
  else if (claim !== undefined) {
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
  const scheduleKey = annotations[ANNOTATION.scheduleKey]?.trim();
  if (scheduleKey === '') bad(ANNOTATION.scheduleKey, annotations[ANNOTATION.scheduleKey] ?? '', 'a key naming the schedule, such as a DAG and task');
  return { policy, claims, problems, ...(scheduleKey === undefined || scheduleKey === '' ? {} : { scheduleKey }) };
}
