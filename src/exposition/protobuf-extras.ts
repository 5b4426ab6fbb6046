/**
 * What a protobuf push carries beyond the model's values, read back from a metric's kept bytes
 * (Metric.protobufRest; field numbers in protobuf-metric.ts): exemplars, created (start)
 * timestamps and native-histogram buckets. The OpenMetrics writer, the JSON API and the web page
 * read them; the protobuf scrape re-emits the bytes unchanged. The bytes passed the push-time
 * decoder, so they are well-formed; bytes that are not (never expected) read as "no extras".
 *
 * (About 330 lines: one reader per extra — exemplars, created timestamps, native buckets — over
 * the same kept bytes; splitting them would spread the field numbers over several files.)
 */

import type { Label } from '../model/index.js';
import {
  FIXED64,
  LENGTH_DELIMITED,
  VARINT,
  WireFormatError,
  createReader,
  enterMessage,
  leaveMessage,
  readDouble,
  readInt64,
  readLengthEnd,
  readTag,
  readVarint,
  skipField,
  type WireReader,
} from './protobuf-wire.js';
import { readString } from './protobuf-metric.js';

/** google.protobuf.Timestamp */
export interface Timestamp {
  readonly seconds: number;
  readonly nanos: number;
}

export interface Exemplar {
  readonly labels: readonly Label[];
  readonly value: number;
  readonly timestamp?: Timestamp;
}

export interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/** The sparse buckets of a native histogram, as pushed (deltas for integer counts, absolute for float). */
export interface NativeHistogram {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  /** True when the counts are floats (sample_count_float / zero_count_float / *_count fields). */
  readonly float: boolean;
  readonly positiveSpans: readonly BucketSpan[];
  /** Absolute bucket counts (integer deltas already summed). */
  readonly positiveCounts: readonly number[];
  readonly negativeSpans: readonly BucketSpan[];
  readonly negativeCounts: readonly number[];
}

export interface MetricExtras {
  /** The counter's exemplar. */
  readonly exemplar?: Exemplar;
  /** The created (start) timestamp of a counter, summary or histogram. */
  readonly created?: Timestamp;
  /** Exemplars of classic buckets, by bucket position. */
  readonly bucketExemplars?: readonly (Exemplar | undefined)[];
  /** Exemplars of a native histogram (Histogram.exemplars). */
  readonly histogramExemplars?: readonly Exemplar[];
  /** Set when the histogram has native buckets (spans), or a native zero bucket only. */
  readonly native?: NativeHistogram;
}

const NONE: MetricExtras = {};

const is = (r: WireReader, field: number, wireType: number): boolean => r.field === field && r.wireType === wireType;

/** A sint64 (zigzag encoded), exact within ±2^52. */
function readSint(r: WireReader): number {
  const v = readVarint(r);
  return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
}

function readSint32(r: WireReader): number {
  const v = readVarint(r) >>> 0;
  return (v >>> 1) ^ -(v & 1);
}

function readTimestamp(r: WireReader): Timestamp {
  let seconds = 0;
  let nanos = 0;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 1, VARINT)) seconds = readInt64(r);
    else if (is(r, 2, VARINT)) nanos = readInt64(r) | 0;
    else skipField(r);
  }
  leaveMessage(r, outer);
  return { seconds, nanos };
}

function readLabel(r: WireReader): Label {
  let name = '';
  let value = '';
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 1, LENGTH_DELIMITED)) name = readString(r);
    else if (is(r, 2, LENGTH_DELIMITED)) value = readString(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
  return { name, value };
}

function readExemplar(r: WireReader): Exemplar {
  const labels: Label[] = [];
  let value = 0;
  let timestamp: Timestamp | undefined;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 1, LENGTH_DELIMITED)) labels.push(readLabel(r));
    else if (is(r, 2, FIXED64)) value = readDouble(r);
    else if (is(r, 3, LENGTH_DELIMITED)) timestamp = readTimestamp(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
  return timestamp === undefined ? { labels, value } : { labels, value, timestamp };
}

function readSpan(r: WireReader): BucketSpan {
  let offset = 0;
  let length = 0;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 1, VARINT)) offset = readSint32(r);
    else if (is(r, 2, VARINT)) length = readVarint(r) >>> 0;
    else skipField(r);
  }
  leaveMessage(r, outer);
  return { offset, length };
}

/** A repeated scalar, packed (length-delimited) or not. */
function readRepeated(r: WireReader, into: number[], scalarType: number, read: (r: WireReader) => number): void {
  if (r.wireType === scalarType) {
    into.push(read(r));
    return;
  }
  const end = readLengthEnd(r);
  const outer = r.end;
  r.end = end;
  while (r.pos < r.end) into.push(read(r));
  r.end = outer;
}

interface CounterParts {
  exemplar?: Exemplar;
  created?: Timestamp;
}

function readCounter(r: WireReader, into: CounterParts): void {
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 2, LENGTH_DELIMITED)) into.exemplar = readExemplar(r);
    else if (is(r, 3, LENGTH_DELIMITED)) into.created = readTimestamp(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
}

function readSummary(r: WireReader, into: CounterParts): void {
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 4, LENGTH_DELIMITED)) into.created = readTimestamp(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
}

interface HistogramParts {
  created?: Timestamp;
  bucketExemplars: (Exemplar | undefined)[];
  exemplars: Exemplar[];
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  zeroCountFloat: number;
  sampleCountFloat: number;
  positiveSpans: BucketSpan[];
  positiveDeltas: number[];
  positiveCounts: number[];
  negativeSpans: BucketSpan[];
  negativeDeltas: number[];
  negativeCounts: number[];
  sawNative: boolean;
}

