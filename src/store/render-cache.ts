import {
  DEFAULT_ESCAPING,
  OPENMETRICS_EOF,
  compareMetrics,
  compareTimestamps,
  compareUtf8,
  encodeFamilyDelimited,
  escapeFamily,
  escapeName,
  familyNeedsEscaping,
  isCompliantCounter,
  openMetricsFamilyName,
  renderHeader,
  renderMetric,
  renderOpenMetricsHeader,
  renderOpenMetricsMetric,
  sameLabels,
  type EscapingScheme,
} from '../exposition/index.js';
import { PlainFamily, seriesCount, type Label, type Metric, type MetricFamily, type MetricType } from '../model/index.js';
import type { TextPiece } from './group-store.js';
import { SegmentWriter, type SegmentedText, type Replacement } from './segmented-text.js';

/**
 * Rendered text of every stored series, kept per family name and per group, so that a scrape
 * hands out cached pieces instead of re-encoding every sample. A push re-renders only its
 * own families; the merged, sorted text of a name is rebuilt only after that name changed.
 *
 * The text of a series is kept once per format: a group's metrics are rendered when a scrape
 * first needs them, straight into the merged text of their name, and the group keeps only where
 * its metrics are in there. A push of the same series with new values patches the merged text
 * (its lines replaced, the other groups' offsets moved); other changes rebuild it, taking the
 * unchanged groups' text from the previous one in their order there. A name's merged text is kept
 * as UTF-8 bytes in segments (segmented-text.ts; encoded once, outside the JavaScript heap): a
 * scrape hands these out as pieces (renderPieces) that the gateway writes to the socket as they
 * are, without joining them into one string or encoding the whole scrape again.
 *
 * Two formats are cached, each only once a scrape has asked for it: the text format (0.0.4 and
 * 1.0.0 are the same text) and OpenMetrics (what Prometheus 3 asks for first). A format that no
 * scrape asked for in UNUSED_FORMAT_MS is dropped, so a Prometheus that scrapes OpenMetrics and
 * an occasional curl of the text format do not keep two copies for good. The cached text holds
 * names as stored, which is what every escaping scheme writes for legacy names; a family with a
 * name that is not one (UTF-8 names) is rendered for the scrape's scheme when asked, uncached.
 * Delimited protobuf is encoded per scrape from the sorted metrics (native histograms).
 *
 * Each segment is one piece, and a compressed scrape's compression of it is kept with it, so an
 * unchanged segment is compressed once. Compressed pieces of a format are dropped when it is
 * scraped uncompressed after UNUSED_FORMAT_MS without compressed scrapes.
 *
 * (About 800 lines: one cache whose layers — a group's part, a name's merged text, each format,
 * the compressed pieces — are kept consistent by the same steps; split, each file would have to
 * expose the others' bookkeeping.)
 */

export interface RenderOptions {
  /** OpenMetrics text instead of the text format (with `# EOF`). */
  readonly openMetrics?: boolean;
  /** Name escaping (default: underscores). */
  readonly escaping?: EscapingScheme;
  /** The scrape's time, for dropping formats no scrape uses (Unix ms). */
  readonly now?: number;
  /** The scrape's answer is compressed (compressed pieces are kept only while such scrapes come). */
  readonly compressed?: boolean;
}

/** A format's cached text is dropped once no scrape has asked for it this long. */
export const UNUSED_FORMAT_MS = 10 * 60_000;

const TEXT = 0;
const OPENMETRICS = 1;
type FormatIndex = typeof TEXT | typeof OPENMETRICS;

/** How one format writes a family's header and metrics (`compliant`: see isCompliantCounter). */
interface Writer {
  header(name: string, help: string | undefined, type: MetricType, compliant: boolean): string;
  metric(name: string, type: MetricType, metric: Metric, compliant: boolean): string;
}

const WRITERS: readonly [Writer, Writer] = [
  { header: (name, help, type) => renderHeader(name, help, type), metric: (name, type, metric) => renderMetric(name, type, metric) },
  { header: renderOpenMetricsHeader, metric: renderOpenMetricsMetric },
];

interface GroupPart {
  readonly help: string | undefined;
  readonly type: MetricType;
  /** The stored family: its `metrics` are built on each read when it is a PlainFamily (read once per use). */
  readonly family: MetricFamily;
  /** Some name of the part (family or label) is not a legacy name. */
  readonly escapes: boolean;
  /** The group's place among the name's groups (a replaced group keeps it, as the map keeps its place). */
  readonly ordinal: number;
  /**
   * Where this part's spans start in its name's span table of each format (`MergedText.spans`),
   * once its metrics are in the merged text; NO_SPANS before (two fields, not a pair: one object
   * less per part, and there is a part per group and family).
   */
  textSpans: number;
  openMetricsSpans: number;
  /**
   * Bit f set: the spans of format f are those of the part this one replaced, whose series had the
   * same labels in the same order; the text there is the old values', so this part's is rendered.
   */
  stale: number;
}

