/**
 * Push bodies: the same metric families as text 0.0.4 and as delimited protobuf (encoded with
 * Lethe's own encoder, which writes what client_golang writes for these simple families).
 */
import { encodeFamilyDelimited } from '../src/exposition/index.js';
import type { MetricFamily } from '../src/model/index.js';

export const TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const PROTOBUF_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** Every pushed metric name starts with this, so a scrape's pushed samples can be counted. */
export const METRIC_PREFIX = 'bench_';

export type BodyFormat = 'text' | 'protobuf';

export interface Body {
  readonly series: number;
  readonly format: BodyFormat;
  readonly contentType: string;
  readonly bytes: Buffer;
}

/**
 * `families` families of `perFamily` series each, alternately counters and gauges, labelled
 * like a batch job's request metrics.
 */
export function families(families: number, perFamily: number): MetricFamily[] {
  const out: MetricFamily[] = [];
  for (let f = 0; f < families; f++) {
    const counter = f % 2 === 0;
    const name = `${METRIC_PREFIX}m${f}_${counter ? 'total' : 'seconds'}`;
    out.push({
      name,
      help: counter ? `Things done by the batch job (${f}).` : `Time the batch job spent (${f}).`,
      type: counter ? 'counter' : 'gauge',
      metrics: Array.from({ length: perFamily }, (_, i) => ({
        labels: [
          { name: 'path', value: `/api/v1/items/${i}` },
          { name: 'code', value: i % 7 === 0 ? '500' : '200' },
        ],
        value: counter ? 1000 + i * 17 : 0.25 + i / 1000,
      })),
    });
  }
  return out;
}

function renderText(list: readonly MetricFamily[]): string {
  let out = '';
  for (const family of list) {
    out += `# HELP ${family.name} ${family.help ?? ''}\n# TYPE ${family.name} ${family.type}\n`;
    for (const metric of family.metrics) {
      const labels = metric.labels.map((l) => `${l.name}="${l.value}"`).join(',');
      out += `${family.name}{${labels}} ${String(metric.value ?? 0)}\n`;
    }
  }
  return out;
}

export function body(list: readonly MetricFamily[], format: BodyFormat): Body {
  const series = list.reduce((n, f) => n + f.metrics.length, 0);
  if (format === 'text') return { series, format, contentType: TEXT_TYPE, bytes: Buffer.from(renderText(list)) };
  return { series, format, contentType: PROTOBUF_TYPE, bytes: Buffer.concat(list.map((f) => encodeFamilyDelimited(f))) };
}

/** 10 series: 2 families of 5. */
export const smallFamilies = (): MetricFamily[] => families(2, 5);
/** 5,000 series: 50 families of 100. */
export const largeFamilies = (): MetricFamily[] => families(50, 100);
