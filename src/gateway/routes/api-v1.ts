import type { Request, Response } from 'express';
import { formatGoFloat } from '../../exposition/index.js';
import { labelsObject, type GroupView, type Metric, type MetricFamily } from '../../model/index.js';
import type { GatewayDeps } from '../types.js';

/** The Pushgateway's `/api/v1` JSON, field for field. */

const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Headers': 'Accept, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Date',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
};

export function setApiHeaders(res: Response): void {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
}

/** Go's RFC3339Nano in UTC: fraction without trailing zeros. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

/** Go's %v for a float: like the text format, except that -0 stays -0. */
function goValue(v: number): string {
  return Object.is(v, -0) ? '-0' : formatGoFloat(v);
}

/** Answers JSON with upstream's exact Content-Type (no charset). */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.setHeader('Content-Type', 'application/json');
  res.status(status).end(JSON.stringify(body));
}

function metricJson(family: MetricFamily, metric: Metric): Record<string, unknown> {
  const labels = Object.fromEntries(metric.labels.map((l) => [l.name, l.value]));
  if (family.type === 'gaugehistogram') {
    // Upstream's API has no case for gauge histograms and shows an empty value (kept for parity).
    return { labels, value: '0' };
  }
  if (metric.summary !== undefined) {
    return {
      labels,
      quantiles: Object.fromEntries(metric.summary.quantiles.map((q) => [formatGoFloat(q.quantile), goValue(q.value)])),
      count: goValue(metric.summary.sampleCount),
      sum: goValue(metric.summary.sampleSum),
    };
  }
  if (metric.histogram !== undefined) {
    return {
      labels,
      buckets: Object.fromEntries(metric.histogram.buckets.map((b) => [formatGoFloat(b.upperBound), goValue(b.cumulativeCount)])),
      count: goValue(metric.histogram.sampleCount),
      sum: goValue(metric.histogram.sampleSum),
    };
  }
  return { labels, value: goValue(metric.value ?? 0) };
}

const TYPE_NAMES = {
  counter: 'COUNTER',
  gauge: 'GAUGE',
  summary: 'SUMMARY',
  untyped: 'UNTYPED',
  histogram: 'HISTOGRAM',
  gaugehistogram: 'GAUGE_HISTOGRAM',
} as const;

export function groupJson(group: GroupView): Record<string, unknown> {
  const out: Record<string, unknown> = {
    labels: labelsObject(group.key),
    last_push_successful: group.lastFailureAt <= group.lastPushAt,
  };
  for (const [name, stored] of group.families) {
    const { family } = stored;
    out[name] = {
      time_stamp: rfc3339(stored.pushedAt),
      type: TYPE_NAMES[family.type],
      ...(family.help === undefined || family.help === '' ? {} : { help: family.help }),
      metrics: family.metrics.map((m) => metricJson(family, m)),
    };
  }
  return out;
}

export function metricsApiHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    setApiHeaders(res);
    const data = [...deps.store.groups()].map(groupJson);
    sendJson(res, 200, { status: 'success', data });
  };
}

export function statusApiHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    setApiHeaders(res);
    sendJson(res, 200, {
      status: 'success',
      data: {
        build_information: {
          branch: '',
          buildDate: '',
          buildUser: '',
          goVersion: `node${process.versions.node}`,
          revision: deps.build.revision,
          version: deps.build.version,
        },
        flags: deps.config.flags,
        start_time: deps.build.startTime.toISOString(),
      },
    });
  };
}

export function optionsApiHandler() {
  return (_req: Request, res: Response): void => {
    setApiHeaders(res);
    res.status(200).end();
  };
}

/** PUT /api/v1/admin/wipe: 202 at once, then every group stored at this moment is deleted. */
export function wipeHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    setApiHeaders(res);
    res.status(202).end();
    void deps.store.wipe();
  };
}
