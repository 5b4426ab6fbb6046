/**
 * Encoding of one io.prometheus.client.Metric (field numbers in protobuf-metric.ts). A metric
 * that came from a protobuf push is re-emitted from its kept bytes, so native histograms,
 * exemplars and created timestamps survive; otherwise the typed data is written the way a text
 * push is stored upstream: whole histogram counts as integer fields, any fractional count
 * switching the whole histogram to the float fields.
 */

import type { Histogram, Metric, MetricType, Summary } from '../model/index.js';
import { isUint64Integer } from './go-float.js';
import {
  FIXED64,
  LENGTH_DELIMITED,
  VARINT,
  beginMessage,
  endMessage,
  writeDouble,
  writeInt64,
  writeRaw,
  writeStringField,
  writeTag,
  writeVarint,
  type WireWriter,
} from './protobuf-wire.js';
import { encodeUtf8 } from './utf8.js';

const MAX_UINT64_BYTES = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);

/** A uint64 field; non-integers truncate, out-of-range values clamp to [0, 2^64-1]. */
function writeUint64(w: WireWriter, field: number, v: number): void {
  writeTag(w, field, VARINT);
  if (v >= 2 ** 64) writeRaw(w, MAX_UINT64_BYTES);
  else writeVarint(w, v > 0 ? Math.trunc(v) : 0);
}

export function writeString(w: WireWriter, field: number, s: string): void {
  writeStringField(w, field, s, encodeUtf8);
}

const VALUE_FIELD: Readonly<Record<'counter' | 'gauge' | 'untyped', number>> = { gauge: 2, counter: 3, untyped: 5 };

/**
 * Drops a metric's kept protobuf bytes (Metric.protobufRest) when they are exactly what the
 * encoder writes for its value: a value message holding only the double, which is what most
 * clients send for counters, gauges and untyped metrics. Anything more (created timestamps,
 * exemplars, summaries, histograms) is kept, and so is a NaN's. Each kept array costs about a
 * hundred bytes per series. Returns the function for the metrics of one family.
 */
export function dropRedundantProtobuf(type: MetricType): (metric: Metric) => Metric {
  const field = type === 'counter' || type === 'gauge' || type === 'untyped' ? VALUE_FIELD[type] : undefined;
  const tag = field === undefined ? undefined : (field << 3) | LENGTH_DELIMITED;
  const scratch = new DataView(new ArrayBuffer(8));
  return (metric) => {
    const rest = metric.protobufRest;
    const { value } = metric;
    // NaN keeps its bytes: its payload need not survive the engine's copies of the number.
    if (rest === undefined || tag === undefined || value === undefined || Number.isNaN(value) || metric.timestampMs !== undefined) return metric;
    // The value field, the message's length (a one-byte tag and eight bytes), the double's tag (field 1).
    if (rest.length !== 11 || rest[0] !== tag || rest[1] !== 9 || rest[2] !== ((1 << 3) | FIXED64)) return metric;
    scratch.setFloat64(0, value, true);
    for (let i = 0; i < 8; i++) if (scratch.getUint8(i) !== rest[3 + i]) return metric;
    const { protobufRest: _redundant, ...plain } = metric;
    return plain;
  };
}

/** Writes `metric` as field 4 of a MetricFamily. */
export function writeMetric(w: WireWriter, metric: Metric, type: MetricType): void {
  const mark = beginMessage(w);
  for (const label of metric.labels) {
    const labelMark = beginMessage(w);
    writeString(w, 1, label.name);
    writeString(w, 2, label.value);
    endMessage(w, labelMark, 1);
  }
  if (metric.protobufRest !== undefined) {
    writeRaw(w, metric.protobufRest);
  } else {
    writeTypedFields(w, metric, type);
  }
  endMessage(w, mark, 4);
}

function writeTypedFields(w: WireWriter, metric: Metric, type: MetricType): void {
  switch (type) {
    case 'counter':
    case 'gauge':
    case 'untyped':
      if (metric.value !== undefined) {
        const mark = beginMessage(w);
        writeDouble(w, 1, metric.value);
        endMessage(w, mark, VALUE_FIELD[type]);
      }
      break;
    case 'summary':
      if (metric.summary !== undefined) writeSummary(w, metric.summary);
      break;
    case 'histogram':
    case 'gaugehistogram':
      break;
  }
  if (metric.timestampMs !== undefined) {
    writeTag(w, 6, VARINT);
    writeInt64(w, metric.timestampMs);
  }
  if ((type === 'histogram' || type === 'gaugehistogram') && metric.histogram !== undefined) {
    writeHistogram(w, metric.histogram);
  }
}

function writeSummary(w: WireWriter, summary: Summary): void {
  const mark = beginMessage(w);
  writeUint64(w, 1, summary.sampleCount);
  writeDouble(w, 2, summary.sampleSum);
  for (const q of summary.quantiles) {
    const qMark = beginMessage(w);
    writeDouble(w, 1, q.quantile);
    writeDouble(w, 2, q.value);
    endMessage(w, qMark, 3);
  }
  endMessage(w, mark, 4);
}

function writeHistogram(w: WireWriter, histogram: Histogram): void {
  const whole =
    isUint64Integer(histogram.sampleCount) && histogram.buckets.every((b) => isUint64Integer(b.cumulativeCount));
  const mark = beginMessage(w);
  if (whole) writeUint64(w, 1, histogram.sampleCount);
  writeDouble(w, 2, histogram.sampleSum);
  for (const bucket of histogram.buckets) {
    const bMark = beginMessage(w);
    if (whole) writeUint64(w, 1, bucket.cumulativeCount);
    writeDouble(w, 2, bucket.upperBound);
    if (!whole) writeDouble(w, 4, bucket.cumulativeCount);
    endMessage(w, bMark, 3);
  }
  if (!whole) writeDouble(w, 4, histogram.sampleCount);
  endMessage(w, mark, 7);
}
