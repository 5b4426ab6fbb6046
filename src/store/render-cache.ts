import {
  DEFAULT_ESCAPING,
  OPENMETRICS_EOF,
  compareMetrics,
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
  type EscapingScheme,
} from '../exposition/index.js';
import { seriesCount, type Metric, type MetricFamily, type MetricType } from '../model/index.js';
import type { DeflatedPiece, TextPiece } from './group-store.js';

/**
 * Rendered text of every stored series, kept per family name and per group, so that a scrape
 * hands out cached pieces instead of re-encoding every sample. A push re-renders only its
 * own families; the merged, sorted text of a name is rebuilt only after that name changed.
 *
 * The text of a series is kept once per format: a group's share of a family is rendered (as one
 * flat string) when a scrape first needs it, and once the merged text of its name holds it, the
 * group keeps only where its metrics are in there. Rebuilding a name's merged text takes the
 * unchanged groups' text from the previous merged text. A name's merged text is kept as its UTF-8
 * bytes (encoded once, when it is rebuilt, outside the JavaScript heap): a scrape hands these out
 * as pieces (renderPieces) that the gateway writes to the socket as they are, without joining
 * them into one string or encoding the whole scrape again.
 *
 * Two formats are cached, each only once a scrape has asked for it: the text format (0.0.4 and
 * 1.0.0 are the same text) and OpenMetrics (what Prometheus 3 asks for first). A format that no
 * scrape asked for in UNUSED_FORMAT_MS is dropped, so a Prometheus that scrapes OpenMetrics and
 * an occasional curl of the text format do not keep two copies for good. The cached text holds
 * names as stored, which is what every escaping scheme writes for legacy names; a family with a
 * name that is not one (UTF-8 names) is rendered for the scrape's scheme when asked, uncached.
 * Delimited protobuf is encoded per scrape from the sorted metrics (native histograms).
 *
 * Each name's merged text is one piece, and a compressed scrape's compression of it is kept
 * beside the text until the text is rebuilt, so an unchanged name is compressed once. Compressed
 * pieces of a format are dropped when it is scraped uncompressed after UNUSED_FORMAT_MS without
 * compressed scrapes.
 *
 * (About 550 lines: one cache whose layers — a group's part, a name's merged text, each format,
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

/** A part's text in one format. */
interface PartText {
  /** The part's own rendering (one flat string, end offset of each metric), until merged. */
  text: string | undefined;
  ends: readonly number[] | undefined;
  /** Start and end (in bytes) of each metric's text in its name's current merged text, once in there. */
  spans: readonly number[] | undefined;
}

interface GroupPart {
  readonly help: string | undefined;
  readonly type: MetricType;
  /** The stored family: its `metrics` are built on each read when it is a PlainFamily (read once per use). */
  readonly family: MetricFamily;
  /** Some name of the part (family or label) is not a legacy name. */
  readonly escapes: boolean;
  /** Its text in each format (two fields, not a pair: one object less per part, and there is a part per group and family). */
  text: PartText | undefined;
  openMetrics: PartText | undefined;
}

const partText = (part: GroupPart, f: FormatIndex): PartText | undefined => (f === TEXT ? part.text : part.openMetrics);

function setPartText(part: GroupPart, f: FormatIndex, text: PartText | undefined): void {
  if (f === TEXT) part.text = text;
  else part.openMetrics = text;
}

interface MergedText {
  /** Header and sorted samples of every group, UTF-8; the parts' spans (byte offsets) point into it. */
  bytes: Buffer | undefined;
  /** `bytes` compressed (see TextPiece), once a compressed scrape asked for it. */
  deflated: DeflatedPiece | undefined;
  /** False when a group changed since `bytes` was built. */
  fresh: boolean;
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

/** The text of a part's metric in format f: bytes of the merged text, or from the part's own rendering. */
function entryText(f: FormatIndex, name: string, cache: NameCache, entry: Entry, compliant: boolean): string | Uint8Array {
  const { part, index } = entry;
  if (part === undefined) return '';
  let own = partText(part, f);
  const merged = cache.merged[f]?.bytes;
  if (own?.text === undefined && own?.spans !== undefined && merged !== undefined) {
    return merged.subarray(own.spans[2 * index], own.spans[2 * index + 1]);
  }
  if (own?.text === undefined || own.ends === undefined) {
    const writer = WRITERS[f];
    const texts = part.family.metrics.map((metric) => writer.metric(name, part.type, metric, compliant));
    const ends: number[] = new Array<number>(texts.length);
    let end = 0;
    for (let i = 0; i < texts.length; i++) {
      end += texts[i]?.length ?? 0;
      ends[i] = end;
    }
    own = { text: flat(texts.join('')), ends, spans: undefined };
    setPartText(part, f, own);
  }
  const text = own.text ?? '';
  const ends = own.ends ?? [];
  return text.slice(index === 0 ? 0 : (ends[index - 1] ?? 0), ends[index]);
}

export class RenderCache {
  private readonly names = new Map<string, NameCache>();
  private sortedNames: string[] | undefined;
  /** Names with at least one part that needs escaping. */
  private escapingNames = 0;
  /** When a scrape last asked for each cached format (Unix ms); undefined: never, or dropped. */
  private readonly lastUsed: [number | undefined, number | undefined] = [undefined, undefined];
  /** The same for scrapes of each format that asked for pieces (compressed scrapes). */
  private readonly lastPieces: [number | undefined, number | undefined] = [undefined, undefined];

