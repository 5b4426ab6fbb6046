/**
 * Rendering of OpenMetrics text 1.0.0 (also answered for 0.0.1, whose text is the same), in the
 * layout of prometheus/common's OpenMetrics encoder, with these choices where pushed data does
 * not fit the specification (docs/scrape-formats.md):
 *
 * - A counter named `x_total` is the family `x` (`# TYPE x counter`, sample `x_total`). A counter
 *   without the suffix, or one whose family name `x` is also a stored family's name, is written
 *   as `unknown` under its full name, so its series keep their names and no two families clash;
 *   it then carries no exemplar and no `_created` line (OpenMetrics allows neither there).
 * - Untyped is `unknown`; a gauge histogram is `gaugehistogram` with `_gcount` and `_gsum`.
 * - Created (start) timestamps of counters, summaries and histograms pushed in protobuf become
 *   `_created` lines; exemplars of counters and classic buckets follow their sample. An exemplar
 *   whose labels exceed the specification's 128 characters is left out (the protobuf scrape
 *   keeps it).
 * - Timestamps (of exemplars) are exact decimal seconds, never in exponent form.
 * - Counts are written as integers when they are whole, as floats otherwise (float histograms,
 *   which upstream's encoder refuses, failing the whole scrape). A native histogram shows its
 *   classic buckets, or only `+Inf`, `_sum` and `_count` when it has none (as in text).
 * - Values are written as pushed: a histogram whose `+Inf` bucket differs from its count, or a
 *   NaN counter, is not corrected. The writer of `# EOF` is the caller.
 */

import type { Metric, MetricType } from '../model/index.js';
import { formatGoFloat } from './go-float.js';
import { decodeExtras, timestampSeconds, type Exemplar, type MetricExtras } from './protobuf-extras.js';
import { escapeQuoted, labelText, seriesText, writeName } from './text-render.js';

export const OPENMETRICS_EOF = '# EOF\n';

/** The longest exemplar label set the specification allows, in characters of names and values. */
const MAX_EXEMPLAR_RUNES = 128;

/** Go's float format with `.0` added to a whole number (writeOpenMetricsFloat). */
export function formatOpenMetricsFloat(v: number): string {
  if (v === 0) return '0.0';
  if (v === 1) return '1.0';
  if (v === -1) return '-1.0';
  const s = formatGoFloat(v);
  if (Number.isNaN(v) || !Number.isFinite(v) || s.includes('.') || s.includes('e')) return s;
  return `${s}.0`;
}

/**
 * A timestamp (after a sample's value, or an exemplar's) as decimal seconds, exact to the
 * nanosecond and never in exponent form: `1700000000.5`. Upstream writes the float
 * (`1.7000000005e+09`), which loses nanoseconds and which some parsers read wrongly as a
 * timestamp (the Python client's takes it for 1.7 seconds).
 */
