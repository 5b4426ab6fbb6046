import { compareMetrics, encodeFamilyDelimited, renderHeader, renderMetric } from '../exposition/index.js';
import type { Metric, MetricFamily, MetricType } from '../model/index.js';
import { escapeFamily, escapeName } from './sanitize.js';

/**
 * Rendered text of every stored series, kept per family name and per group, so that a scrape
 * concatenates cached pieces instead of re-encoding every sample. A push re-renders only its
 * own families; the merged, sorted text of a name is rebuilt only after that name changed.
 */

interface CachedMetric {
  readonly metric: Metric;
  readonly text: string;
}

interface NameCache {
  type: MetricType;
  readonly byGroup: Map<string, { readonly help: string | undefined; readonly metrics: readonly CachedMetric[] }>;
  /** Sorted samples of every group, or undefined when a group changed since the last scrape. */
  merged: string | undefined;
  sortedMetrics: readonly CachedMetric[] | undefined;
}

const byMetric = (a: CachedMetric, b: CachedMetric): number => compareMetrics(a.metric, b.metric);

export class RenderCache {
  private readonly names = new Map<string, NameCache>();
  private sortedNames: string[] | undefined;

  set(groupId: string, stored: MetricFamily): void {
    const family = escapeFamily(stored);
    let cache = this.names.get(family.name);
    if (cache === undefined) {
      cache = { type: family.type, byGroup: new Map(), merged: undefined, sortedMetrics: undefined };
      this.names.set(family.name, cache);
      this.sortedNames = undefined;
    }
    cache.type = family.type;
    cache.byGroup.set(groupId, {
      help: family.help,
      metrics: family.metrics.map((metric) => ({ metric, text: renderMetric(family.name, family.type, metric) })),
    });
    cache.merged = undefined;
    cache.sortedMetrics = undefined;
  }

  delete(groupId: string, storedName: string): void {
    const name = escapeName(storedName);
    const cache = this.names.get(name);
    if (cache === undefined || !cache.byGroup.delete(groupId)) return;
    cache.merged = undefined;
    cache.sortedMetrics = undefined;
    if (cache.byGroup.size === 0) {
      this.names.delete(name);
      this.sortedNames = undefined;
    }
  }

  private sorted(cache: NameCache): readonly CachedMetric[] {
    if (cache.sortedMetrics === undefined) {
      const all: CachedMetric[] = [];
      for (const part of cache.byGroup.values()) all.push(...part.metrics);
      cache.sortedMetrics = all.sort(byMetric);
    }
    return cache.sortedMetrics;
  }

  private helpOf(cache: NameCache): string | undefined {
    for (const part of cache.byGroup.values()) if (part.help !== undefined) return part.help;
    return undefined;
  }

  private names_(): string[] {
    if (this.sortedNames === undefined) this.sortedNames = [...this.names.keys()].sort(compareNames);
    return this.sortedNames;
  }

  /**
   * The text exposition of everything stored, merged with `own` (Lethe's own metrics, which
   * come first within a shared name and lend it their help), families sorted by name.
   */
  renderText(own: readonly MetricFamily[]): string {
    const ownByName = new Map(own.map((f) => [f.name, f]));
    const names = mergeNames(this.names_(), [...ownByName.keys()].sort(compareNames));
    const out: string[] = [];
    for (const name of names) {
      const cache = this.names.get(name);
      const ownFamily = ownByName.get(name);
      if (cache === undefined) {
        if (ownFamily !== undefined && ownFamily.metrics.length > 0) {
          out.push(renderHeader(name, ownFamily.help, ownFamily.type));
          for (const m of ownFamily.metrics) out.push(renderMetric(name, ownFamily.type, m));
        }
        continue;
      }
      if (ownFamily === undefined) {
        if (cache.merged === undefined) {
          const metrics = this.sorted(cache);
          cache.merged = metrics.length === 0 ? '' : renderHeader(name, this.helpOf(cache), cache.type) + metrics.map((m) => m.text).join('');
        }
        out.push(cache.merged);
        continue;
      }
      const merged = [
        ...ownFamily.metrics.map((metric) => ({ metric, text: renderMetric(name, ownFamily.type, metric) })),
        ...this.sorted(cache),
      ].sort(byMetric);
      if (merged.length > 0) out.push(renderHeader(name, ownFamily.help, ownFamily.type), ...merged.map((m) => m.text));
    }
    return out.join('');
  }

  /** The delimited-protobuf exposition (for scrapers that ask for it, e.g. for native histograms). */
  renderProtobuf(own: readonly MetricFamily[]): Uint8Array[] {
    const ownByName = new Map(own.map((f) => [f.name, f]));
    const names = mergeNames(this.names_(), [...ownByName.keys()].sort(compareNames));
    const out: Uint8Array[] = [];
    for (const name of names) {
      const cache = this.names.get(name);
      const ownFamily = ownByName.get(name);
      const metrics = [...(ownFamily?.metrics ?? []).map((metric) => ({ metric, text: '' })), ...(cache === undefined ? [] : this.sorted(cache))];
      if (ownFamily !== undefined && cache !== undefined) metrics.sort(byMetric);
      if (metrics.length === 0) continue;
      const type = ownFamily?.type ?? cache?.type ?? 'untyped';
      const help = ownFamily?.help ?? (cache === undefined ? undefined : this.helpOf(cache));
      out.push(encodeFamilyDelimited({ name, type, ...(help === undefined ? {} : { help }), metrics: metrics.map((m) => m.metric) }));
    }
    return out;
  }
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Merges two sorted, duplicate-free name lists into one. */
function mergeNames(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x ?? '');
      i++;
    } else if (x === undefined || y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return out;
}
