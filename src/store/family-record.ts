import { decodeProtobufDelimited, encodeFamilyDelimited } from '../exposition/index.js';
import { PlainFamily, isPlainType, onlyLabelsAndValue, type GroupingKey, type Label, type Metric, type MetricFamily, type PlainType } from '../model/index.js';
import { compactFamily, impliedLabels, labelSharer, sharedNames } from './sanitize.js';
import type { SharedText } from './shared-text.js';

/**
 * How a stored family is written in a group record of the persistence file (persistence.ts, `f`).
 *
 * A counter, gauge or untyped family whose series hold nothing but labels and a finite value is
 * written as plain JSON, which start-up turns straight into a PlainFamily: no base64, no
 * protobuf, no UTF-8 decoding of each string. Two plain forms:
 *
 * - columns, when every series has the same label names in the same order:
 *   `{"n":name,"h":help,"t":type,"l":[label names],"v":[values],"x":[label values]}`, where `x`
 *   holds, series after series, the values of the names that are not the group's implied labels
 *   (its grouping labels, and `instance=""` when the key has none: sanitize.ts impliedLabels),
 *   which every series carries with the key's value and the file already holds in `k`. One array
 *   per family instead of one per series, and a third of the bytes, so start-up parses and keeps
 *   far less;
 * - rows, for the others: `{"n":name,"h":help,"t":type,"s":[[value,name,value,name,value…],…]}`.
 *
 * `h` is absent when the push set no help. Every other family (summaries, histograms, kept
 * protobuf bytes, NaN, infinities, -0) is written as base64 of delimited protobuf, the only form
 * of files written before the plain ones. All forms are read.
 */

interface PlainRecordBase {
  readonly n: string;
  readonly h?: string;
  readonly t: PlainType;
}

export interface RowsFamilyRecord extends PlainRecordBase {
  /** Each series: its value, then its labels as name, value, name, value… */
  readonly s: readonly (readonly (number | string)[])[];
}

export interface ColumnsFamilyRecord extends PlainRecordBase {
  /** The label names of every series, in order. */
  readonly l: readonly string[];
  /** The value of each series. */
  readonly v: readonly number[];
  /** Series after series, the values of the names in `l` that are not implied labels of the group. */
  readonly x: readonly string[];
}

export type PlainFamilyRecord = RowsFamilyRecord | ColumnsFamilyRecord;

export type FamilyRecord = string | PlainFamilyRecord;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** A plain value: written as JSON and read back as the same number. */
const isPlainValue = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0);

const isPlainMetric = (m: Metric): boolean => onlyLabelsAndValue(m) && isPlainValue(m.value);

/** The record of a stored family of the group with key `key`. */
export function familyRecord(family: MetricFamily, key: GroupingKey): FamilyRecord {
  const base = (): PlainRecordBase => (family.help === undefined ? { n: family.name, t: family.type as PlainType } : { n: family.name, h: family.help, t: family.type as PlainType });
  if (family instanceof PlainFamily) {
    const columns = columnsOf(family, key);
    if (columns !== undefined) return { ...base(), ...columns };
  }
  const metrics = family.metrics;
  if (!isPlainType(family.type) || !metrics.every(isPlainMetric)) return base64(encodeFamilyDelimited(family));
  const s = metrics.map((m) => {
    const row: (number | string)[] = [m.value ?? 0];
    for (const label of m.labels) row.push(label.name, label.value);
    return row;
  });
  return { ...base(), s };
}

/** The columns of a family whose series all have the same label names, the implied ones with the implied values. */
function columnsOf(family: PlainFamily, key: GroupingKey): Pick<ColumnsFamilyRecord, 'l' | 'v' | 'x'> | undefined {
  const implied = impliedLabels(key);
  let names: string[] | undefined;
  const v: number[] = [];
  const x: string[] = [];
  const complete = family.forEachSeries((value, labels, from, to) => {
    if (!isPlainValue(value)) return false;
    names ??= labels.slice(from, to).map((l) => l.name);
    if (to - from !== names.length) return false;
    for (let i = from; i < to; i++) {
      const label = labels[i] as Label;
      if (label.name !== names[i - from]) return false;
      const impliedLabel = implied.get(label.name);
      if (impliedLabel === undefined) x.push(label.value);
      else if (impliedLabel.value !== label.value) return false;
    }
    v.push(value);
    return true;
  });
  return complete ? { l: names ?? [], v, x } : undefined;
}

