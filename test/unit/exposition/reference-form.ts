/**
 * The shape the reference fixtures (test/fixtures/exposition) record upstream's results in, and
 * the conversion of Lethe's results into it: families sorted by name, numbers written by the
 * text format float writer, invalid UTF-8 shown as U+FFFD.
 */

import { readFileSync } from 'node:fs';
import { compareUtf8, formatGoFloat, renderFamily } from '../../../src/exposition/index.js';
import type { MetricFamily } from '../../../src/model/index.js';

export interface ReferenceMetric {
  labels: [string, string][];
  value?: string;
  summary?: { count: string; quantiles: [string, string][]; sum: string };
  histogram?: { buckets: [string, string][]; count: string; native: boolean; sum: string };
  ts?: number;
}

export interface ReferenceFamily {
  name: string;
  help: string | null;
  type: string;
  metrics: ReferenceMetric[];
  /** The family as upstream's text writer renders it; null where that writer fails. */
  text: string | null;
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/exposition/${name}`, import.meta.url), 'utf8')) as T;
}

/** Lone surrogates (Lethe's escaped invalid bytes) as U+FFFD, as upstream's JSON shows them. */
export const replaceInvalid = (s: string): string =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

export function referenceForm(families: readonly MetricFamily[]): ReferenceFamily[] {
  return [...families]
    .sort((a, b) => compareUtf8(a.name, b.name))
    .map((f) => ({
      name: replaceInvalid(f.name),
      help: f.help === undefined ? null : replaceInvalid(f.help),
      type: f.type,
      metrics: f.metrics.map((m) => {
        const out: ReferenceMetric = { labels: m.labels.map((l) => [replaceInvalid(l.name), replaceInvalid(l.value)]) };
        if (m.value !== undefined) out.value = formatGoFloat(m.value);
        if (m.summary) {
          out.summary = {
            count: formatGoFloat(m.summary.sampleCount),
            quantiles: m.summary.quantiles.map((q) => [formatGoFloat(q.quantile), formatGoFloat(q.value)]),
            sum: formatGoFloat(m.summary.sampleSum),
          };
        }
        if (m.histogram) {
          out.histogram = {
            buckets: m.histogram.buckets.map((b) => [formatGoFloat(b.upperBound), formatGoFloat(b.cumulativeCount)]),
            count: formatGoFloat(m.histogram.sampleCount),
            native: m.histogram.native === true,
            sum: formatGoFloat(m.histogram.sampleSum),
          };
        }
        if (m.timestampMs !== undefined) out.ts = m.timestampMs;
        return out;
      }),
      text: replaceInvalid(renderFamily(f)),
    }));
}
