import { ErrorCode, ForbiddenError } from '../errors.js';
import { seriesCount, type Attribution, type GroupingKey, type StoredFamily } from '../model/index.js';
import type { NamespaceGuard, NamespaceUsage } from './group-store.js';

/**
 * Namespaces in the store: the guard that keeps one namespace from writing another's groups
 * (authentication on), and the per-namespace usage that quotas are checked against.
 */

/** True when a caller confined to `guard` may change a group attributed as `attribution`. */
export function guardAllows(attribution: Attribution, guard: NamespaceGuard | undefined): boolean {
  return guard === undefined || attribution.namespace === guard.namespace;
}

/**
 * The refusal. It does not name the group's namespace: with reads restricted, a caller must not
 * learn other namespaces' names by probing grouping keys.
 */
export function otherNamespaceError(key: GroupingKey): ForbiddenError {
  const labels = key.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
  return new ForbiddenError(
    ErrorCode.otherNamespace,
    `forbidden: the group {${labels}} belongs to another namespace; a caller may push to and delete only groups of its own namespace`,
  );
}

/** Series of a group as --limits.series-per-push counts them: one per metric, meta families not stored here. */
export function seriesOfFamilies(families: Iterable<StoredFamily>): number {
  let series = 0;
  for (const stored of families) series += seriesCount(stored.family);
  return series;
}

interface Tracked {
  readonly namespace: string;
  readonly series: number;
}

/** Usage per namespace, kept up to date as groups are written and removed. */
export class NamespaceUsageIndex {
  private readonly byGroup = new Map<string, Tracked>();
  private readonly byNamespace = new Map<string, { groups: number; series: number }>();

  /** Records what a group holds now (replacing what it held); a group with no namespace counts nowhere. */
  track(groupId: string, namespace: string | undefined, data: ReadonlyMap<string, StoredFamily>): void {
    this.remove(groupId);
    if (namespace === undefined) return;
    const series = seriesOfFamilies(data.values());
    this.byGroup.set(groupId, { namespace, series });
    const usage = this.byNamespace.get(namespace) ?? { groups: 0, series: 0 };
    usage.groups += 1;
    usage.series += series;
    this.byNamespace.set(namespace, usage);
  }

  remove(groupId: string): void {
    const tracked = this.byGroup.get(groupId);
    if (tracked === undefined) return;
    this.byGroup.delete(groupId);
    const usage = this.byNamespace.get(tracked.namespace);
    if (usage === undefined) return;
    usage.groups -= 1;
    usage.series -= tracked.series;
    if (usage.groups <= 0) this.byNamespace.delete(tracked.namespace);
  }

  usage(namespace: string): NamespaceUsage {
    const usage = this.byNamespace.get(namespace);
    return usage === undefined ? { groups: 0, series: 0 } : { groups: usage.groups, series: usage.series };
  }
}