/**
 * A part's spans are start and end (in bytes) of metric i's text in the merged text at 2i and
 * 2i + 1 from its place in the name's span table: one Uint32Array per name and format, outside
 * V8's heap, instead of an array per part (about 100 bytes of heap per part and format for groups
 * of ten series in two families, 40 MB per format at 1,000,000 series; for a store of a few large
 * groups, a quarter of the heap after a scrape).
 */
const NO_SPANS = -1;
const EMPTY_SPANS = new Uint32Array(0);
/** Offsets into a name's text are kept as 32-bit numbers: a name's text must stay below 4 GiB. */
const MAX_TEXT_BYTES = 0xffffffff;

const partSpans = (part: GroupPart, f: FormatIndex): number => (f === TEXT ? part.textSpans : part.openMetricsSpans);

/** The spans of a part whose text in format f is in the merged text as it is (NO_SPANS: none). */
const keptSpans = (part: GroupPart, f: FormatIndex): number => ((part.stale & (1 << f)) === 0 ? partSpans(part, f) : NO_SPANS);

function setPartSpans(part: GroupPart, f: FormatIndex, spans: number, stale = false): void {
  if (f === TEXT) part.textSpans = spans;
  else part.openMetricsSpans = spans;
  part.stale = stale ? part.stale | (1 << f) : part.stale & ~(1 << f);
}

/** Whether two families hold series with the same labels (and timestamps) in the same order, so that they sort alike. */
function sameSeries(a: MetricFamily, b: MetricFamily): boolean {
  if (a.type !== b.type) return false;
  if (a instanceof PlainFamily && b instanceof PlainFamily) return a.sameSeries(b);
  const x = a.metrics;
  const y = b.metrics;
  return x.length === y.length && x.every((m, i) => sameLabels(m.labels, y[i]?.labels ?? []) && m.timestampMs === y[i]?.timestampMs);
}

interface MergedText {
  /** Header and sorted samples of every group, UTF-8; the parts' spans (byte offsets) point into it. */
  text: SegmentedText | undefined;
  /** The parts' spans (see NO_SPANS), each part's at its place. */
  spans: Uint32Array;
  /** Bytes of the header at the start of `text`. */
  headerBytes: number;
  /** False when a group changed since `text` was built. */
  fresh: boolean;
  /**
   * A group was added or removed, or replaced by series with other labels, since `text` was
   * built: the order may have changed. Else only values did, and `text` is patched.
   */
  reordered: boolean;
  /** For OpenMetrics: whether the name was written as a compliant counter. */
  compliant: boolean;
}

interface NameCache {
  type: MetricType;
  readonly byGroup: Map<string, GroupPart>;
  readonly merged: [MergedText | undefined, MergedText | undefined];
  /** Metrics of every group in scrape order (kept for protobuf scrapes only). */
  sortedMetrics: readonly Metric[] | undefined;
  /** Parts whose names need escaping (the name itself counts for every part). */
  escapingParts: number;
  /** The ordinal the next new group gets. */
  nextOrdinal: number;
}

/** One metric of a part, for sorting across groups. */
interface Entry {
  readonly metric: Metric;
  readonly part: GroupPart | undefined;
  readonly index: number;
}

const byMetric = (a: Entry, b: Entry): number => compareMetrics(a.metric, b.metric);

/** Scrape order: by metric, then by group (the order a stable sort of the groups gives), then within the group. */
function inOrder(a: Entry, b: Entry): number {
  return compareMetrics(a.metric, b.metric) || (a.part?.ordinal ?? -1) - (b.part?.ordinal ?? -1) || a.index - b.index;
}

/** A replacement in a merged text, and where its metric's span is in the span table (NO_SPANS: the header). */
interface Change extends Replacement {
  readonly slot: number;
}

/**
 * A name's metrics in scrape order, without an object or a heap slot per metric: metric k is
 * metric `indexes[k]` of part `parts[partOf[k]]` (typed arrays, kept outside V8's heap, so that a
 * scrape's sort of a million series does not take the heap room the stored series need). Metrics
 * are built when written, not kept from the sort: the ones built to sort them are garbage by then.
 */
interface Order {
  readonly parts: readonly GroupPart[];
  readonly partOf: Int32Array;
  readonly indexes: Int32Array;
}

