import { ErrorCode, PayloadTooLargeError } from '../errors.js';
import { PUSH_FAILURE_TIME_METRIC, PUSH_TIME_METRIC, seriesCount, type GroupingKey, type MetricFamily, type PushMethod } from '../model/index.js';
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
    const pushedNames = new Set(request.families.map((f) => f.name));
    const kept = request.method === 'POST' && existing !== undefined
      ? [...existing.families.values()].map((s) => s.family).filter((f) => !pushedNames.has(f.name))
      : [];
    const before = stored === undefined ? 0 : seriesOf([...stored.families.values()].map((s) => s.family));
    const after = usage.series - before + seriesOf(request.families) + seriesOf(kept);
    if (after > namespaceSeries && after > usage.series) {
      refuse(
        'namespace_series',
        ErrorCode.namespaceSeries,
        `namespace ${JSON.stringify(namespace)} would have ${after} series, more than ${namespaceSeries} (--limits.namespace-series)`,
      );
    }
  }
}
