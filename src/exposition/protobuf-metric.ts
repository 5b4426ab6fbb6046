/**
 * The io.prometheus.client.Metric message (prometheus/client_model metrics.proto, proto2):
 *
 *   Metric      1 label (LabelPair, repeated)  2 gauge  3 counter  4 summary  5 untyped
 *               6 timestamp_ms (int64)  7 histogram
 *   LabelPair   1 name  2 value
 *   Gauge, Untyped   1 value (double)
 *   Counter     1 value (double)  2 exemplar  3 created_timestamp
 *   Summary     1 sample_count (uint64)  2 sample_sum (double)  3 quantile (repeated)
 *               4 created_timestamp
 *   Quantile    1 quantile (double)  2 value (double)
 *   Histogram   1 sample_count (uint64)  4 sample_count_float  2 sample_sum  3 bucket (repeated)
 *               15 created_timestamp  5 schema (sint32)  6 zero_threshold  7 zero_count (uint64)
 *               8 zero_count_float  9 negative_span  10 negative_delta (sint64, packed)
 *               11 negative_count (double, packed)  12 positive_span  13 positive_delta
 *               14 positive_count  16 exemplars
 *   Bucket      1 cumulative_count (uint64)  4 cumulative_count_float  2 upper_bound (double)
 *               3 exemplar
 *   BucketSpan  1 offset (sint32)  2 length (uint32)
 *   Exemplar    1 label (LabelPair, repeated)  2 value (double)  3 timestamp
 *   google.protobuf.Timestamp   1 seconds (int64)  2 nanos (int32)
 *
 * Decoding follows the Go runtime: a known field with an unexpected wire type is an unknown
 * field; a singular message field seen twice is merged; every known nested message (exemplars,
 * created timestamps, spans, packed arrays) must be well-formed even where Lethe keeps only its
 * bytes.
 *
 * (About 330 lines: the decoder of one message and its conversion to the model, kept beside the
 * field table above so that each field number is read in one place.)
 */

import type { Bucket, Histogram, Label, Metric, MetricType, Quantile, Summary } from '../model/index.js';
import {
  FIXED64,
  LENGTH_DELIMITED,
  VARINT,
  WireFormatError,
  readDouble,
  readInt64,
  enterMessage,
  leaveMessage,
  readLengthEnd,
  readTag,
  readVarint,
  skipField,
  type WireReader,
} from './protobuf-wire.js';
import { utf8TextAt } from './utf8.js';

interface SummaryParts {
  sampleCount: number;
  sampleSum: number;
  quantiles: Quantile[];
}

interface HistogramParts {
  sampleCount: number;
  sampleCountFloat: number;
  sampleSum: number;
  buckets: Bucket[];
  native: boolean;
}

/** A decoded Metric before its family's type picks the value that counts. */
export interface MetricParts {
  readonly labels: Label[];
  gauge?: number;
  counter?: number;
  untyped?: number;
  summary?: SummaryParts;
  histogram?: HistogramParts;
  timestampMs?: number;
  /** [start, end) offsets in the body of the Metric's fields other than labels. */
  readonly restRanges: number[];
}

/** How a known nested field is checked when Lethe keeps only its bytes. */
type Rule = Schema | 'packed-varint' | 'packed-fixed64';
type Schema = ReadonlyMap<number, Rule>;

const SCALARS_ONLY: Schema = new Map();
const EXEMPLAR: Schema = new Map<number, Rule>([
  [1, SCALARS_ONLY],
  [3, SCALARS_ONLY],
]);
const COUNTER_EXTRAS: Schema = new Map<number, Rule>([
  [2, EXEMPLAR],
  [3, SCALARS_ONLY],
]);
const SUMMARY_EXTRAS: Schema = new Map<number, Rule>([[4, SCALARS_ONLY]]);
const BUCKET_EXTRAS: Schema = new Map<number, Rule>([[3, EXEMPLAR]]);
const HISTOGRAM_EXTRAS: Schema = new Map<number, Rule>([
  [9, SCALARS_ONLY],
  [10, 'packed-varint'],
  [11, 'packed-fixed64'],
  [12, SCALARS_ONLY],
  [13, 'packed-varint'],
  [14, 'packed-fixed64'],
  [15, SCALARS_ONLY],
  [16, EXEMPLAR],
]);

