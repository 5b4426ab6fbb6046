import type { MetricFamily, MetricType } from '../model/index.js';
import { containsInvalidUtf8 } from '../exposition/index.js';
import { seriesId } from './sanitize.js';

/**
 * The push-time consistency check, made incremental: per-name and per-series indexes over
 * everything stored, so a push checks only the families it touches (upstream gathers the whole
 * store on every push). The rules are client_golang's gather checks: one type per name, no
 * duplicate series, valid label names, no suffix collisions.
 */

interface NameEntry {
  readonly type: MetricType;
  /** groupId → number of families of this name in that group (always 1). */
  readonly groups: Set<string>;
}

export type OwnTypeLookup = (name: string) => MetricType | undefined;

const SUFFIXES = ['_count', '_sum', '_bucket'] as const;

export class ConsistencyIndex {
  private readonly names = new Map<string, NameEntry>();
  private readonly series = new Map<string, string>();

  constructor(private readonly ownType: OwnTypeLookup) {}

  /**
   * Checks a group's new families against everything else stored. `changed` are the families
   * (by name) whose content differs from what is stored for this group. Returns the first
   * problem, or undefined when the push is consistent.
   */
  check(groupId: string, next: ReadonlyMap<string, MetricFamily>, changed: Iterable<string>): string | undefined {
    const seen = new Set<string>();
    for (const name of changed) {
      const family = next.get(name);
      if (family === undefined) continue;
      const problem =
        this.checkType(groupId, family) ??
        this.checkSuffixes(groupId, family, next) ??
        this.checkMetrics(groupId, family, seen);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  private typeElsewhere(groupId: string, name: string): MetricType | undefined {
    const own = this.ownType(name);
    if (own !== undefined) return own;
    const entry = this.names.get(name);
    if (entry === undefined) return undefined;
    if (entry.groups.size === 1 && entry.groups.has(groupId)) return undefined;
    return entry.type;
  }

  private checkType(groupId: string, family: MetricFamily): string | undefined {
    const other = this.typeElsewhere(groupId, family.name);
    if (other !== undefined && other !== family.type) {
      return `metric family ${JSON.stringify(family.name)} has type ${family.type.toUpperCase()}, but other stored metrics of that name have type ${other.toUpperCase()}`;
    }
    return undefined;
  }

  private present(groupId: string, name: string, next: ReadonlyMap<string, MetricFamily>): MetricType | undefined {
    return next.get(name)?.type ?? this.typeElsewhere(groupId, name);
  }

  private checkSuffixes(groupId: string, family: MetricFamily, next: ReadonlyMap<string, MetricFamily>): string | undefined {
    const { name, type } = family;
    for (const suffix of SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const base = name.slice(0, -suffix.length);
      const baseType = this.present(groupId, base, next);
      if (baseType === 'histogram' || (baseType === 'summary' && suffix !== '_bucket')) {
        return `metric family ${JSON.stringify(name)} collides with the ${baseType} ${JSON.stringify(base)}`;
      }
    }
    if (type === 'summary' || type === 'histogram') {
      for (const suffix of type === 'histogram' ? SUFFIXES : SUFFIXES.slice(0, 2)) {
        if (this.present(groupId, name + suffix, next) !== undefined) {
          return `${type} ${JSON.stringify(name)} collides with the metric family ${JSON.stringify(name + suffix)}`;
        }
      }
    }
    return undefined;
  }

  private checkMetrics(groupId: string, family: MetricFamily, seen: Set<string>): string | undefined {
    for (const metric of family.metrics) {
      for (const label of metric.labels) {
        // The newest upstream validates label names as UTF-8 (protobuf pushes may use any).
        if (label.name === '' || label.name.startsWith('__')) {
          return `metric ${JSON.stringify(family.name)} has a label with an invalid name: ${JSON.stringify(label.name)}`;
        }
        if (containsInvalidUtf8(label.value)) {
          return `metric ${JSON.stringify(family.name)} has a label ${JSON.stringify(label.name)} whose value is not valid UTF-8`;
        }
        if (label.name === 'quantile' && family.type === 'summary') {
          return `summary ${JSON.stringify(family.name)} has a label named "quantile", which is reserved`;
        }
      }
      const problem = checkValueField(family, metric);
      if (problem !== undefined) return problem;
      const id = seriesId(family.name, metric.labels);
      const owner = this.series.get(id);
      if (seen.has(id) || (owner !== undefined && owner !== groupId)) {
        const labels = metric.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ');
        return `duplicate series: ${family.name}{${labels}} is already stored${seen.has(id) ? ' in this push' : ' in another group'}`;
      }
      seen.add(id);
    }
    return undefined;
  }

  /** Records that a group's family `name` changed from `before` to `after` (either may be absent). */
  replace(groupId: string, before: MetricFamily | undefined, after: MetricFamily | undefined): void {
    if (before !== undefined) {
      for (const metric of before.metrics) {
        const id = seriesId(before.name, metric.labels);
        if (this.series.get(id) === groupId) this.series.delete(id);
      }
      const entry = this.names.get(before.name);
      if (entry !== undefined) {
        entry.groups.delete(groupId);
        if (entry.groups.size === 0) this.names.delete(before.name);
      }
    }
    if (after !== undefined) {
      for (const metric of after.metrics) this.series.set(seriesId(after.name, metric.labels), groupId);
      const entry = this.names.get(after.name);
      if (entry === undefined || entry.groups.size === 0) {
        this.names.set(after.name, { type: after.type, groups: new Set([groupId]) });
      } else {
        entry.groups.add(groupId);
      }
    }
  }

  /** Type of a stored family name (for the scrape header). */
  typeOf(name: string): MetricType | undefined {
    return this.names.get(name)?.type;
  }

  get seriesCount(): number {
    return this.series.size;
  }
}

function checkValueField(family: MetricFamily, metric: MetricFamily['metrics'][number]): string | undefined {
  const ok = (() => {
    switch (family.type) {
      case 'counter':
      case 'gauge':
      case 'untyped':
        return metric.value !== undefined;
      case 'summary':
        return metric.summary !== undefined;
      case 'histogram':
      case 'gaugehistogram':
        return metric.histogram !== undefined;
    }
  })();
  return ok ? undefined : `metric ${JSON.stringify(family.name)} has no value of its family's type ${family.type.toUpperCase()}`;
}
