import type { Request, Response } from 'express';
import { decodeExtras, formatGoFloat, nativeBuckets, type NativeHistogram } from '../../exposition/index.js';
import {
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_METRIC,
  labelsObject,
  type Attribution,
  type GroupInsight,
  type GroupView,
  type GroupingKey,
  type Metric,
  type MetricFamily,
  type OwnerRef,
} from '../../model/index.js';
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

/*
 * GET /api/v1/groups: Lethe's own view of every group, for the web page and for people. The
 * Pushgateway has no such route. /api/v1/metrics stays exactly upstream's document, where every
 * key of a group other than `labels` and `last_push_successful` is a family, so what only Lethe
 * knows (attribution, owner, scrape time, lifecycle insight) lives here instead.
 */

/** `metrics/job@base64/<b64>{/<name>@base64/<b64>}`: the group's push/delete path below the route prefix. */
export function groupPath(key: GroupingKey): string {
  const b64 = (value: string): string => (value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url'));
  const job = key.labels.find((l) => l.name === 'job')?.value ?? '';
  const rest = key.labels.filter((l) => l.name !== 'job').map((l) => `/${l.name}@base64/${b64(l.value)}`);
  return `metrics/job@base64/${b64(job)}${rest.join('')}`;
}

const timeOrNull = (ms: number | undefined): string | null => (ms === undefined || ms === 0 ? null : rfc3339(ms));

function attributionJson(a: Attribution): Record<string, unknown> {
  return {
    source: a.source,
    ...(a.namespace === undefined ? {} : { namespace: a.namespace }),
    ...(a.pod === undefined ? {} : { pod: a.pod }),
    ...(a.user === undefined ? {} : { user: a.user }),
    ...(a.job === undefined ? {} : { job: a.job.name }),
    ...(a.cronJob === undefined ? {} : { cronJob: a.cronJob.name }),
  };
}

function ownerJson(owner: OwnerRef | undefined): Record<string, unknown> | null {
  if (owner === undefined) return null;
  return {
    kind: owner.kind,
    namespace: owner.namespace,
    name: owner.name,
    uid: owner.uid,
    ...(owner.cronJob === undefined ? {} : { cronJob: owner.cronJob.name }),
  };
}

function insightJson(insight: GroupInsight | undefined): Record<string, unknown> | null {
  if (insight === undefined) return null;
  return {
    policy: { ...insight.policy },
    policySource: insight.policySource ?? 'flags',
    policyInvalid: insight.policyInvalid ?? null,
    ownerAlive: insight.ownerAlive ?? null,
    nextDeletion:
      insight.nextDeletion === undefined ? null : { reason: insight.nextDeletion.reason, time: rfc3339(insight.nextDeletion.at) },
    overdue: insight.overdue === undefined ? null : { since: rfc3339(insight.overdue.since) },
  };
}

/** One group as /api/v1/groups shows it; families keep /api/v1/metrics' shape, plus their name. */
export function groupDetailJson(group: GroupView, insight: GroupInsight | undefined): Record<string, unknown> {
  const families: Record<string, unknown>[] = [];
  let series = 0;
  for (const [name, stored] of group.families) {
    const { family } = stored;
    if (name !== PUSH_TIME_METRIC && name !== PUSH_FAILURE_TIME_METRIC) series += family.metrics.length;
    families.push({
      name,
      time_stamp: rfc3339(stored.pushedAt),
      type: TYPE_NAMES[family.type],
      ...(family.help === undefined || family.help === '' ? {} : { help: family.help }),
      metrics: family.metrics.map((m) => metricJson(family, m)),
    });
  }
  return {
    labels: labelsObject(group.key),
    path: groupPath(group.key),
    lastPushTime: timeOrNull(group.lastPushAt),
    lastFailureTime: timeOrNull(group.lastFailureAt),
    lastPushSuccessful: group.lastFailureAt <= group.lastPushAt,
    lastScrapeTime: timeOrNull(group.scrapedAt),
    excludedReason: group.excludedReason ?? null,
    attribution: attributionJson(group.attribution),
    owner: ownerJson(group.owner),
    insight: insightJson(insight),
    series,
    families,
  };
}

export function groupsApiHandler(deps: GatewayDeps) {
  return async (_req: Request, res: Response): Promise<void> => {
    setApiHeaders(res);
    const { insight } = deps;
    // Inside settled(): a push not yet durable is never shown (the web page reads this).
    const groups = await deps.store.settled(() =>
      [...deps.store.groups()]
        .sort((a, b) => (a.key.id < b.key.id ? -1 : a.key.id > b.key.id ? 1 : 0))
        .map((g) => groupDetailJson(g, insight?.(g))),
    );
    sendJson(res, 200, {
      status: 'success',
      data: {
        time: rfc3339(deps.clock.now()),
        adminApi: deps.config.web.enableAdminApi,
        lifecycle: insight !== undefined,
        /** False when Lethe runs standalone: no cluster, so no owners (only --lifecycle.ttl applies). */
        kubernetes: deps.kubernetes ?? false,
        /** The lifecycle gates that hold deletions back now (sync, health, leader); empty when none. */
        blockedBy: deps.blockedBy?.() ?? [],
        groups,
      },
    });
  };
}