/** Wire types under which Histogram fields 5–14 (the native-histogram fields) are known. */
const NATIVE_FIELDS: ReadonlyMap<number, readonly number[]> = new Map([
  [5, [VARINT]],
  [6, [FIXED64]],
  [7, [VARINT]],
  [8, [FIXED64]],
  [9, [LENGTH_DELIMITED]],
  [10, [VARINT, LENGTH_DELIMITED]],
  [11, [FIXED64, LENGTH_DELIMITED]],
  [12, [LENGTH_DELIMITED]],
  [13, [VARINT, LENGTH_DELIMITED]],
  [14, [FIXED64, LENGTH_DELIMITED]],
]);

export function readString(r: WireReader): string {
  const end = readLengthEnd(r);
  const start = r.pos;
  r.pos = end;
  return start === end ? '' : utf8TextAt(r.bytes, start, end);
}

/** Skips the field whose tag was just read, checking it against the schema's rule for it. */
function skipChecked(r: WireReader, schema: Schema): void {
  const rule = r.wireType === LENGTH_DELIMITED ? schema.get(r.field) : undefined;
  if (rule === undefined) {
    skipField(r);
    return;
  }
  const outer = enterMessage(r);
  if (rule === 'packed-fixed64') {
    if ((r.end - r.pos) % 8 !== 0) throw new WireFormatError('unexpected EOF');
    r.pos = r.end;
  } else if (rule === 'packed-varint') {
    while (r.pos < r.end) readVarint(r);
  } else {
    while (r.pos < r.end) {
      readTag(r);
      skipChecked(r, rule);
    }
  }
  leaveMessage(r, outer);
}

const isDouble = (r: WireReader, field: number): boolean => r.field === field && r.wireType === FIXED64;
const isVarint = (r: WireReader, field: number): boolean => r.field === field && r.wireType === VARINT;
const isMessage = (r: WireReader, field: number): boolean => r.field === field && r.wireType === LENGTH_DELIMITED;

function decodeLabel(r: WireReader): Label {
  let name = '';
  let value = '';
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (isMessage(r, 1)) name = readString(r);
    else if (isMessage(r, 2)) value = readString(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
  return { name, value };
}

/** Gauge, Counter or Untyped: the value (0 when the message has none). */
function decodeValue(r: WireReader, previous: number | undefined, extras: Schema): number {
  let value = previous ?? 0;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (isDouble(r, 1)) value = readDouble(r);
    else skipChecked(r, extras);
  }
  leaveMessage(r, outer);
  return value;
}

function decodeSummary(r: WireReader, into: SummaryParts): SummaryParts {
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (isVarint(r, 1)) into.sampleCount = readVarint(r);
    else if (isDouble(r, 2)) into.sampleSum = readDouble(r);
    else if (isMessage(r, 3)) into.quantiles.push(decodeQuantile(r));
    else skipChecked(r, SUMMARY_EXTRAS);
  }
  leaveMessage(r, outer);
  return into;
}

function decodeQuantile(r: WireReader): Quantile {
  let quantile = 0;
  let value = 0;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (isDouble(r, 1)) quantile = readDouble(r);
    else if (isDouble(r, 2)) value = readDouble(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
  return { quantile, value };
}

function decodeHistogram(r: WireReader, into: HistogramParts): HistogramParts {
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (isVarint(r, 1)) into.sampleCount = readVarint(r);
    else if (isDouble(r, 4)) into.sampleCountFloat = readDouble(r);
    else if (isDouble(r, 2)) into.sampleSum = readDouble(r);
    else if (isMessage(r, 3)) into.buckets.push(decodeBucket(r));
    else {
      if (NATIVE_FIELDS.get(r.field)?.includes(r.wireType) === true && !isEmptyPacked(r)) into.native = true;
      skipChecked(r, HISTOGRAM_EXTRAS);
    }
  }
  leaveMessage(r, outer);
  return into;
}

/** True when the length-delimited packed field at r.pos has no elements. */
function isEmptyPacked(r: WireReader): boolean {
  if (r.wireType !== LENGTH_DELIMITED || r.field === 9 || r.field === 12) return false;
  const at = r.pos;
  const empty = readLengthEnd(r) === r.pos;
  r.pos = at;
  return empty;
}

function decodeBucket(r: WireReader): Bucket {
  let count = 0;
  let countFloat = 0;
  let upperBound = 0;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (isVarint(r, 1)) count = readVarint(r);
    else if (isDouble(r, 4)) countFloat = readDouble(r);
    else if (isDouble(r, 2)) upperBound = readDouble(r);
    else skipChecked(r, BUCKET_EXTRAS);
  }
  leaveMessage(r, outer);
  // As the text writer reads it: the float count overrides unless it is zero.
  return { upperBound, cumulativeCount: countFloat !== 0 ? countFloat : count };
}

