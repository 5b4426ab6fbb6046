/**
 * The families a text push builds up, with upstream's rules for which family a sample name
 * belongs to (`x_count` / `x_sum` / `x_bucket` of a summary or histogram `x`) and for folding
 * the lines of one summary or histogram into one metric per label set.
 */

import type { Label, MetricFamily, MetricType, Quantile } from '../model/index.js';

interface SummaryDraft {
  sampleCount: number;
  sampleSum: number;
  quantiles: Quantile[];
}

interface HistogramDraft {
  sampleCount: number;
  sampleSum: number;
  buckets: { upperBound: number; cumulativeCount: number }[];
}

export interface MetricDraft {
  labels: Label[];
  value?: number;
  summary?: SummaryDraft;
  histogram?: HistogramDraft;
  timestampMs?: number;
}

export interface FamilyDraft {
  readonly name: string;
  help: string | undefined;
  type: MetricType | undefined;
  readonly metrics: MetricDraft[];
}

/** Which of its family's series a sample line writes. */
export type SampleSuffix = 'count' | 'sum' | undefined;

export const isSummary = (t: MetricType | undefined): boolean => t === 'summary';
export const isHistogram = (t: MetricType | undefined): boolean => t === 'histogram' || t === 'gaugehistogram';

/** Separates parts of a fold key; a lone surrogate never occurs in an accepted label. */
const KEY_SEPARATOR = '\udbff';

export class FamilySet {
  private readonly families = new Map<string, FamilyDraft>();
  /** Summary and histogram metrics by family name and label set. */
  private readonly folded = new Map<string, MetricDraft>();
  private lastFolded: { readonly family: FamilyDraft; readonly metric: MetricDraft } | undefined;
  /** The suffix of the name passed to the last familyFor call. */
  suffix: SampleSuffix;

  /**
   * The family a (valid) name belongs to, created when new: the family of that exact name,
   * else the summary or histogram the name is the `_count`/`_sum` (or histogram `_bucket`) of.
   */
  familyFor(name: string): FamilyDraft {
    this.suffix = undefined;
    const { families } = this;
    const exact = families.get(name);
    if (exact !== undefined) return exact;
    const n = name.length;
    if (n > 6 && name.endsWith('_count')) {
      const base = families.get(name.slice(0, n - 6));
      if (base !== undefined && (isSummary(base.type) || isHistogram(base.type))) {
        this.suffix = 'count';
        return base;
      }
    } else if (n > 4 && name.endsWith('_sum')) {
      const base = families.get(name.slice(0, n - 4));
      if (base !== undefined && (isSummary(base.type) || isHistogram(base.type))) {
        this.suffix = 'sum';
        return base;
      }
    } else if (n > 7 && name.endsWith('_bucket')) {
      const base = families.get(name.slice(0, n - 7));
      if (base !== undefined && isHistogram(base.type)) return base;
    }
    const created: FamilyDraft = { name, help: undefined, type: undefined, metrics: [] };
    families.set(name, created);
    return created;
  }

  /** The summary or histogram metric of the family with these labels, added when new. */
  foldedMetric(family: FamilyDraft, labels: Label[]): MetricDraft {
    // Lines of one summary or histogram usually follow each other with the same labels.
    const last = this.lastFolded;
    if (last !== undefined && last.family === family && sameLabels(last.metric.labels, labels)) return last.metric;
    const key = foldKey(family.name, labels);
    let metric = this.folded.get(key);
    if (metric === undefined) {
      metric = { labels };
      this.folded.set(key, metric);
      family.metrics.push(metric);
    }
    this.lastFolded = { family, metric };
    return metric;
  }

  /** Families with samples, in order of first appearance. */
  result(): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const f of this.families.values()) {
      if (f.metrics.length === 0) continue;
      const { name, help, metrics } = f;
      const type = f.type ?? 'untyped';
      out.push(help === undefined ? { name, type, metrics } : { name, help, type, metrics });
    }
    return out;
  }
}

/** The same label pairs in the same order. */
export function sameLabels(a: readonly Label[], b: readonly Label[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.name !== y.name || x.value !== y.value) return false;
  }
  return true;
}

/** Identifies a metric by family and label set, independent of label order. */
function foldKey(family: string, labels: readonly Label[]): string {
  if (labels.length === 0) return family;
  const parts = labels.map((l) => `${l.name}${KEY_SEPARATOR}${l.value}`);
  if (parts.length > 1) parts.sort();
  return `${family}${KEY_SEPARATOR}${KEY_SEPARATOR}${parts.join(KEY_SEPARATOR + KEY_SEPARATOR)}`;
}

/** TYPE line values, upper-cased; OpenMetrics' `gaugehistogram` is tolerated too. */
const TYPE_NAMES: ReadonlyMap<string, MetricType> = new Map([
  ['COUNTER', 'counter'],
  ['GAUGE', 'gauge'],
  ['SUMMARY', 'summary'],
  ['UNTYPED', 'untyped'],
  ['HISTOGRAM', 'histogram'],
  ['GAUGE_HISTOGRAM', 'gaugehistogram'],
  ['GAUGEHISTOGRAM', 'gaugehistogram'],
]);

/**
 * The type a TYPE line names, in any case. Upper-casing follows Go's strings.ToUpper as far as
 * it can yield a type name: ASCII letters, plus the two non-ASCII letters whose upper case is
 * ASCII (ı → I, ſ → S).
 */
export function parseTypeName(text: string): MetricType | undefined {
  let upper = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) upper += String.fromCharCode(c - 0x20);
    else if (c === 0x131) upper += 'I';
    else if (c === 0x17f) upper += 'S';
    else upper += text[i] ?? '';
  }
  return TYPE_NAMES.get(upper);
}
