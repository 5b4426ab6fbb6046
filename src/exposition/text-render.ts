/**
 * Rendering of the text exposition format 0.0.4, byte for byte as prometheus/common's
 * expfmt text writer produces it, and the metric order of client_golang's normalisation.
 */

import type { Label, Metric, MetricFamily, MetricType } from '../model/index.js';
import { formatGoFloat } from './go-float.js';
import { isValidLegacyMetricName } from './names.js';
import { compareUtf8 } from './utf8.js';

const TYPE_TEXT: Readonly<Record<MetricType, string>> = {
  counter: 'counter',
  gauge: 'gauge',
  summary: 'summary',
  untyped: 'untyped',
  histogram: 'histogram',
  gaugehistogram: 'histogram',
};

/** HELP text escaping: `\` and newline. */
function escapeHelp(help: string): string {
  if (!help.includes('\\') && !help.includes('\n')) return help;
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

const NEEDS_QUOTING = /[\\\n"]/;

/** Label value (and quoted name) escaping: `\`, newline and `"`. */
export function escapeQuoted(value: string): string {
  if (!NEEDS_QUOTING.test(value)) return value;
  return value.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A name as written: as is when it is a legacy metric name, else quoted. */
export function writeName(name: string): string {
  return isValidLegacyMetricName(name) ? name : `"${escapeQuoted(name)}"`;
}

/**
 * The `# HELP` (only when help is defined, even if empty) and `# TYPE` lines of a family.
 * Gauge histograms are written as `histogram`.
 */
export function renderHeader(name: string, help: string | undefined, type: MetricType): string {
  const written = writeName(name);
  const typeLine = `# TYPE ${written} ${TYPE_TEXT[type]}\n`;
  return help === undefined ? typeLine : `# HELP ${written} ${escapeHelp(help)}\n${typeLine}`;
}

/** `l1="v1",l2="v2"` for the metric's labels, in the order given. */
export function labelText(labels: readonly Label[]): string {
  let out = '';
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === undefined) continue;
    out += `${i === 0 ? '' : ','}${writeName(label.name)}="${escapeQuoted(label.value)}"`;
  }
  return out;
}

/**
 * A timestamp as the int64 it stands for: exact digits (String() would write 2^63 as
 * `9223372036854776000`, beyond the int64 range, which the parser refuses), and the nearest end of
 * the range for the one double above it (int64 max parses to 2^63).
 */
function timestampText(ms: number): string {
  if (Number.isSafeInteger(ms)) return String(ms);
  if (ms >= 2 ** 63) return '9223372036854775807';
  if (ms <= -(2 ** 63)) return '-9223372036854775808';
  return BigInt(Math.trunc(ms)).toString();
}

/**
 * A sample's series as written before its value: `name{labels}` (labels `l1="v1",...` and then
 * `extra`, either may be empty or missing), or `{"name",labels}` when the name is not a legacy one.
 */
export function seriesText(name: string, labels: string, extra?: string): string {
  if (isValidLegacyMetricName(name)) {
    const inner = labels === '' ? (extra ?? '') : extra === undefined ? labels : `${labels},${extra}`;
    return inner === '' ? name : `${name}{${inner}}`;
  }
  return `{${writeName(name)}${labels === '' ? '' : `,${labels}`}${extra === undefined ? '' : `,${extra}`}}`;
}

/** The end of a sample line: the timestamp when there is one, and the newline. */
const stampText = (timestampMs: number | undefined): string => (timestampMs === undefined ? '\n' : ` ${timestampText(timestampMs)}\n`);

/** Writes sample lines of one metric, sharing the rendered label text between them. */
function sampleWriter(name: string, metric: Metric): (suffix: string, value: number, extra?: string) => string {
  const labels = labelText(metric.labels);
  const stamp = stampText(metric.timestampMs);
  return (suffix, value, extra) => `${seriesText(name + suffix, labels, extra)} ${formatGoFloat(value)}${stamp}`;
}

/**
 * All sample lines of one metric of a family of the given type. Summaries: one line per
 * quantile (the `quantile` label last), then `_sum` and `_count`. Histograms: `_bucket` lines
 * (the `le` label last, a `+Inf` bucket holding the count added when missing), then `_sum` and
 * `_count`. A metric without the value of its family's type (which the consistency check keeps
 * out of the store) renders as nothing, where upstream would fail the whole scrape.
 */
export function renderMetric(name: string, type: MetricType, metric: Metric): string {
  if (type === 'counter' || type === 'gauge' || type === 'untyped') {
    // One line: written without the writer (most stored series are these).
    const value = metric.value;
    return value === undefined ? '' : `${seriesText(name, labelText(metric.labels))} ${formatGoFloat(value)}${stampText(metric.timestampMs)}`;
  }
  const line = sampleWriter(name, metric);
  switch (type) {
    case 'summary': {
      const summary = metric.summary;
      if (summary === undefined) return '';
      let out = '';
      for (const q of summary.quantiles) out += line('', q.value, `quantile="${formatGoFloat(q.quantile)}"`);
      return out + line('_sum', summary.sampleSum) + line('_count', summary.sampleCount);
    }
    case 'histogram':
    case 'gaugehistogram': {
      const histogram = metric.histogram;
      if (histogram === undefined) return '';
      let out = '';
      let infSeen = false;
      for (const b of histogram.buckets) {
        out += line('_bucket', b.cumulativeCount, `le="${formatGoFloat(b.upperBound)}"`);
        if (b.upperBound === Infinity) infSeen = true;
      }
      if (!infSeen) out += line('_bucket', histogram.sampleCount, 'le="+Inf"');
      return out + line('_sum', histogram.sampleSum) + line('_count', histogram.sampleCount);
    }
  }
}

/** Header and every metric of a family, in the order given; '' for a family without metrics. */
export function renderFamily(family: MetricFamily): string {
  const metrics = family.metrics;
  if (metrics.length === 0) return '';
  let out = renderHeader(family.name, family.help, family.type);
  for (const metric of metrics) out += renderMetric(family.name, family.type, metric);
  return out;
}

/**
 * The metric order of a scrape (client_golang's NormalizeMetricFamilies): fewer labels first,
 * then label values position by position in byte order (labels are sorted by name by then),
 * then by timestamp with metrics without one last. Label names are not compared.
 */
export function compareMetrics(a: Metric, b: Metric): number {
  if (a.labels.length !== b.labels.length) return a.labels.length < b.labels.length ? -1 : 1;
  for (let i = 0; i < a.labels.length; i++) {
    const va = a.labels[i]?.value ?? '';
    const vb = b.labels[i]?.value ?? '';
    if (va !== vb) return compareUtf8(va, vb);
  }
  return compareTimestamps(a.timestampMs, b.timestampMs);
}

/** The order of two series with the same labels: by timestamp, a series without one last. */
export function compareTimestamps(ta: number | undefined, tb: number | undefined): number {
  if (ta === undefined) return tb === undefined ? 0 : 1;
  if (tb === undefined) return -1;
  return ta === tb ? 0 : ta < tb ? -1 : 1;
}
