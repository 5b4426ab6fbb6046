import { ErrorCode, PayloadTooLargeError, UnavailableError } from '../errors.js';
import { PUSH_FAILURE_TIME_METRIC, PUSH_TIME_METRIC, seriesCount, type GroupingKey, type GroupView, type MetricFamily, type PushMethod } from '../model/index.js';
import { mebibytes } from '../memory-guard.js';
import type { GatewayDeps } from './types.js';

/**
 * Per-namespace quotas (--limits.namespace-groups, --limits.namespace-series), checked before
 * a push is written, against the store's usage of the namespace the push is attributed to. The
 * check is not atomic with the write: pushes running at the same moment may together go over by
 * what they add. A push that does not add to the usage is always let through, so lowering a
 * quota never locks a namespace out of replacing its own groups.
 */

const isMeta = (name: string): boolean => name === PUSH_TIME_METRIC || name === PUSH_FAILURE_TIME_METRIC;

function seriesOf(families: Iterable<MetricFamily>): number {
  let series = 0;
  for (const family of families) if (!isMeta(family.name)) series += seriesCount(family);
  return series;
}

export interface QuotaRequest {
  readonly namespace: string | undefined;
  readonly key: GroupingKey;
  readonly method: PushMethod;
  readonly families: readonly MetricFamily[];
}

/**
 * The series of the group a push writes to: `stored`'s (0 when undefined: a new group, or one the
 * count leaves out) and the ones the push would leave in it (`existing` is the group as stored).
 */
function groupSeries(request: QuotaRequest, existing: GroupView | undefined, stored: GroupView | undefined): { before: number; after: number } {
  const pushedNames = new Set(request.families.map((f) => f.name));
  const kept = request.method === 'POST' && existing !== undefined
    ? [...existing.families.values()].map((s) => s.family).filter((f) => !pushedNames.has(f.name))
    : [];
  const before = stored === undefined ? 0 : seriesOf([...stored.families.values()].map((s) => s.family));
  return { before, after: seriesOf(request.families) + seriesOf(kept) };
}

/**
 * The heap guard (--limits.heap-share, memory-guard.ts): a push that adds a group or series is
 * refused (503) while V8's heap holds more than that share of its limit after a full collection.
 * One that leaves its group no larger goes through: replacing what is stored does not grow it.
 */
export function checkHeap(deps: GatewayDeps, request: QuotaRequest): void {
  const guard = deps.memoryGuard;
  // Nearly every push passes here: the store's group is looked at only when the heap is near the line.
  if (guard?.pressed() !== true) return;
  const existing = deps.store.get(request.key);
  if (existing !== undefined) {
    const { before, after } = groupSeries(request, existing, existing);
    if (after <= before) return;
  }
  const reading = guard.full();
  if (reading === undefined) return;
  deps.metrics.limitRejections.inc({ limit: 'heap' });
  throw new UnavailableError(
    ErrorCode.heapFull,
    `memory exhausted: V8's heap holds ${mebibytes(reading.used)} MiB after a full collection, more than ${deps.config.limits.heapShare} of its limit of ${mebibytes(reading.limit)} MiB (--limits.heap-share); pushes that add series are refused until groups are deleted or Lethe is given more memory`,
    { details: { retryAfterSeconds: 30 } },
  );
}

export function checkQuotas(deps: GatewayDeps, request: QuotaRequest): void {
  const { namespaceGroups, namespaceSeries } = deps.config.limits;
  const { namespace } = request;
  if (namespace === undefined || (namespaceGroups === 0 && namespaceSeries === 0)) return;
  const usage = deps.store.namespaceUsage(namespace);
  const existing = deps.store.get(request.key);
  const stored = existing?.attribution.namespace === namespace ? existing : undefined;
  const refuse = (limit: string, code: string, message: string): never => {
    deps.metrics.limitRejections.inc({ limit });
    throw new PayloadTooLargeError(code, `limit exceeded: ${message}`);
  };

  if (namespaceGroups > 0 && stored === undefined && usage.groups + 1 > namespaceGroups) {
    refuse(
      'namespace_groups',
      ErrorCode.namespaceGroups,
      `namespace ${JSON.stringify(namespace)} already has ${usage.groups} groups, the most allowed (--limits.namespace-groups)`,
    );
  }
  if (namespaceSeries > 0) {
    const group = groupSeries(request, existing, stored);
    const after = usage.series - group.before + group.after;
    if (after > namespaceSeries && after > usage.series) {
      refuse(
        'namespace_series',
        ErrorCode.namespaceSeries,
        `namespace ${JSON.stringify(namespace)} would have ${after} series, more than ${namespaceSeries} (--limits.namespace-series)`,
      );
    }
  }
}
