import type { Request, Response } from 'express';
import { decodeExtras, formatGoFloat, nativeBuckets, type NativeHistogram } from '../../exposition/index.js';
import { labelsObject, type GroupView, type Metric, type MetricFamily } from '../../model/index.js';
import { F, errorFields } from '../../observability/index.js';
import type { StoreHealth } from '../../store/index.js';
import type { GatewayDeps } from '../types.js';
import { deletionReporter } from './deletions.js';

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

/** The range of a Date, in ms either side of the epoch. */
const MAX_DATE_MS = 8.64e15;

/**
 * Go's RFC3339Nano in UTC: fraction without trailing zeros. A time beyond what a Date holds (a
 * pushed push_failure_time_seconds can be any number) is clamped to that range instead of throwing.
 */
export function rfc3339(ms: number): string {
  const t = Number.isNaN(ms) ? 0 : Math.min(Math.max(ms, -MAX_DATE_MS), MAX_DATE_MS);
  return new Date(t).toISOString().replace(/\.?0*Z$/, 'Z');
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

export function metricJson(family: MetricFamily, metric: Metric): Record<string, unknown> {
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
    const native = decodeExtras(metric.protobufRest).native;
    if (native !== undefined && native.positiveSpans.length + native.negativeSpans.length > 0) {
      return { labels, ...nativeJson(native, metric.histogram.sampleCount), sum: goValue(metric.histogram.sampleSum) };
    }
    return {
      labels,
      buckets: Object.fromEntries(metric.histogram.buckets.map((b) => [formatGoFloat(b.upperBound), goValue(b.cumulativeCount)])),
      count: goValue(metric.histogram.sampleCount),
      sum: goValue(metric.histogram.sampleSum),
    };
  }
  return { labels, value: goValue(metric.value ?? 0) };
}

/**
 * A native histogram as upstream's API shows it (`buckets` as [boundary rule, lower, upper,
 * count], only non-empty buckets, the zero bucket among them), plus Lethe's `schema` and
 * `zero_threshold`. A schema without exponential buckets (custom bounds) shows no buckets.
 */
export function nativeJson(native: NativeHistogram, count: number): Record<string, unknown> {
  const buckets = nativeBuckets(native) ?? [];
  return {
    schema: native.schema,
    zero_threshold: goValue(native.zeroThreshold),
    buckets: buckets.map((b) => [b.boundaries, goValue(b.lower), goValue(b.upper), goValue(b.count)]),
    count: goValue(count),
  };
}

export const TYPE_NAMES = {
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
  return async (_req: Request, res: Response): Promise<void> => {
    setApiHeaders(res);
    // Inside settled(): a push not yet durable is never shown.
    const data = await deps.store.settled(() => [...deps.store.groups()].map(groupJson));
    sendJson(res, 200, { status: 'success', data });
  };
}

/** The store's state as /api/v1/status shows it (Lethe's addition to upstream's document). */
export function storeStatusJson(health: StoreHealth): Record<string, unknown> {
  return {
    writable: health.writable,
    problem: health.problem ?? null,
    since: health.since === undefined ? null : rfc3339(health.since),
    op: health.op ?? null,
    code: health.code ?? null,
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
        store: storeStatusJson(deps.store.health()),
        // Lethe's own, in Kubernetes mode: what needs a person (a missing CRD, a forbidden call).
        ...(deps.problems === undefined ? {} : { problems: deps.problems().map((p) => ({ reason: p.reason, message: p.message, failsReadiness: p.failsReadiness })) }),
        // The configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds) and their states.
        ...(deps.ownerKinds === undefined ? {} : { ownerKinds: deps.ownerKinds().map((k) => ({ ...k, since: rfc3339(k.since) })) }),
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

/**
 * PUT /api/v1/admin/wipe: deletes every group stored at this moment, each logged and counted with
 * reason wipe, and answers 202 once done. A store that fails part way (Redis lost) answers 503
 * saying how many groups were deleted; the rest stay.
 */
export function wipeHandler(deps: GatewayDeps) {
  const log = deps.logger.child({ [F.component]: 'gateway' });
  return async (req: Request, res: Response): Promise<void> => {
    setApiHeaders(res);
    try {
      const count = await deps.store.wipe(deletionReporter(deps, log, 'wipe', req, undefined));
      log.info('Wiped metric groups', { groups: count, [F.remote]: req.socket.remoteAddress ?? '' });
    } catch (err) {
      log.error('Failed to wipe metric groups', { [F.remote]: req.socket.remoteAddress ?? '', [F.err]: errorFields(err) });
      throw err;
    }
    res.status(202).end();
  };
}