/**
 * Reads the record entries of one group into stored families, their labels shared as a pushed
 * group's are (one object per distinct pair, across the group's families; with `shared`, across
 * the store, names and help too). The entries must have passed recordProblem for this key.
 */
export function familyReader(key: GroupingKey, shared?: SharedText): (record: FamilyRecord) => MetricFamily[] {
  const share = labelSharer(key, shared);
  const implied = impliedLabels(key);
  return (record) => {
    if (typeof record === 'string') {
      return decodeProtobufDelimited(Buffer.from(record, 'base64')).map((f) => {
        const compact = compactFamily(f, key, shared);
        return PlainFamily.of(compact) ?? compact;
      });
    }
    const { name, help } = sharedNames({ name: record.n, ...(record.h === undefined ? {} : { help: record.h }) }, shared);
    if ('l' in record) {
      const names = record.l;
      const width = names.length;
      const fixed = names.map((n) => implied.get(n));
      const labels = new Array<Label>(record.v.length * width);
      let at = 0;
      let next = 0;
      for (let i = 0; i < record.v.length; i++) {
        for (let p = 0; p < width; p++) labels[at++] = fixed[p] ?? share(names[p] as string, record.x[next++] as string);
      }
      return [PlainFamily.fromColumns(name, help, record.t, record.v, labels, width)];
    }
    const series = record.s.map((row) => {
      const labels = new Array<Label>((row.length - 1) / 2);
      for (let i = 1; i < row.length; i += 2) labels[(i - 1) / 2] = share(row[i] as string, row[i + 1] as string);
      return { labels, value: row[0] as number };
    });
    return [PlainFamily.fromSeries(name, help, record.t, series)];
  };
}

/** The check of the plain forms when the file is read (by hand: a schema per series would cost more than reading it). */
export function isPlainFamilyRecord(x: unknown): x is PlainFamilyRecord {
  if (typeof x !== 'object' || x === null) return false;
  const { n, h, t, ...rest } = x as Record<string, unknown>;
  if (typeof n !== 'string' || (h !== undefined && typeof h !== 'string') || !isPlainType(t)) return false;
  const fields = Object.keys(rest).sort().join();
  if (fields === 's') {
    const s = rest['s'];
    return (
      Array.isArray(s) &&
      s.every((row: unknown) => {
        if (!Array.isArray(row) || row.length % 2 !== 1 || !isPlainValue(row[0])) return false;
        for (let i = 1; i < row.length; i++) if (typeof row[i] !== 'string') return false;
        return true;
      })
    );
  }
  if (fields !== 'l,v,x') return false;
  const { l, v, x: values } = rest;
  return Array.isArray(l) && l.every((name) => typeof name === 'string') && Array.isArray(v) && v.every(isPlainValue) && Array.isArray(values) && values.every((s) => typeof s === 'string');
}

/**
 * What is wrong with the families of a group record with the grouping labels `k`, beyond each
 * family's own form (isPlainFamilyRecord): a columns record must hold a label value for each of
 * its series and names that are not implied by the key. Undefined when nothing is.
 */
export function recordProblem(k: readonly (readonly [string, string])[], families: readonly FamilyRecord[]): string | undefined {
  // The names impliedLabels gives for this key: its own, and instance.
  const implied = new Set(k.map(([name]) => name)).add('instance');
  for (const record of families) {
    if (typeof record === 'string' || !('l' in record)) continue;
    const own = record.l.filter((name) => !implied.has(name)).length;
    if (record.x.length !== own * record.v.length) {
      return `family ${JSON.stringify(record.n)} has ${record.x.length} label values for ${record.v.length} series of ${own} labels each`;
    }
  }
  return undefined;
}