/**
 * Every metric of a name's groups in scrape order (a stable sort in group order), without an
 * object per series: a name shared by 100,000 groups has a million series, and objects for them,
 * all alive until the sort ends, cost the first scrape more in garbage collection than the sort.
 * Each label value is replaced by its rank among the name's distinct values (in byte order), so
 * the sort compares integers in one array instead of following each series to its strings. The
 * metrics are left out (write() builds each when it renders it).
 */
function fullOrder(cache: NameCache): Order {
  let n = 0;
  let labelCount = 0;
  for (const part of cache.byGroup.values()) {
    n += seriesCount(part.family);
    labelCount += part.family instanceof PlainFamily ? part.family.labelCount : part.family.metrics.reduce((sum, m) => sum + m.labels.length, 0);
  }
  const parts: GroupPart[] = [];
  const partOf = new Int32Array(n);
  const indexes = new Int32Array(n);
  // Series k's label values are values[starts[k]] up to values[starts[k + 1]]: ids, then ranks.
  const starts = new Int32Array(n + 1);
  const values = new Int32Array(labelCount);
  const ids = new Map<string, number>();
  let timestamps: (number | undefined)[] | undefined;
  let k = 0;
  let at = 0;
  let part: GroupPart | undefined;
  let partId = -1;
  let index = 0;
  // One visitor for every family, not a closure per family (whose calls V8 kept deoptimising).
  const add = (_: number, labels: readonly Label[], from: number, to: number): void => {
    partOf[k] = partId;
    indexes[k] = index++;
    starts[k++] = at;
    for (let x = from; x < to; x++) {
      const value = (labels[x] as Label).value;
      let id = ids.get(value);
      if (id === undefined) ids.set(value, (id = ids.size));
      values[at++] = id;
    }
  };
  for (part of cache.byGroup.values()) {
    const family = part.family;
    partId = parts.push(part) - 1;
    index = 0;
    if (family instanceof PlainFamily) {
      family.forEachSeries(add);
      continue;
    }
    for (const metric of family.metrics) {
      if (metric.timestampMs !== undefined) (timestamps ??= new Array<number | undefined>(n))[k] = metric.timestampMs;
      add(0, metric.labels, 0, metric.labels.length);
    }
  }
  starts[n] = at;
  const distinct = [...ids.keys()];
  const rank = new Int32Array(distinct.length);
  distinct
    .map((_, id) => id)
    .sort((a, b) => compareUtf8(distinct[a] as string, distinct[b] as string))
    .forEach((id, r) => (rank[id] = r));
  for (let x = 0; x < at; x++) values[x] = rank[values[x] as number] as number;
  // compareMetrics on the ranks.
  const compare = (i: number, j: number): number => {
    let x = starts[i] as number;
    let y = starts[j] as number;
    const width = (starts[i + 1] as number) - x;
    const other = (starts[j + 1] as number) - y;
    if (width !== other) return width < other ? -1 : 1;
    for (const end = x + width; x < end; x++, y++) {
      if (values[x] !== values[y]) return (values[x] as number) - (values[y] as number);
    }
    return timestamps === undefined ? 0 : compareTimestamps(timestamps[i], timestamps[j]);
  };
  const sorted = Array.from({ length: n }, (_, i) => i).sort(compare);
  const order: Order = { parts, partOf: new Int32Array(n), indexes: new Int32Array(n) };
  sorted.forEach((i, to) => {
    order.partOf[to] = partOf[i] as number;
    order.indexes[to] = indexes[i] as number;
  });
  return order;
}

/** Metric `index` of a family (built when it is a PlainFamily). */
const metricOf = (family: MetricFamily, index: number): Metric => (family instanceof PlainFamily ? family.metricAt(index) : (family.metrics[index] as Metric));

/** A name is sorted whole again when more than one metric in this many changed. */
const CHANGED_SHARE = 8;
/** Sort keys of kept metrics: start offset × KEY_IDS + id, exact in a double while offsets stay below KEY_OFFSETS. */
const KEY_IDS = 2 ** 21;
const KEY_OFFSETS = 2 ** 31;
/** The id in a key (no `%`: on doubles that large it is a slow call). */
const keyId = (key: number): number => key - Math.floor(key / KEY_IDS) * KEY_IDS;

export class RenderCache {
  private readonly names = new Map<string, NameCache>();
  private sortedNames: string[] | undefined;
  /** Names with at least one part that needs escaping. */
  private escapingNames = 0;
  /** When a scrape last asked for each cached format (Unix ms); undefined: never, or dropped. */
  private readonly lastUsed: [number | undefined, number | undefined] = [undefined, undefined];
  /** The same for scrapes of each format that asked for pieces (compressed scrapes). */
  private readonly lastPieces: [number | undefined, number | undefined] = [undefined, undefined];

