import { compareMetrics, encodeFamilyDelimited, renderHeader, renderMetric } from '../exposition/index.js';
import type { Metric, MetricFamily, MetricType } from '../model/index.js';
import { escapeFamily, escapeName } from './sanitize.js';

/**
 * Rendered text of every stored series, kept per family name and per group, so that a scrape
 * concatenates cached pieces instead of re-encoding every sample. A push re-renders only its
 * own families; the merged, sorted text of a name is rebuilt only after that name changed.
 *
 * The text of a series is kept once: a group's share of a family is rendered (as one flat
 * string) when a scrape first needs it, and once the merged text of its name holds it, the
 * group keeps only where its metrics are in there. Rebuilding a name's merged text takes the
 * unchanged groups' text from the previous merged text.
 */

interface GroupPart {
  readonly help: string | undefined;
  readonly type: MetricType;
  readonly metrics: readonly Metric[];
  /** The part's own rendering (one flat string, end offset of each metric), until merged. */
  text: string | undefined;
  ends: readonly number[] | undefined;
  /** Start and end of each metric's text in its name's current merged text, once in there. */
  spans: readonly number[] | undefined;
}

interface NameCache {
  type: MetricType;
  readonly byGroup: Map<string, GroupPart>;
  /** Header and sorted samples of every group; the parts' spans point into it. */
  merged: string | undefined;
  /** False when a group changed since `merged` was built. */
  fresh: boolean;
  /** Metrics of every group in scrape order (kept for protobuf scrapes only). */
  sortedMetrics: readonly Metric[] | undefined;
}

/** One metric of a part, for sorting across groups. */
interface Entry {
  readonly metric: Metric;
  readonly part: GroupPart | undefined;
  readonly index: number;
}

const byMetric = (a: Entry, b: Entry): number => compareMetrics(a.metric, b.metric);

/**
 * The same text as one flat string. Concatenation (renderMetric's, and join() of such pieces)
 * can leave a tree of string pieces, several times the size of the text; slicing makes the
 * engine copy it into one piece first.
 */
function flat(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}

/** The text of a part's metric: from the merged text, or from the part's own rendering. */
function entryText(name: string, cache: NameCache, entry: Entry): string {
  const { part, index } = entry;
  if (part === undefined) return '';
  const { spans } = part;
  if (part.text === undefined && spans !== undefined && cache.merged !== undefined) {
    return cache.merged.slice(spans[2 * index], spans[2 * index + 1]);
  }
  if (part.text === undefined || part.ends === undefined) {
    const texts = part.metrics.map((metric) => renderMetric(name, part.type, metric));
    const ends: number[] = new Array<number>(texts.length);
    let end = 0;
    for (let i = 0; i < texts.length; i++) {
      end += texts[i]?.length ?? 0;
      ends[i] = end;
    }
    part.text = flat(texts.join(''));
    part.ends = ends;
  }
  return part.text.slice(index === 0 ? 0 : (part.ends[index - 1] ?? 0), part.ends[index]);
}

export class RenderCache {
  private readonly names = new Map<string, NameCache>();
  private sortedNames: string[] | undefined;

  set(groupId: string, stored: MetricFamily): void {
    const family = escapeFamily(stored);
    let cache = this.names.get(family.name);
    if (cache === undefined) {
      cache = { type: family.type, byGroup: new Map(), merged: undefined, fresh: false, sortedMetrics: undefined };
      this.names.set(family.name, cache);
      this.sortedNames = undefined;
    }
    cache.type = family.type;
    cache.byGroup.set(groupId, { help: family.help, type: family.type, metrics: family.metrics, text: undefined, ends: undefined, spans: undefined });
    cache.fresh = false;
    cache.sortedMetrics = undefined;
  }

  delete(groupId: string, storedName: string): void {
    const name = escapeName(storedName);
    const cache = this.names.get(name);
    if (cache === undefined || !cache.byGroup.delete(groupId)) return;
    cache.fresh = false;
    cache.sortedMetrics = undefined;
    if (cache.byGroup.size === 0) {
      this.names.delete(name);
      this.sortedNames = undefined;
    }
  }

  /** The merged text of a name, rebuilt when a group changed; every part then points into it. */
  private merged(name: string, cache: NameCache): string {
    if (cache.fresh && cache.merged !== undefined) return cache.merged;
    const entries = this.sorted(cache);
    if (entries.length === 0) {
      cache.merged = '';
    } else {
      const header = renderHeader(name, this.helpOf(cache), cache.type);
      const pieces = entries.map((e) => entryText(name, cache, e));
      const spans = new Map<GroupPart, number[]>();
      let at = header.length;
      for (let k = 0; k < entries.length; k++) {
        const { part, index } = entries[k] as Entry;
        const length = pieces[k]?.length ?? 0;
        if (part !== undefined) {
          let list = spans.get(part);
          if (list === undefined) {
            list = new Array<number>(2 * part.metrics.length);
            spans.set(part, list);
          }
          list[2 * index] = at;
          list[2 * index + 1] = at + length;
        }
        at += length;
      }
      cache.merged = [header, ...pieces].join('');
      for (const [part, list] of spans) {
        part.spans = list;
        part.text = undefined;
        part.ends = undefined;
      }
    }
    cache.fresh = true;
    return cache.merged;
  }

  /** Every metric of every group of a name, in scrape order (a stable sort of group order). */
  private sorted(cache: NameCache): Entry[] {
    const all: Entry[] = [];
    for (const part of cache.byGroup.values()) {
      for (let index = 0; index < part.metrics.length; index++) {
        const metric = part.metrics[index];
        if (metric !== undefined) all.push({ metric, part, index });
      }
    }
    return all.sort(byMetric);
  }

  private sortedMetrics(cache: NameCache): readonly Metric[] {
    cache.sortedMetrics ??= this.sorted(cache).map((e) => e.metric);
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
        out.push(this.merged(name, cache));
        continue;
      }
      const ownTexts = new Map<Metric, string>();
      const merged: Entry[] = ownFamily.metrics.map((metric) => {
        ownTexts.set(metric, renderMetric(name, ownFamily.type, metric));
        return { metric, part: undefined, index: 0 };
      });
      for (const entry of this.sorted(cache)) merged.push(entry);
      merged.sort(byMetric);
      if (merged.length > 0) {
        out.push(renderHeader(name, ownFamily.help, ownFamily.type));
        for (const entry of merged) out.push(entry.part === undefined ? (ownTexts.get(entry.metric) ?? '') : entryText(name, cache, entry));
      }
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
      let metrics: readonly Metric[];
      if (cache === undefined) metrics = ownFamily?.metrics ?? [];
      else if (ownFamily === undefined) metrics = this.sortedMetrics(cache);
      else metrics = [...ownFamily.metrics.map((metric): Entry => ({ metric, part: undefined, index: 0 })), ...this.sorted(cache)].sort(byMetric).map((e) => e.metric);
      if (metrics.length === 0) continue;
      const type = ownFamily?.type ?? cache?.type ?? 'untyped';
      const help = ownFamily?.help ?? (cache === undefined ? undefined : this.helpOf(cache));
      out.push(encodeFamilyDelimited({ name, type, ...(help === undefined ? {} : { help }), metrics }));
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