  /** The formats whose text is cached now (`text`, `openmetrics`), for tests and debugging. */
  get cachedFormats(): string[] {
    return (['text', 'openmetrics'] as const).filter((_, f) => this.lastUsed[f as FormatIndex] !== undefined);
  }

  set(groupId: string, family: MetricFamily): void {
    let cache = this.names.get(family.name);
    if (cache === undefined) {
      cache = { type: family.type, byGroup: new Map(), merged: [undefined, undefined], sortedMetrics: undefined, escapingParts: 0 };
      this.names.set(family.name, cache);
      this.sortedNames = undefined;
    }
    const part: GroupPart = {
      help: family.help,
      type: family.type,
      family,
      escapes: familyNeedsEscaping(family),
      text: undefined,
      openMetrics: undefined,
    };
    this.forget(cache, cache.byGroup.get(groupId));
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
        for (const part of cache.byGroup.values()) setPartText(part, f, undefined);
      }
    }
  }

  /** The merged text of a name in format f, rebuilt when a group changed; every part then points into it. */
  private merged(f: FormatIndex, name: string, cache: NameCache, compliant: boolean): MergedText {
    let state = cache.merged[f];
    if (state?.fresh === true && state.bytes !== undefined && state.compliant === compliant) return state;
    if (state !== undefined && state.compliant !== compliant) {
      // The OpenMetrics family name changed: the parts' text has to be written again.
      for (const part of cache.byGroup.values()) setPartText(part, f, undefined);
      state.bytes = undefined;
    }
    state ??= { bytes: undefined, deflated: undefined, fresh: false, compliant };
    state.deflated = undefined;
    cache.merged[f] = state;
    const entries = this.sorted(cache);
    if (entries.length === 0) {
      state.bytes = NO_BYTES;
    } else {
      const header = WRITERS[f].header(name, this.helpOf(cache), cache.type, compliant);
      const pieces = entries.map((e) => entryText(f, name, cache, e, compliant));
      const spans = new Map<GroupPart, number[]>();
      let at = Buffer.byteLength(header);
      for (let k = 0; k < entries.length; k++) {
        const { part, index } = entries[k] as Entry;
        const piece = pieces[k] ?? '';
        const length = typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;
        if (part !== undefined) {
          let list = spans.get(part);
          if (list === undefined) {
            list = new Array<number>(2 * seriesCount(part.family));
            spans.set(part, list);
          }
          list[2 * index] = at;
          list[2 * index + 1] = at + length;
        }
        at += length;
      }
      state.bytes = concatUtf8([header, ...pieces], at);
      for (const [part, list] of spans) setPartText(part, f, { text: undefined, ends: undefined, spans: list });
    }
    state.fresh = true;
    state.compliant = compliant;
    return state;
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
      const state = cache.merged[f];
      if (state !== undefined) state.deflated = undefined;
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

const NO_BYTES = Buffer.alloc(0);

/**
 * The UTF-8 of the texts in order (`length` bytes in all) in one buffer of its own: not a slice
 * of Node's shared pool, which a kept small text would hold on to whole.
 */
function concatUtf8(texts: readonly (string | Uint8Array)[], length: number): Buffer {
  const bytes = Buffer.allocUnsafeSlow(length);
  let at = 0;
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 0) at += bytes.write(run.length === 1 ? (run[0] ?? '') : run.join(''), at, 'utf8');
    run = [];
  };
  for (const text of texts) {
    if (typeof text === 'string') {
      run.push(text);
      continue;
    }
    flush();
    bytes.set(text, at);
    at += text.length;
  }
  flush();
  return bytes;
}

/** The rendering as pieces: each cached text one piece, the text between them encoded as one. */
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
    const state = item;
    const bytes = state.bytes ?? NO_BYTES;
    if (bytes.length === 0) continue;
    flush();
    // A compression that finishes after the text was rebuilt is not kept with the new text.
    const keep = (deflated: DeflatedPiece): void => {
      if (state.bytes === bytes) state.deflated = deflated;
    };
    pieces.push({ bytes, deflated: state.deflated, keep });
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