  /** Bytes per segment of a merged text (SegmentedText's default; smaller in tests). */
  private readonly segmentBytes: number | undefined;

  constructor(options: { readonly segmentBytes?: number } = {}) {
    this.segmentBytes = options.segmentBytes;
  }

  /** The formats whose text is cached now (`text`, `openmetrics`), for tests and debugging. */
  get cachedFormats(): string[] {
    return (['text', 'openmetrics'] as const).filter((_, f) => this.lastUsed[f as FormatIndex] !== undefined);
  }

  set(groupId: string, family: MetricFamily): void {
    let cache = this.names.get(family.name);
    if (cache === undefined) {
      cache = { type: family.type, byGroup: new Map(), merged: [undefined, undefined], sortedMetrics: undefined, escapingParts: 0, nextOrdinal: 0 };
      this.names.set(family.name, cache);
      this.sortedNames = undefined;
    }
    const replaced = cache.byGroup.get(groupId);
    const part: GroupPart = {
      help: family.help,
      type: family.type,
      family,
      escapes: familyNeedsEscaping(family),
      ordinal: replaced?.ordinal ?? cache.nextOrdinal++,
      textSpans: NO_SPANS,
      openMetricsSpans: NO_SPANS,
      stale: 0,
    };
    let same: boolean | undefined;
    for (const f of [TEXT, OPENMETRICS] as const) {
      const merged = cache.merged[f];
      if (merged === undefined) continue;
      const spans = replaced === undefined ? NO_SPANS : partSpans(replaced, f);
      // Same series in the same place: the new values go where the old ones are.
      if (spans !== NO_SPANS && replaced !== undefined && (same ??= sameSeries(replaced.family, family))) setPartSpans(part, f, spans, true);
      else merged.reordered = true;
    }
    this.forget(cache, replaced);
    cache.type = family.type;
    cache.byGroup.set(groupId, part);
    if (part.escapes && cache.escapingParts++ === 0) this.escapingNames++;
    this.changed(cache);
  }

  delete(groupId: string, name: string): void {
    const cache = this.names.get(name);
    const part = cache?.byGroup.get(groupId);
    if (cache === undefined || part === undefined) return;
    this.forget(cache, part);
    cache.byGroup.delete(groupId);
    for (const merged of cache.merged) if (merged !== undefined) merged.reordered = true;
    this.changed(cache);
    if (cache.byGroup.size === 0) {
      this.names.delete(name);
      this.sortedNames = undefined;
    }
  }

  private forget(cache: NameCache, part: GroupPart | undefined): void {
    if (part?.escapes === true && --cache.escapingParts === 0) this.escapingNames--;
  }

  private changed(cache: NameCache): void {
    for (const merged of cache.merged) if (merged !== undefined) merged.fresh = false;
    cache.sortedMetrics = undefined;
  }

  /** Drops the cached text of the other formats no scrape asked for in UNUSED_FORMAT_MS. */
  private dropUnused(now: number, asked: FormatIndex): void {
    for (const f of [TEXT, OPENMETRICS] as const) {
      if (f === asked) continue;
      const used = this.lastUsed[f];
      if (used === undefined || now - used < UNUSED_FORMAT_MS) continue;
      this.lastUsed[f] = undefined;
      for (const cache of this.names.values()) {
        cache.merged[f] = undefined;
        for (const part of cache.byGroup.values()) setPartSpans(part, f, NO_SPANS);
      }
    }
  }

  /** The merged text of a name in format f, rebuilt when a group changed; every part then points into it. */
  private merged(f: FormatIndex, name: string, cache: NameCache, compliant: boolean): MergedText {
    let state = cache.merged[f];
    if (state?.fresh === true && state.text !== undefined && state.compliant === compliant) return state;
    if (state !== undefined && state.compliant !== compliant) {
      // The OpenMetrics family name changed: the parts' text has to be written again.
      for (const part of cache.byGroup.values()) setPartSpans(part, f, NO_SPANS);
      state.text = undefined;
    }
    state ??= { text: undefined, spans: EMPTY_SPANS, headerBytes: 0, fresh: false, reordered: true, compliant };
    cache.merged[f] = state;
    const previous = state.text;
    try {
      const patched = previous !== undefined && previous.length > 0 && !state.reordered ? this.patch(f, name, cache, compliant, state, previous) : undefined;
      if (patched !== undefined) {
        state.text = patched;
      } else {
        const order = (previous === undefined ? undefined : this.changedOrder(f, cache, state.spans)) ?? fullOrder(cache);
        state.text = this.write(f, name, cache, compliant, order, previous, state);
      }
      state.reordered = false;
    } catch (err) {
      // Spans may point into text that was not written: render every part again next time.
      for (const part of cache.byGroup.values()) setPartSpans(part, f, NO_SPANS);
      state.text = undefined;
      state.spans = EMPTY_SPANS;
      throw err;
    }
    state.fresh = true;
    state.compliant = compliant;
    return state;
  }

