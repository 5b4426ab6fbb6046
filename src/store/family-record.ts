import { decodeProtobufDelimited, encodeFamilyDelimited } from '../exposition/index.js';
import { PlainFamily, isPlainType, onlyLabelsAndValue, type GroupingKey, type Label, type Metric, type MetricFamily, type PlainType } from '../model/index.js';
import { compactFamily, labelSharer, sharedNames } from './sanitize.js';
import type { SharedText } from './shared-text.js';

/**
 * How a stored family is written in a group record of the persistence file (persistence.ts, `f`).
 *
 * A counter, gauge or untyped family whose series hold nothing but labels and a finite value is
 * written as plain JSON, `{"n":name,"h":help,"t":type,"s":[[value,name,value,name,value…],…]}`
 * (`h` absent when the push set no help), which start-up turns straight into stored series: no
 * base64, no protobuf, no UTF-8 decoding of each string. Every other family (summaries,
 * histograms, kept protobuf bytes, NaN, infinities, -0) is written as base64 of delimited
 * protobuf, the only form of files written before. Both forms are read.
 */

export interface PlainFamilyRecord {
  readonly n: string;
  readonly h?: string;
  readonly t: PlainType;
  /** Each series: its value, then its labels as name, value, name, value… */
  readonly s: readonly (readonly (number | string)[])[];
}

export type FamilyRecord = string | PlainFamilyRecord;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** A plain value: written as JSON and read back as the same number. */
const isPlainValue = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0);

const isPlainMetric = (m: Metric): boolean => onlyLabelsAndValue(m) && isPlainValue(m.value);

export function familyRecord(family: MetricFamily): FamilyRecord {
  const metrics = family.metrics;
  if (!isPlainType(family.type) || !metrics.every(isPlainMetric)) return base64(encodeFamilyDelimited(family));
  const s = metrics.map((m) => {
    const row: (number | string)[] = [m.value ?? 0];
    for (const label of m.labels) row.push(label.name, label.value);
    return row;
  });
  return family.help === undefined ? { n: family.name, t: family.type, s } : { n: family.name, h: family.help, t: family.type, s };
}

/**
 * Reads the record entries of one group into stored families, their labels shared as a pushed
 * group's are (one object per distinct pair, across the group's families; with `shared`, across
 * the store, names and help too).
 */
export function familyReader(key: GroupingKey, shared?: SharedText): (record: FamilyRecord) => MetricFamily[] {
  const share = labelSharer(key, shared);
  return (record) => {
    if (typeof record === 'string') {
      return decodeProtobufDelimited(Buffer.from(record, 'base64')).map((f) => {
        const compact = compactFamily(f, key, shared);
        return PlainFamily.of(compact) ?? compact;
      });
    }
    const series = record.s.map((row) => {
      const labels = new Array<Label>((row.length - 1) / 2);
      for (let i = 1; i < row.length; i += 2) labels[(i - 1) / 2] = share(row[i] as string, row[i + 1] as string);
      return { labels, value: row[0] as number };
    });
    const { name, help } = sharedNames({ name: record.n, ...(record.h === undefined ? {} : { help: record.h }) }, shared);
    return [PlainFamily.fromSeries(name, help, record.t, series)];
  };
}

/** The check of the plain form when the file is read (by hand: a schema per series would cost more than reading it). */
export function isPlainFamilyRecord(x: unknown): x is PlainFamilyRecord {
  if (typeof x !== 'object' || x === null) return false;
  const { n, h, t, s, ...rest } = x as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof n !== 'string' || (h !== undefined && typeof h !== 'string') || !isPlainType(t) || !Array.isArray(s)) return false;
  return s.every((row: unknown) => {
    if (!Array.isArray(row) || row.length % 2 !== 1 || !isPlainValue(row[0])) return false;
    for (let i = 1; i < row.length; i++) if (typeof row[i] !== 'string') return false;
    return true;
  });
}
