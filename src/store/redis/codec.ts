import { hash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, ErrorCode, messageOf } from '../../errors.js';
import { decodeProtobufDelimited, encodeFamilyDelimited } from '../../exposition/index.js';
import {
  groupingKeyOf,
  type Attribution,
  type GroupingKey,
  type MetricFamily,
  type OwnerRef,
  type PushMethod,
  type StoredFamily,
} from '../../model/index.js';
import { collisionProbes, collisionProblem, duplicateSeriesProblem, typeConflictProblem, type CollisionProbe } from '../consistency-rules.js';
import { ConsistencyIndex, type OwnTypeLookup } from '../consistency.js';
import type { PushRequest } from '../group-store.js';
import type { ChangeMeta, StoreChange } from '../store-change.js';
import { groupRecordSchema } from '../persistence.js';
import { normalisePush } from '../push-semantics.js';
import { metaFamilies, seriesId } from '../sanitize.js';

/**
 * Between the store and Redis: a push becomes the arguments of the push script (with the checks
 * that need nothing stored done here, as the embedded store does them), and log entries and
 * snapshot rows become StoreChanges for the local view. Everything read from Redis is checked
 * with zod first (it is data from outside the process).
 */

interface PreparedFamily {
  readonly family: MetricFamily;
  /** The collision probes the push itself does not decide, in script argument order. */
  readonly probes: readonly CollisionProbe[];
}

/**
 * What a replica sent with a push, so that it can apply its own log entry without decoding it
 * again: the entry's `f` field holds exactly these families (protobuf round trips them; the
 * fuzz properties check it) and its `g` field the group as sent.
 */
export interface SentPush {
  /** The entry's `f` field: the family values, one a line. */
  readonly familiesText: string;
  readonly families: readonly StoredFamily[];
  /** The entry's `g` field as sent, and what it holds. */
  readonly groupText: string;
  readonly head: GroupHead;
}

export type PreparedPush =
  | { readonly mode: 'fail'; readonly reason: string; readonly args: readonly string[] }
  | { readonly mode: 'push'; readonly families: readonly PreparedFamily[]; readonly args: readonly string[]; readonly sent: SentPush };

export interface PushSettings {
  readonly prefix: string;
  readonly ownType: OwnTypeLookup;
  readonly consistencyCheck: boolean;
  readonly maxGroups: number;
  readonly logLength: number;
}