function readBucketExemplar(r: WireReader): Exemplar | undefined {
  let exemplar: Exemplar | undefined;
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    if (is(r, 3, LENGTH_DELIMITED)) exemplar = readExemplar(r);
    else skipField(r);
  }
  leaveMessage(r, outer);
  return exemplar;
}

function readHistogram(r: WireReader, h: HistogramParts): void {
  const outer = enterMessage(r);
  while (r.pos < r.end) {
    readTag(r);
    const { field, wireType } = r;
    const packedOr = (scalar: number): boolean => wireType === scalar || wireType === LENGTH_DELIMITED;
    if (field === 3 && wireType === LENGTH_DELIMITED) h.bucketExemplars.push(readBucketExemplar(r));
    else if (field === 4 && wireType === FIXED64) h.sampleCountFloat = readDouble(r);
    else if (field === 15 && wireType === LENGTH_DELIMITED) h.created = readTimestamp(r);
    else if (field === 16 && wireType === LENGTH_DELIMITED) h.exemplars.push(readExemplar(r));
    else if (field === 5 && wireType === VARINT) {
      h.schema = readSint32(r);
      h.sawNative = true;
    } else if (field === 6 && wireType === FIXED64) {
      h.zeroThreshold = readDouble(r);
      h.sawNative = true;
    } else if (field === 7 && wireType === VARINT) {
      h.zeroCount = readVarint(r);
      h.sawNative = true;
    } else if (field === 8 && wireType === FIXED64) {
      h.zeroCountFloat = readDouble(r);
      h.sawNative = true;
    } else if (field === 9 && wireType === LENGTH_DELIMITED) h.negativeSpans.push(readSpan(r));
    else if (field === 10 && packedOr(VARINT)) readRepeated(r, h.negativeDeltas, VARINT, readSint);
    else if (field === 11 && packedOr(FIXED64)) readRepeated(r, h.negativeCounts, FIXED64, readDouble);
    else if (field === 12 && wireType === LENGTH_DELIMITED) h.positiveSpans.push(readSpan(r));
    else if (field === 13 && packedOr(VARINT)) readRepeated(r, h.positiveDeltas, VARINT, readSint);
    else if (field === 14 && packedOr(FIXED64)) readRepeated(r, h.positiveCounts, FIXED64, readDouble);
    else skipField(r);
  }
  leaveMessage(r, outer);
}

function cumulate(deltas: readonly number[]): number[] {
  let sum = 0;
  return deltas.map((d) => (sum += d));
}

function nativeOf(h: HistogramParts): NativeHistogram | undefined {
  const spans = h.positiveSpans.length + h.negativeSpans.length;
  // client_golang marks a native histogram without observations by a zero span (offset 0, length 0).
  if (spans === 0 && !h.sawNative) return undefined;
  const float = h.sampleCountFloat > 0 || h.zeroCountFloat > 0 || h.positiveCounts.length > 0 || h.negativeCounts.length > 0;
  return {
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCount: float ? h.zeroCountFloat : h.zeroCount,
    float,
    positiveSpans: h.positiveSpans,
    positiveCounts: float ? h.positiveCounts : cumulate(h.positiveDeltas),
    negativeSpans: h.negativeSpans,
    negativeCounts: float ? h.negativeCounts : cumulate(h.negativeDeltas),
  };
}

/** Reads a metric's kept protobuf bytes; `{}` when there are none or nothing of interest. */
export function decodeExtras(rest: Uint8Array | undefined): MetricExtras {
  if (rest === undefined || rest.length === 0) return NONE;
  const r = createReader(rest);
  const counter: CounterParts = {};
  let histogram: HistogramParts | undefined;
  try {
    while (r.pos < r.end) {
      readTag(r);
      if (is(r, 3, LENGTH_DELIMITED)) readCounter(r, counter);
      else if (is(r, 4, LENGTH_DELIMITED)) readSummary(r, counter);
      else if (is(r, 7, LENGTH_DELIMITED)) {
        histogram ??= {
          bucketExemplars: [],
          exemplars: [],
          schema: 0,
          zeroThreshold: 0,
          zeroCount: 0,
          zeroCountFloat: 0,
          sampleCountFloat: 0,
          positiveSpans: [],
          positiveDeltas: [],
          positiveCounts: [],
          negativeSpans: [],
          negativeDeltas: [],
          negativeCounts: [],
          sawNative: false,
        };
        readHistogram(r, histogram);
      } else skipField(r);
    }
  } catch (err) {
    if (err instanceof WireFormatError) return NONE;
    throw err;
  }
  const out: {
    exemplar?: Exemplar;
    created?: Timestamp;
    bucketExemplars?: (Exemplar | undefined)[];
    histogramExemplars?: Exemplar[];
    native?: NativeHistogram;
  } = {};
  if (counter.exemplar !== undefined) out.exemplar = counter.exemplar;
  const created = histogram?.created ?? counter.created;
  if (created !== undefined) out.created = created;
  if (histogram !== undefined) {
    if (histogram.bucketExemplars.some((e) => e !== undefined)) out.bucketExemplars = histogram.bucketExemplars;
    if (histogram.exemplars.length > 0) out.histogramExemplars = histogram.exemplars;
    const native = nativeOf(histogram);
    if (native !== undefined) out.native = native;
  }
  return out;
}

/** A timestamp as Unix seconds, as Go computes float64(t.UnixNano())/1e9. */
export function timestampSeconds(t: Timestamp): number {
  const nanos = BigInt(Math.trunc(t.seconds)) * 1_000_000_000n + BigInt(t.nanos);
  return Number(nanos) / 1e9;
}