  /**
   * The merged text of a name's metrics in `order`, each part's spans set to where its metrics
   * are in it. A metric of a part with spans in `previous` is copied from there (runs of such
   * metrics that were together are copied at once); any other is rendered.
   */
  private write(f: FormatIndex, name: string, cache: NameCache, compliant: boolean, order: Order, previous: SegmentedText | undefined, state: MergedText): SegmentedText {
    const { parts, partOf, indexes } = order;
    const writer = new SegmentWriter(previous, this.segmentBytes);
    state.headerBytes = 0;
    if (partOf.length === 0) {
      for (const part of parts) setPartSpans(part, f, NO_SPANS);
      state.spans = EMPTY_SPANS;
      return writer.finish();
    }
    state.headerBytes = writer.text(WRITERS[f].header(name, this.helpOf(cache), cache.type, compliant));
    // A new span table, each part's spans at its place in the order of the name's parts; kept
    // metrics are read from the old one (the parts keep their old places until the end).
    const old = state.spans;
    const places = new Int32Array(parts.length);
    let size = 0;
    for (let p = 0; p < parts.length; p++) {
      places[p] = size;
      size += 2 * seriesCount((parts[p] as GroupPart).family);
    }
    const table = new Uint32Array(size);
    let at = state.headerBytes;
    // Runs of metrics whose spans were adjacent in `previous` are copied at once.
    let runStart = -1;
    let runEnd = -1;
    for (let k = 0; k < partOf.length; k++) {
      const p = partOf[k] as number;
      const part = parts[p] as GroupPart;
      const index = indexes[k] as number;
      const kept = previous === undefined ? NO_SPANS : keptSpans(part, f);
      let length: number;
      if (kept !== NO_SPANS) {
        const start = old[kept + 2 * index] as number;
        const end = old[kept + 2 * index + 1] as number;
        length = end - start;
        if (start !== runEnd) {
          if (runStart >= 0) writer.copy(runStart, runEnd);
          runStart = start;
        }
        runEnd = end;
      } else {
        if (runStart >= 0) writer.copy(runStart, runEnd);
        runStart = runEnd = -1;
        length = writer.text(WRITERS[f].metric(name, part.type, metricOf(part.family, index), compliant));
      }
      if (at + length > MAX_TEXT_BYTES) throw new Error(`the text of ${name} would be larger than 4 GiB`);
      const slot = (places[p] as number) + 2 * index;
      table[slot] = at;
      table[slot + 1] = at + length;
      at += length;
    }
    if (runStart >= 0) writer.copy(runStart, runEnd);
    const text = writer.finish();
    for (let p = 0; p < parts.length; p++) setPartSpans(parts[p] as GroupPart, f, places[p] as number);
    state.spans = table;
    return text;
  }