/** 128 bits of SHA-256 of a series identity: fixed width, so the scripts can pack them. */
export function seriesHash(id: string): string {
  return hash('sha256', id, 'hex').slice(0, 32);
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function groupJson(key: GroupingKey, attribution: Attribution): string {
  return JSON.stringify({ k: key.labels.map((l) => [l.name, l.value]), attr: attribution });
}

/**
 * Sanitises a push, runs the checks that depend only on the push and Lethe's own metric types
 * (timestamps, label names and values, value fields, duplicates within the push, suffix
 * collisions among the pushed families), and lays out the script arguments. What depends on the
 * stored groups is checked by the script, atomically with the write.
 */
export function preparePush(request: PushRequest, now: number, s: PushSettings): PreparedPush {
  const { key } = request;
  const pushed = normalisePush(key, request.families);
  // Whether the group exists is known only in Redis: the script applies the failure time to an existing group alone.
  const failureOverride = pushed.refused !== undefined || pushed.failureTimeMs === undefined ? '' : String(pushed.failureTimeMs);
  const groupText = groupJson(key, request.attribution);
  const head = [s.prefix, key.id, groupText];
  const tail = (mode: 'push' | 'fail', count: number): string[] => [
    mode,
    request.method,
    String(now),
    failureOverride,
    s.consistencyCheck ? '1' : '0',
    String(s.maxGroups),
    String(s.logLength),
    String(count),
    request.guard?.namespace ?? '',
  ];
  const refuse = (reason: string): PreparedPush => ({ mode: 'fail', reason, args: [...head, ...tail('fail', 0)] });
  if (pushed.refused !== undefined) return refuse(pushed.refused);
  const families = new Map(pushed.families.map((family) => [family.name, family]));
  const candidate = new Map(families);
  for (const family of metaFamilies(key, now, 0)) candidate.set(family.name, family);
  if (s.consistencyCheck) {
    const problem = new ConsistencyIndex(s.ownType).check(key.id, candidate, candidate.keys());
    if (problem !== undefined) return refuse(problem);
  }
  const prepared: PreparedFamily[] = [];
  const values: string[] = [];
  const args = [...head, ...tail('push', families.size)];
  for (const family of families.values()) {
    // A name the push holds was checked above; the script looks up the others in Redis.
    const probes = collisionProbes(family).filter((probe) => !candidate.has(probe.name));
    let packed = '';
    for (const metric of family.metrics) packed += seriesHash(seriesId(family.name, metric.labels));
    const own = (name: string): string => (s.ownType(name) === undefined ? '0' : '1');
    const value = `${now} ${base64(encodeFamilyDelimited(family))}`;
    args.push(family.name, family.type, value, own(family.name), packed, String(probes.length));
    for (const probe of probes) args.push(probe.name, probe.collidesWith?.join(' ') ?? '*', own(probe.name));
    prepared.push({ family, probes });
    values.push(value);
  }
  const sent: SentPush = {
    familiesText: values.join('\n'),
    families: prepared.map(({ family }) => ({ family, pushedAt: now })),
    groupText,
    head: { key, attribution: request.attribution },
  };
  return { mode: 'push', families: prepared, args, sent };
}

/** A conflict the push script found: what kind, in which family (1-based), at which probe or series (1-based), against which stored type. */
export interface ScriptConflict {
  readonly kind: string;
  readonly familyIndex: number;
  readonly index: number;
  readonly type: string;
}

/** The message of a conflict the push script found: the same words as the embedded store's check. */
export function conflictMessage(families: readonly PreparedFamily[], conflict: ScriptConflict): string {
  const { kind, familyIndex, index, type } = conflict;
  const entry = families[familyIndex - 1];
  if (entry === undefined) return 'pushed metrics are inconsistent with stored metrics';
  const { family } = entry;
  switch (kind) {
    case 'type':
      return typeConflictProblem(family, type);
    case 'suffix': {
      const probe = entry.probes[index - 1];
      if (probe === undefined) break;
      return collisionProblem(family, probe, type);
    }
    case 'series': {
      const metric = family.metrics[index - 1];
      if (metric === undefined) break;
      return duplicateSeriesProblem(family, metric, 'in another group');
    }
  }
  return `pushed metrics are inconsistent with stored metrics (${kind})`;
}

// ---- Reading Redis ----

const groupValueSchema = z.object({ k: groupRecordSchema.shape.k, attr: groupRecordSchema.shape.attr });
const ownerJsonSchema = groupRecordSchema.shape.owner;
/** A number as the scripts store it (several of them in every log entry: a plain test, not a schema). */
const MILLIS = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;

function damaged(what: string, err: unknown): ConfigError {
  return new ConfigError(ErrorCode.persistence, `Redis holds a ${what} that Lethe cannot read: ${messageOf(err)}`, { cause: err });
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw damaged(what, err);
  }
}

export interface GroupHead {
  readonly key: GroupingKey;
  readonly attribution: Attribution;
}

/** The value of `<p>groups`: the grouping key and the attribution of the last push. */
export function parseGroupValue(text: string): GroupHead {
  const parsed = groupValueSchema.safeParse(parseJson(text, 'group'));
  if (!parsed.success) throw damaged('group', parsed.error);
  return { key: groupingKeyOf(Object.fromEntries(parsed.data.k)), attribution: parsed.data.attr };
}

export function parseOwner(text: string): OwnerRef | undefined {
  if (text === '') return undefined;
  const parsed = ownerJsonSchema.safeParse(parseJson(text, 'owner'));
  if (!parsed.success) throw damaged('owner', parsed.error);
  return parsed.data;
}

export function parseMillis(text: string, what: string): number {
  const value = MILLIS.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) throw damaged(what, new Error(`not a number: ${JSON.stringify(text)}`));
  return value;
}

/**
 * A `<p>scraped` value ("<push ms> <scraped at ms>") → when the group's push of `push` (its
 * `<p>push` value) was confirmed scraped; undefined when it was not, or an older push was.
 */
export function parseScrapeMark(mark: string | null | undefined, push: string): number | undefined {
  if (mark === null || mark === undefined) return undefined;
  const space = mark.indexOf(' ');
  if (space === -1) throw damaged('scrape mark', new Error(mark));
  if (mark.slice(0, space) !== push) return undefined;
  return parseMillis(mark.slice(space + 1), 'scrape time');
}

