import type { Registry } from 'prom-client';
import type { Bucket, Label, Metric, MetricFamily, Quantile } from '../model/index.js';

/**
 * Lethe's own metrics as the scrape merges them with the stored groups: prom-client's collected
 * values (every metric's `get()`, which runs its `collect`) turned into the model's families
 * directly, with no text rendered and parsed back. The result is what parsing prom-client's text
 * output gives (a unit test compares the two): families without samples left out; the `le` and
 * `quantile` labels folded into buckets and quantiles; `_sum` and `_count` into the metric.
 */

/** A collected value as prom-client hands it out (`metricName` for a histogram's or summary's series). */
interface CollectedValue {
  readonly value: number;
  readonly labels: Readonly<Partial<Record<string, string | number>>>;
  readonly metricName?: string;
}

interface Collected {
  readonly name: string;
  readonly help: string;
  /** 'counter', 'gauge', 'histogram' or 'summary' at run time (an enum in prom-client's typings). */
  readonly type: unknown;
  readonly values: readonly CollectedValue[];
}

export async function ownFamilies(registry: Registry): Promise<MetricFamily[]> {
  const families: MetricFamily[] = [];
  for (const collected of await registry.getMetricsAsJSON()) {
    const family = familyOf(collected);
    if (family !== undefined) families.push(family);
  }
  return families;
}

/** The family of one collected metric; undefined when it has no samples (as a parse would drop it). */
export function familyOf(collected: Collected): MetricFamily | undefined {
  const { name, help, values } = collected;
  if (values.length === 0) return undefined;
  const type = String(collected.type);
  switch (type) {
    case 'counter':
    case 'gauge':
      return { name, help, type, metrics: values.map((v) => ({ labels: labelsOf(v.labels), value: v.value + 0 })) };
    case 'histogram':
      return { name, help, type, metrics: folded(name, values, 'le') };
    case 'summary':
      return { name, help, type, metrics: folded(name, values, 'quantile') };
    default:
      return { name, help, type: 'untyped', metrics: values.map((v) => ({ labels: labelsOf(v.labels), value: v.value + 0 })) };
  }
}

/** Labels in prom-client's order, `skip` left out; numbers as the text format would print them. */
function labelsOf(labels: CollectedValue['labels'], skip?: string): Label[] {
  const out: Label[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (name === skip || value === undefined) continue;
    out.push({ name, value: String(value) });
  }
  return out;
}

interface Draft {
  readonly labels: Label[];
  sampleCount: number;
  sampleSum: number;
  readonly buckets: Bucket[];
  readonly quantiles: Quantile[];
}

/** One histogram or summary metric per label set (without `special`), in order of first appearance. */
function folded(name: string, values: readonly CollectedValue[], special: 'le' | 'quantile'): Metric[] {
  const drafts = new Map<string, Draft>();
  let last: Draft | undefined;
  for (const v of values) {
    const labels = labelsOf(v.labels, special);
    // prom-client hands out the series of one label set one after another.
    let draft = last !== undefined && sameLabels(last.labels, labels) ? last : undefined;
    if (draft === undefined) {
      const id = JSON.stringify(labels.map((l) => [l.name, l.value]).sort());
      draft = drafts.get(id);
      if (draft === undefined) {
        draft = { labels, sampleCount: 0, sampleSum: 0, buckets: [], quantiles: [] };
        drafts.set(id, draft);
      }
    }
    last = draft;
    const series = v.metricName ?? name;
    const bound = v.labels[special];
    if (series === `${name}_sum`) draft.sampleSum = v.value;
    else if (series === `${name}_count`) draft.sampleCount = v.value + 0;
    else if (bound !== undefined) {
      const at = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      if (special === 'le') draft.buckets.push({ upperBound: at, cumulativeCount: v.value + 0 });
      else draft.quantiles.push({ quantile: at, value: v.value });
    }
  }
  return [...drafts.values()].map((d) =>
    special === 'le'
      ? { labels: d.labels, histogram: { sampleCount: d.sampleCount, sampleSum: d.sampleSum, buckets: d.buckets } }
      : { labels: d.labels, summary: { sampleCount: d.sampleCount, sampleSum: d.sampleSum, quantiles: d.quantiles } },
  );
}

function sameLabels(a: readonly Label[], b: readonly Label[]): boolean {
  return a.length === b.length && a.every((l, i) => l.name === b[i]?.name && l.value === b[i]?.value);
}