/** Decodes the Metric message that starts (with its length) at r.pos. */
// The labels and kept ranges of the Metric being read (decodeMetric does not nest): arrays grown
// by push() from empty hold 17 slots, so each Metric keeps an exact-size copy instead.
const labelsRead: Label[] = [];
const rangesRead: number[] = [];

export function decodeMetric(r: WireReader): MetricParts {
  const labels = labelsRead;
  const restRanges = rangesRead;
  labels.length = 0;
  restRanges.length = 0;
  const parts: { -readonly [K in keyof MetricParts]: MetricParts[K] } = { labels, restRanges };
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    const fieldStart = r.pos;
    readTag(r);
    if (isMessage(r, 1)) {
      labels.push(decodeLabel(r));
      continue;
    }
    if (isMessage(r, 2)) parts.gauge = decodeValue(r, parts.gauge, SCALARS_ONLY);
    else if (isMessage(r, 3)) parts.counter = decodeValue(r, parts.counter, COUNTER_EXTRAS);
    else if (isMessage(r, 4)) parts.summary = decodeSummary(r, parts.summary ?? emptySummary());
    else if (isMessage(r, 5)) parts.untyped = decodeValue(r, parts.untyped, SCALARS_ONLY);
    else if (isVarint(r, 6)) parts.timestampMs = readInt64(r);
    else if (isMessage(r, 7)) parts.histogram = decodeHistogram(r, parts.histogram ?? emptyHistogram());
    else skipField(r);
    const last = restRanges.length - 1;
    if (last > 0 && restRanges[last] === fieldStart) restRanges[last] = r.pos;
    else restRanges.push(fieldStart, r.pos);
  }
  leaveMessage(r, outer);
  parts.labels = labels.slice();
  parts.restRanges = restRanges.slice();
  return parts;
}

function emptySummary(): SummaryParts {
  return { sampleCount: 0, sampleSum: 0, quantiles: [] };
}

function emptyHistogram(): HistogramParts {
  return { sampleCount: 0, sampleCountFloat: 0, sampleSum: 0, buckets: [], native: false };
}

/**
 * Copies the kept bytes of a family's metrics out of the body, into one buffer per family (so
 * the body is not retained, and a family's bytes live as long as the family).
 */
export function copyRests(buf: Uint8Array, metrics: readonly MetricParts[]): Uint8Array[] {
  let total = 0;
  for (const m of metrics) {
    const ranges = m.restRanges;
    for (let i = 0; i < ranges.length; i += 2) total += (ranges[i + 1] ?? 0) - (ranges[i] ?? 0);
  }
  const out = new Uint8Array(total);
  let at = 0;
  return metrics.map((m) => {
    const start = at;
    const ranges = m.restRanges;
    for (let i = 0; i < ranges.length; i += 2) {
      const part = buf.subarray(ranges[i] ?? 0, ranges[i + 1] ?? 0);
      out.set(part, at);
      at += part.length;
    }
    return out.subarray(start, at);
  });
}

/** The model's view of a decoded Metric, for a family of the given type. */
export function toMetric(parts: MetricParts, type: MetricType, rest: Uint8Array): Metric {
  const m: {
    labels: Label[];
    value?: number;
    summary?: Summary;
    histogram?: Histogram;
    timestampMs?: number;
    protobufRest: Uint8Array;
  } = { labels: parts.labels, protobufRest: rest };
  const value =
    type === 'counter' ? parts.counter : type === 'gauge' ? parts.gauge : type === 'untyped' ? parts.untyped : undefined;
  if (value !== undefined) m.value = value;
  if (type === 'summary' && parts.summary !== undefined) m.summary = parts.summary;
  const h = parts.histogram;
  if ((type === 'histogram' || type === 'gaugehistogram') && h !== undefined) {
    const sampleCount = h.sampleCountFloat !== 0 ? h.sampleCountFloat : h.sampleCount;
    m.histogram = h.native
      ? { sampleCount, sampleSum: h.sampleSum, buckets: h.buckets, native: true }
      : { sampleCount, sampleSum: h.sampleSum, buckets: h.buckets };
  }
  if (parts.timestampMs !== undefined) m.timestampMs = parts.timestampMs;
  return m;
}