  /**
   * The merged text when only values changed since `previous` (no group added, removed or
   * replaced by other series): the order is the same, so the stale parts' new text replaces their
   * old text in place, the header is written again, and every other part's spans move by what
   * changed before them. No sort, nothing per unchanged metric but moving its two offsets.
   * Undefined (nothing changed yet) when an old text was empty, so its place among the others is
   * not known from its offsets.
   */
  private patch(f: FormatIndex, name: string, cache: NameCache, compliant: boolean, state: MergedText, previous: SegmentedText): SegmentedText | undefined {
    const header = WRITERS[f].header(name, this.helpOf(cache), cache.type, compliant);
    // What is replaced: the header, and each stale metric's old text.
    const changes: Change[] = [{ start: 0, end: state.headerBytes, text: header, length: Buffer.byteLength(header), slot: NO_SPANS }];
    const stale: GroupPart[] = [];
    const table = state.spans;
    for (const part of cache.byGroup.values()) {
      const spans = partSpans(part, f);
      if (spans === NO_SPANS || (part.stale & (1 << f)) === 0) continue;
      stale.push(part);
      part.family.metrics.forEach((metric, index) => {
        const text = WRITERS[f].metric(name, part.type, metric, compliant);
        const slot = spans + 2 * index;
        changes.push({ start: table[slot] as number, end: table[slot + 1] as number, text, length: Buffer.byteLength(text), slot });
      });
    }
    if (changes.some((change, i) => i > 0 && change.start === change.end)) return undefined;
    changes.sort((a, b) => a.start - b.start);
    // Offsets move by the growth of the changes before them: ends[i] is where change i ended, shifts[i] the growth up to it.
    const ends = new Float64Array(changes.length);
    const shifts = new Float64Array(changes.length);
    const starts = new Float64Array(changes.length);
    let shift = 0;
    changes.forEach((change, i) => {
      starts[i] = change.start + shift;
      shift += change.length - (change.end - change.start);
      ends[i] = change.end;
      shifts[i] = shift;
    });
    if (previous.length + shift > MAX_TEXT_BYTES) throw new Error(`the text of ${name} would be larger than 4 GiB`);
    const text = previous.replaced(changes);
    const moved = (offset: number): number => {
      // The last change that ended at or before offset (changes are few next to the metrics).
      let lo = 0;
      let hi = changes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((ends[mid] as number) <= offset) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? offset : offset + (shifts[lo - 1] as number);
    };
    if (shifts.some((s) => s !== 0)) {
      for (const part of cache.byGroup.values()) {
        const spans = keptSpans(part, f);
        if (spans === NO_SPANS) continue;
        for (let k = spans, end = spans + 2 * seriesCount(part.family); k < end; k++) table[k] = moved(table[k] as number);
      }
    }
    changes.forEach((change, i) => {
      if (change.slot === NO_SPANS) return;
      const start = starts[i] as number;
      table[change.slot] = start;
      table[change.slot + 1] = start + change.length;
    });
    for (const part of stale) setPartSpans(part, f, partSpans(part, f));
    state.headerBytes = Buffer.byteLength(header);
    return text;
  }

