/**
 * Comparing families across a round trip. Protobuf → protobuf must be identical (node's deep
 * strict equality: NaN equals NaN, -0 differs from 0, typed arrays by content). Text → text is
 * identical up to the normalisations the text format documents:
 *
 * - a gauge histogram is written as `histogram`, so it comes back as a histogram;
 * - a histogram without a `+Inf` bucket gets one, holding the sample count;
 * - -0 is written as `0`;
 * - a summary or histogram family `x` next to a family named `x_count`, `x_sum` (or, for a
 *   histogram, `x_bucket`) cannot be written unambiguously: such sets are not compared.
 */

import { isDeepStrictEqual, inspect } from 'node:util';
import type { Metric, MetricFamily } from '../../src/model/index.js';

const zeroed = (v: number): number => (Object.is(v, -0) ? 0 : v);

/** The families as they read back from their own text rendering. */
export function afterTextRoundTrip(families: readonly MetricFamily[]): MetricFamily[] {
  return families.map((f) => {
    const type = f.type === 'gaugehistogram' ? 'histogram' : f.type;
    const metrics = f.metrics.map((m): Metric => normalMetric(m));
    return f.help === undefined || f.help === '' ? { name: f.name, type, metrics } : { name: f.name, help: f.help, type, metrics };
  });
}

function normalMetric(m: Metric): Metric {
  const out: {
    labels: Metric['labels'];
    value?: number;
    summary?: NonNullable<Metric['summary']>;
    histogram?: NonNullable<Metric['histogram']>;
    timestampMs?: number;
  } = { labels: m.labels };
  if (m.value !== undefined) out.value = zeroed(m.value);
  if (m.summary !== undefined) {
    const s = m.summary;
    out.summary = {
      sampleCount: zeroed(s.sampleCount),
      sampleSum: zeroed(s.sampleSum),
      quantiles: s.quantiles.map((q) => ({ quantile: zeroed(q.quantile), value: zeroed(q.value) })),
    };
  }
  if (m.histogram !== undefined) {
    const h = m.histogram;
    const buckets = h.buckets.map((b) => ({ upperBound: zeroed(b.upperBound), cumulativeCount: zeroed(b.cumulativeCount) }));
    if (!buckets.some((b) => b.upperBound === Infinity)) buckets.push({ upperBound: Infinity, cumulativeCount: zeroed(h.sampleCount) });
    out.histogram = { sampleCount: zeroed(h.sampleCount), sampleSum: zeroed(h.sampleSum), buckets };
  }
  if (m.timestampMs !== undefined) out.timestampMs = m.timestampMs;
  return out;
}

/** True when some family's series names are those of another (summary or histogram) family. */
export function ambiguousInText(families: readonly MetricFamily[]): boolean {
  const names = new Set(families.map((f) => f.name));
  return families.some((f) => {
    const histogram = f.type === 'histogram' || f.type === 'gaugehistogram';
    if (f.type !== 'summary' && !histogram) return false;
    return names.has(`${f.name}_count`) || names.has(`${f.name}_sum`) || (histogram && names.has(`${f.name}_bucket`));
  });
}

/** The families without the kept protobuf bytes (to compare a text push with its protobuf form). */
export function withoutProtobufRest(families: readonly MetricFamily[]): MetricFamily[] {
  return families.map((f) => ({
    ...f,
    metrics: f.metrics.map((m) => {
      const { protobufRest: _rest, ...typed } = m;
      return typed;
    }),
  }));
}

/** '' when equal, else both sides for the failure message. */
export function difference(want: unknown, got: unknown): string {
  if (isDeepStrictEqual(want, got)) return '';
  const show = (v: unknown): string => inspect(v, { depth: 8, maxArrayLength: 20, maxStringLength: 200, breakLength: 140 });
  return `want ${show(want)}\n got ${show(got)}`;
}