export function formatOpenMetricsTimestamp(seconds: number, nanos: number): string {
  const total = BigInt(Math.trunc(seconds)) * 1_000_000_000n + BigInt(Math.trunc(nanos));
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const whole = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** A count: whole numbers as integers (uint64 digits), anything else as a float. */
function countText(v: number): string {
  if (Number.isInteger(v) && v >= 0) return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString();
  return formatOpenMetricsFloat(v);
}

/** HELP text escaping: `\`, newline and `"`. */
function escapeHelp(help: string): string {
  return escapeQuoted(help);
}

/**
 * True when a counter is written as an OpenMetrics counter: its name ends in `_total` (with
 * something before it) and no other family is named like its family would be.
 */
export function isCompliantCounter(name: string, type: MetricType, familyNameTaken: boolean): boolean {
  return type === 'counter' && name.length > 6 && name.endsWith('_total') && !familyNameTaken;
}

/** The OpenMetrics family name of a stored family (a compliant counter loses `_total`). */
export function openMetricsFamilyName(name: string, compliantCounter: boolean): string {
  return compliantCounter ? name.slice(0, -6) : name;
}

function typeText(type: MetricType, compliantCounter: boolean): string {
  switch (type) {
    case 'counter':
      return compliantCounter ? 'counter' : 'unknown';
    case 'untyped':
      return 'unknown';
    case 'gauge':
    case 'summary':
    case 'histogram':
    case 'gaugehistogram':
      return type;
  }
}

/** The `# HELP` (when help is defined) and `# TYPE` lines of a family. */
export function renderOpenMetricsHeader(name: string, help: string | undefined, type: MetricType, compliantCounter: boolean): string {
  const written = writeName(openMetricsFamilyName(name, compliantCounter));
  const typeLine = `# TYPE ${written} ${typeText(type, compliantCounter)}\n`;
  return help === undefined ? typeLine : `# HELP ${written} ${escapeHelp(help)}\n${typeLine}`;
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function exemplarText(exemplar: Exemplar | undefined): string {
  if (exemplar === undefined || exemplar.labels.length === 0) return '';
  let runes = 0;
  for (const label of exemplar.labels) runes += runeCount(label.name) + runeCount(label.value);
  if (runes > MAX_EXEMPLAR_RUNES) return '';
  const stamp = exemplar.timestamp === undefined ? '' : ` ${formatOpenMetricsTimestamp(exemplar.timestamp.seconds, exemplar.timestamp.nanos)}`;
  return ` # {${labelText(exemplar.labels)}} ${formatOpenMetricsFloat(exemplar.value)}${stamp}`;
}

/** A sample's timestamp as written after its value (with its space), or ''. */
function stampText(ms: number | undefined): string {
  return ms === undefined ? '' : ` ${formatOpenMetricsTimestamp(Math.floor(ms / 1000), (ms - Math.floor(ms / 1000) * 1000) * 1_000_000)}`;
}

/** Writes sample lines of one metric, sharing the rendered label text between them. */
function sampleWriter(metric: Metric): (name: string, value: string, extra?: string, exemplar?: Exemplar) => string {
  const labels = labelText(metric.labels);
  const stamp = stampText(metric.timestampMs);
  return (name, value, extra, exemplar) => `${seriesText(name, labels, extra)} ${value}${stamp}${exemplarText(exemplar)}\n`;
}

/**
 * The sample lines of one metric of a family (`name` as stored, escaped already). Extras
 * (exemplars, created timestamps) come from the metric's kept protobuf bytes.
 */
export function renderOpenMetricsMetric(name: string, type: MetricType, metric: Metric, compliantCounter: boolean): string {
  if (type === 'gauge' || type === 'untyped' || (type === 'counter' && (!compliantCounter || metric.protobufRest === undefined))) {
    // One line without extras: written without the writer (most stored series are these).
    const value = metric.value;
    return value === undefined ? '' : `${seriesText(name, labelText(metric.labels))} ${formatOpenMetricsFloat(value)}${stampText(metric.timestampMs)}\n`;
  }
  const line = sampleWriter(metric);
  const extras: MetricExtras = decodeExtras(metric.protobufRest);
  const family = openMetricsFamilyName(name, compliantCounter);
  const created = (): string =>
    extras.created === undefined ? '' : line(`${family}_created`, formatOpenMetricsFloat(timestampSeconds(extras.created)));
  switch (type) {
    case 'counter':
      // A compliant counter with kept protobuf bytes: its exemplar and created timestamp.
      if (metric.value === undefined) return '';
      return line(name, formatOpenMetricsFloat(metric.value), undefined, extras.exemplar) + created();
    case 'summary': {
      const summary = metric.summary;
      if (summary === undefined) return '';
      let out = '';
      for (const q of summary.quantiles) out += line(name, formatOpenMetricsFloat(q.value), `quantile="${formatOpenMetricsFloat(q.quantile)}"`);
      return out + line(`${name}_sum`, formatOpenMetricsFloat(summary.sampleSum)) + line(`${name}_count`, countText(summary.sampleCount)) + created();
    }
    case 'histogram':
    case 'gaugehistogram': {
      const histogram = metric.histogram;
      if (histogram === undefined) return '';
      let out = '';
      let infSeen = false;
      histogram.buckets.forEach((b, i) => {
        out += line(`${name}_bucket`, countText(b.cumulativeCount), `le="${formatOpenMetricsFloat(b.upperBound)}"`, extras.bucketExemplars?.[i]);
        if (b.upperBound === Infinity) infSeen = true;
      });
      if (!infSeen) out += line(`${name}_bucket`, countText(histogram.sampleCount), 'le="+Inf"');
      if (type === 'gaugehistogram') {
        return out + line(`${name}_gsum`, formatOpenMetricsFloat(histogram.sampleSum)) + line(`${name}_gcount`, countText(histogram.sampleCount));
      }
      return out + line(`${name}_sum`, formatOpenMetricsFloat(histogram.sampleSum)) + line(`${name}_count`, countText(histogram.sampleCount)) + created();
    }
  }
}