  /**
   * The scrape order of a name's metrics after a few of its groups changed, without sorting all
   * of them again: the unchanged parts' metrics keep the order they have in the previous merged
   * text (where their spans are), and the changed parts' metrics, sorted, are put in by binary
   * search. Undefined when a full sort is the cheaper way (many changed, or sizes beyond the keys).
   * `table` is the name's span table in format f, which the kept parts' spans are in.
   */
  private changedOrder(f: FormatIndex, cache: NameCache, table: Uint32Array): Order | undefined {
    const parts = [...cache.byGroup.values()];
    let keptCount = 0;
    let changedCount = 0;
    for (const part of parts) {
      if (keptSpans(part, f) !== NO_SPANS) keptCount += seriesCount(part.family);
      else changedCount += seriesCount(part.family);
    }
    // Counted first: the changed metrics are built only when this way is taken.
    if (changedCount * CHANGED_SHARE > keptCount || keptCount >= KEY_IDS) return undefined;
    const changed: (Entry & { readonly partId: number })[] = [];
    for (let partId = 0; partId < parts.length; partId++) {
      const part = parts[partId] as GroupPart;
      if (keptSpans(part, f) !== NO_SPANS) continue;
      const metrics = part.family.metrics;
      for (let index = 0; index < metrics.length; index++) changed.push({ metric: metrics[index] as Metric, part, partId, index });
    }
    // The kept metrics in their previous order: sort their start offsets, each key carrying an id.
    const keys = new Float64Array(keptCount);
    const keptPartOf = new Int32Array(keptCount);
    const keptIndexes = new Int32Array(keptCount);
    let id = 0;
    for (let partId = 0; partId < parts.length; partId++) {
      const part = parts[partId] as GroupPart;
      const spans = keptSpans(part, f);
      if (spans === NO_SPANS) continue;
      for (let index = 0, count = seriesCount(part.family); index < count; index++) {
        const start = table[spans + 2 * index] as number;
        if (start >= KEY_OFFSETS) return undefined;
        keys[id] = start * KEY_IDS + id;
        keptPartOf[id] = partId;
        keptIndexes[id++] = index;
      }
    }
    keys.sort();
    changed.sort(inOrder);
    const n = keptCount + changed.length;
    const order: Order = { parts, partOf: new Int32Array(n), indexes: new Int32Array(n) };
    // Metrics of kept parts, built one at a time for the comparisons (a few per changed metric):
    // building a compared part's every metric, and keeping them to the end, took as much heap as
    // the store itself when most parts were compared against.
    const keptEntry = (k: number): Entry => {
      const id = keyId(keys[k] as number);
      const part = parts[keptPartOf[id] as number] as GroupPart;
      const index = keptIndexes[id] as number;
      return { metric: metricOf(part.family, index), part, index };
    };
    let out = 0;
    let k = 0;
    const takeKept = (until: number): void => {
      for (; k < until; k++, out++) {
        const id = keyId(keys[k] as number);
        order.partOf[out] = keptPartOf[id] as number;
        order.indexes[out] = keptIndexes[id] as number;
      }
    };
    for (const entry of changed) {
      // The first kept metric that comes after this one.
      let lo = k;
      let hi = keptCount;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (inOrder(keptEntry(mid), entry) < 0) lo = mid + 1;
        else hi = mid;
      }
      takeKept(lo);
      order.partOf[out] = entry.partId;
      order.indexes[out++] = entry.index;
    }
    takeKept(keptCount);
    return order;
  }

  /** Every metric of every group of a name, in scrape order (a stable sort of group order). */
  private sorted(cache: NameCache): Entry[] {
    const all: Entry[] = [];
    for (const part of cache.byGroup.values()) {
      const metrics = part.family.metrics;
      for (let index = 0; index < metrics.length; index++) {
        const metric = metrics[index];
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
   * The text exposition (or OpenMetrics) of everything stored, merged with `own` (Lethe's own
   * metrics, which come first within a shared name and lend it their help), families sorted by
   * name: as UTF-8 pieces in order, each name's cached merged text one piece (see TextPiece).
   */
  renderPieces(own: readonly MetricFamily[], options: RenderOptions = {}): TextPiece[] {
    const f: FormatIndex = options.openMetrics === true ? OPENMETRICS : TEXT;
    const escaping = options.escaping ?? DEFAULT_ESCAPING;
    if (options.now !== undefined) {
      this.dropUnused(options.now, f);
      this.lastUsed[f] = options.now;
      this.dropUnusedDeflated(options.now, f, options.compressed === true);
    }
    const ownByName = new Map(own.map((fam) => [fam.name, fam]));
    const names = mergeNames(this.names_(), [...ownByName.keys()].sort(compareNames));
    const out =
      escaping === 'allow-utf-8' || (this.escapingNames === 0 && !own.some(familyNeedsEscaping))
        ? this.renderNames(f, names, ownByName)
        : this.renderEscaped(f, names, ownByName, escaping);
    if (f === OPENMETRICS) out.push(OPENMETRICS_EOF);
    return collectPieces(out);
  }

  /** The same as renderPieces, as one string (for tests and callers that need the text). */
  renderText(own: readonly MetricFamily[], options: RenderOptions = {}): string {
    return Buffer.concat(this.renderPieces(own, options).map((piece) => piece.bytes)).toString('utf8');
  }

  /**
   * Compressed pieces cost memory beside the text: those of format f are dropped when a scrape of
   * f without compression comes and no compressed scrape of f came in UNUSED_FORMAT_MS.
   */
  private dropUnusedDeflated(now: number, f: FormatIndex, compressed: boolean): void {
    if (compressed) {
      this.lastPieces[f] = now;
      return;
    }
    const used = this.lastPieces[f];
    if (used === undefined || now - used < UNUSED_FORMAT_MS) return;
    this.lastPieces[f] = undefined;
    for (const cache of this.names.values()) {
      for (const segment of cache.merged[f]?.text?.segments ?? []) segment.deflated = undefined;
    }
  }

  /** Names written as stored (every name legacy, or allow-utf-8): the cached path. */
  private renderNames(f: FormatIndex, names: readonly string[], ownByName: ReadonlyMap<string, MetricFamily>): Output {
    const writer = WRITERS[f];
    const taken = (name: string): boolean => this.names.has(name) || ownByName.has(name);
    const out: Output = [];
    for (const name of names) {
      const cache = this.names.get(name);
      const ownFamily = ownByName.get(name);
      const type = ownFamily?.type ?? cache?.type ?? 'untyped';
      const compliant = f === OPENMETRICS && isCompliantCounter(name, type, taken(openMetricsFamilyName(name, true)));
      if (cache === undefined) {
        if (ownFamily !== undefined && ownFamily.metrics.length > 0) {
          out.push(writer.header(name, ownFamily.help, ownFamily.type, compliant));
          for (const m of ownFamily.metrics) out.push(writer.metric(name, ownFamily.type, m, compliant));
        }
        continue;
      }
      if (ownFamily === undefined) {
        out.push(this.merged(f, name, cache, compliant));
        continue;
      }
      const ownTexts = new Map<Metric, string>();
      const merged: Entry[] = ownFamily.metrics.map((metric) => {
        ownTexts.set(metric, writer.metric(name, ownFamily.type, metric, compliant));
        return { metric, part: undefined, index: 0 };
      });
      for (const entry of this.sorted(cache)) merged.push(entry);
      merged.sort(byMetric);
      if (merged.length > 0) {
        out.push(writer.header(name, ownFamily.help, ownFamily.type, compliant));
        for (const entry of merged) {
          out.push(entry.part === undefined ? (ownTexts.get(entry.metric) ?? '') : writer.metric(name, entry.part.type, entry.metric, compliant));
        }
      }
    }
    return out;
  }

  /**
   * Some names are not legacy names and the scrape asked for an escaping: families are written
   * under their escaped names in the order of the names as stored (as upstream escapes after
   * sorting), and families whose names escape alike are written as one, where the first of them
   * would be (upstream writes two families of one name). Families without such names still come
   * from the cache.
   */
  private renderEscaped(f: FormatIndex, names: readonly string[], ownByName: ReadonlyMap<string, MetricFamily>, escaping: EscapingScheme): Output {
    const writer = WRITERS[f];
    const byOutput = new Map<string, string[]>();
    for (const name of names) {
      const output = escapeName(name, escaping);
      const list = byOutput.get(output);
      if (list === undefined) byOutput.set(output, [name]);
      else list.push(name);
    }
    const out: Output = [];
    for (const output of byOutput.keys()) {
      const sources = byOutput.get(output) ?? [];
      const only = sources.length === 1 ? sources[0] : undefined;
      const onlyCache = only === undefined ? undefined : this.names.get(only);
      const type = this.typeOf(sources[0] ?? output, ownByName);
      const compliant = f === OPENMETRICS && isCompliantCounter(output, type, byOutput.has(openMetricsFamilyName(output, true)));
      if (only !== undefined && onlyCache !== undefined && onlyCache.escapingParts === 0 && !ownByName.has(only)) {
        out.push(this.merged(f, only, onlyCache, compliant));
        continue;
      }
      // Own families first (they lend their help), then each group's, all names escaped.
      const families: MetricFamily[] = [];
      for (const source of sources) {
        const ownFamily = ownByName.get(source);
        if (ownFamily !== undefined) families.push(escapeFamily(ownFamily, escaping));
      }
      for (const source of sources) {
        const cache = this.names.get(source);
        if (cache === undefined) continue;
        for (const part of cache.byGroup.values()) {
          families.push(escapeFamily({ name: source, type: part.type, metrics: part.family.metrics, ...(part.help === undefined ? {} : { help: part.help }) }, escaping));
        }
      }
      const metrics = families.flatMap((fam) => fam.metrics.map((metric): Entry => ({ metric, part: undefined, index: 0 }))).sort(byMetric);
      if (metrics.length === 0) continue;
      const head = families.find((fam) => fam.help !== undefined) ?? families[0];
      out.push(writer.header(output, head?.help, type, compliant));
      for (const entry of metrics) out.push(writer.metric(output, type, entry.metric, compliant));
    }
    return out;
  }

  private typeOf(name: string, ownByName: ReadonlyMap<string, MetricFamily>): MetricType {
    return ownByName.get(name)?.type ?? this.names.get(name)?.type ?? 'untyped';
  }

  /** The delimited-protobuf exposition (for scrapers that ask for it, e.g. for native histograms). */
  renderProtobuf(own: readonly MetricFamily[], escaping: EscapingScheme = DEFAULT_ESCAPING): Uint8Array[] {
    const ownByName = new Map(own.map((f) => [f.name, f]));
    const names = mergeNames(this.names_(), [...ownByName.keys()].sort(compareNames));
    const families: MetricFamily[] = [];
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
      const family: MetricFamily = { name, type, ...(help === undefined ? {} : { help }), metrics };
      families.push(escaping === 'allow-utf-8' || (cache?.escapingParts ?? 0) === 0 && ownFamily === undefined ? family : escapeFamily(family, escaping));
    }
    return families.map(encodeFamilyDelimited);
  }
}

/** A rendering in order: text written for this scrape, and names' cached merged texts. */
type Output = (string | MergedText)[];

/** The rendering as pieces: each segment of a cached text one piece, the text between them encoded as one. */
function collectPieces(out: Output): TextPiece[] {
  const pieces: TextPiece[] = [];
  let loose: string[] = [];
  const flush = (): void => {
    const text = loose.join('');
    if (text !== '') pieces.push({ bytes: Buffer.from(text, 'utf8'), deflated: undefined, keep: undefined });
    loose = [];
  };
  for (const item of out) {
    if (typeof item === 'string') {
      loose.push(item);
      continue;
    }
    const segments = item.text?.segments ?? [];
    if (segments.length > 0) flush();
    for (const segment of segments) {
      // A segment's bytes never change: its compression is kept with it for as long as it is in use.
      pieces.push({
        bytes: segment.bytes,
        deflated: segment.deflated,
        keep: (deflated) => {
          segment.deflated = deflated;
        },
      });
    }
  }
  flush();
  return pieces;
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