/** One `<pushed at ms> <base64>` family value. */
export function parseFamilyValue(text: string): StoredFamily {
  const space = text.indexOf(' ');
  const pushedAt = parseMillis(space === -1 ? '' : text.slice(0, space), 'family time');
  let decoded: MetricFamily[];
  try {
    decoded = decodeProtobufDelimited(Buffer.from(text.slice(space + 1), 'base64'));
  } catch (err) {
    throw damaged('metric family', err);
  }
  const family = decoded[0];
  if (decoded.length !== 1 || family === undefined) throw damaged('metric family', new Error(`${decoded.length} families in one value`));
  return { family, pushedAt };
}

// Script replies (scripts.ts describes each).
export const pushReplySchema = z.union([
  z.tuple([z.literal('forbidden')]),
  z.tuple([z.literal('ok'), z.string()]),
  z.tuple([z.literal('failed'), z.string()]),
  z.tuple([z.literal('limit'), z.number()]),
  z.tuple([z.literal('conflict'), z.string(), z.string(), z.number(), z.number(), z.string()]),
]);
export const changeReplySchema = z.union([z.tuple([z.literal(0)]), z.tuple([z.literal(-1)]), z.tuple([z.literal(1), z.string()])]);
export const deleteReplySchema = z.union([
  z.tuple([z.literal(0)]),
  z.tuple([z.literal(-1)]),
  z.tuple([z.literal(1), z.string(), z.string(), z.string()]),
]);
export const confirmReplySchema = z.tuple([z.number(), z.string()]);
/** HKEYS of `<p>groups`. */
export const groupIdsSchema = z.array(z.string());

export interface LogEntry {
  readonly id: string;
  /** The change number (consecutive; a gap means the log was trimmed past this reader). */
  readonly n: number;
  readonly change: StoreChange;
}

const fieldsSchema = z.array(z.string()).refine((a) => a.length % 2 === 0, 'odd number of fields');
const entrySchema = z.tuple([z.string(), fieldsSchema]);
export const entriesSchema = z.array(entrySchema);
/** XREAD's answer: null on timeout, else [[stream, entries]]. */
export const xreadSchema = z.union([z.null(), z.array(z.tuple([z.string(), entriesSchema]))]);

/**
 * A log entry's fields → the change it records. `sent` finds what this replica sent with a push
 * whose `f` field is the given text (and forgets it: each is applied once); the entry is then
 * applied from it, not decoded.
 */
export function parseEntry(id: string, fields: readonly string[], sent?: (familiesText: string) => SentPush | undefined): LogEntry {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] ?? '', fields[i + 1] ?? '');
  const get = (name: string): string => {
    const value = f.get(name);
    if (value === undefined) throw damaged('log entry', new Error(`${id} has no field ${name}`));
    return value;
  };
  const n = parseMillis(get('n'), 'log entry number');
  const op = get('op');
  const groupText = get('g');
  const own = op === 'push' ? sent?.(get('f')) : undefined;
  const { key, attribution } = own !== undefined && own.groupText === groupText ? own.head : parseGroupValue(groupText);
  // Entries written before generations and scrape marks existed carry neither: generation 0, not scraped.
  const scraped = f.get('s') ?? '';
  const meta: ChangeMeta = {
    attribution,
    lastPushAt: parseMillis(get('p'), 'push time'),
    lastFailureAt: parseMillis(get('x'), 'failure time'),
    owner: parseOwner(get('o')),
    generation: parseMillis(f.get('v') ?? '0', 'generation'),
    ...(scraped === '' ? {} : { scrapedAt: parseMillis(scraped, 'scrape time') }),
  };
  switch (op) {
    case 'delete':
      return { id, n, change: { op: 'delete', key } };
    case 'meta':
      return { id, n, change: { op: 'meta', key, meta } };
    case 'push': {
      const method = get('m');
      if (method !== 'PUT' && method !== 'POST') throw damaged('log entry', new Error(`${id} has method ${method}`));
      const text = get('f');
      const families = own?.families ?? (text === '' ? [] : text.split('\n').map(parseFamilyValue));
      return { id, n, change: { op: 'push', method: method satisfies PushMethod, key, families, meta } };
    }
    default:
      throw damaged('log entry', new Error(`${id} has op ${op}`));
  }
}

/** Stream ids compare as (ms, seq). */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}
