/**
 * Parser for the text exposition format 0.0.4 as the Pushgateway reads pushes: the behaviour
 * of prometheus/common's expfmt.TextParser (rules and error messages), reimplemented.
 *
 * - Errors throw BadRequestError `text format parsing error in line N: <what>`.
 * - Families come back in order of first appearance (a HELP or TYPE line counts); families
 *   without samples are dropped; samples of one family need not be contiguous.
 * - After `# TYPE x summary|histogram|gaugehistogram`, the `x`, `x_sum`, `x_count` (and
 *   `x_bucket`) lines fold into one Metric per label set, without their `quantile`/`le` label.
 * - Timestamps are kept in `timestampMs` (refusing them is the store's job).
 *
 * One deliberate difference: on a line that starts with `{`, labels before the metric name are
 * read as if the name came first. Upstream reads them with the previous line's family (and the
 * line `{} 1` crashes some versions); here `{}` or labels without a name are "invalid metric
 * name".
 */

import type { Label, MetricFamily } from '../model/index.js';
import { goFloatToUint64, isUint64Integer, parseGoFloat, parseGoInt64 } from './go-float.js';
import { goQuote, goQuoteByte } from './go-quote.js';
import { isValidLegacyLabelName, isValidLegacyMetricName, isValidUtf8Name } from './names.js';
import {
  FamilySet,
  isHistogram,
  isSummary,
  parseTypeName,
  type FamilyDraft,
  type MetricDraft,
  type SampleSuffix,
} from './text-families.js';
import { CLOSE_BRACE, COMMA, EQUALS, HASH, NEWLINE, OPEN_BRACE, QUOTE, TextScanner, isBlank } from './text-scanner.js';
import { containsInvalidUtf8, decodeUtf8 } from './utf8.js';

export interface TextParseOptions {
  /** Accept any valid UTF-8 metric and label names (quoted in the body), as with the
   *  Pushgateway's UTF-8 names option. Default: legacy names only. */
  readonly utf8Names?: boolean;
}

/** Parses a text-format push body. */
export function parseText(body: Uint8Array, options: TextParseOptions = {}): MetricFamily[] {
  const { text, valid } = decodeUtf8(body);
  const parser = new TextParser(new TextScanner(text), !valid, options.utf8Names === true);
  parser.parse();
  return parser.families.result();
}

/**
 * A copy of a substring that does not keep the whole body alive (engines may represent long
 * substrings as views into their parent string, and stored labels outlive the body).
 */
function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

class TextParser {
  readonly families = new FamilySet();
  /** One instance of each metric and label name of the body. */
  private readonly names = new Map<string, string>();
  private readonly namesByPosition: string[] = [];
  private readonly validMetricName: (name: string) => boolean;
  private readonly validLabelName: (name: string) => boolean;

  // The sample line being read.
  private family: FamilyDraft | undefined;
  private suffix: SampleSuffix;
  /** `quantile` for summaries, `le` for histograms: the label that is not a label. */
  private specialLabel: string | undefined;
  /** The parsed `quantile` / `le` value; NaN when absent. */
  private special = NaN;
  private labels: Label[] = [];
  /** The names in `labels`, once a line has many (scanning them for each label is quadratic). */
  private labelNames: Set<string> | undefined;
  /** Labels read inside braces before the metric name, applied once it is known. */
  private pending: Label[] | undefined;

  constructor(
    private readonly s: TextScanner,
    private readonly checkUtf8: boolean,
    utf8Names: boolean,
  ) {
    this.validMetricName = utf8Names ? isValidUtf8Name : isValidLegacyMetricName;
    this.validLabelName = utf8Names ? isValidUtf8Name : isValidLegacyLabelName;
  }

  parse(): void {
    const { s } = this;
    while (s.startLine()) {
      const c = s.ch;
      if (c === NEWLINE) continue;
      if (c === HASH) this.comment();
      else this.sample(c === OPEN_BRACE);
    }
  }

  /** A label name, usually the one at the same position on the previous line. */
  private labelName(name: string, position: number): string {
    const previous = this.namesByPosition[position];
    if (previous === name) return previous;
    const interned = this.intern(name);
    this.namesByPosition[position] = interned;
    return interned;
  }

  private intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    const copy = detach(name);
    this.names.set(copy, copy);
    return copy;
  }

  /** A family by metric name, after checking the name (setOrCreateCurrentMF). */
  private familyFor(name: string): FamilyDraft {
    if (!this.validMetricName(name)) throw this.s.error(`invalid metric name ${goQuote(name)}`);
    return this.families.familyFor(this.intern(name));
  }

  private comment(): void {
    const { s } = this;
    if (s.skipBlankTab() === NEWLINE) return;
    const keyword = s.readTokenUntilWhitespace();
    if (s.ch === NEWLINE) return;
    if (keyword !== 'HELP' && keyword !== 'TYPE') {
      s.skipToNewline();
      return;
    }
    s.skipBlankTab();
    const name = s.readName(true);
    if (s.ch === NEWLINE) return;
    if (!isBlank(s.ch)) throw s.error('invalid metric name in comment');
    const family = this.familyFor(name);
    if (s.skipBlankTab() === NEWLINE) return;
    if (keyword === 'HELP') {
      if (family.help !== undefined) throw s.error(`second HELP line for metric name ${goQuote(family.name)}`);
      family.help = detach(s.readRestOfLine(true));
      return;
    }
    if (family.type !== undefined) {
      throw s.error(`second TYPE line for metric name ${goQuote(family.name)}, or TYPE reported after samples`);
    }
    const typeText = s.readRestOfLine(false);
    const type = parseTypeName(typeText);
    if (type === undefined) throw s.error(`unknown metric type ${goQuote(typeText)}`);
    family.type = type;
  }

  private sample(braced: boolean): void {
    const { s } = this;
    this.family = undefined;
    this.suffix = undefined;
    this.specialLabel = undefined;
    this.special = NaN;
    this.labels = [];
    this.labelNames = undefined;
    this.pending = undefined;
    if (braced) {
      this.readLabels(true);
    } else {
      const name = s.readName(true);
      if (name === '') throw s.error('invalid metric name');
      this.startMetric(name);
      s.skipBlankTabIfBlank();
      if (s.ch === OPEN_BRACE) this.readLabels(false);
    }
    this.readValue();
  }

  /** The line's metric name is known: its family, and the labels read before it. */
  private startMetric(name: string): void {
    const family = this.familyFor(name);
    family.type ??= 'untyped';
    this.family = family;
    this.suffix = this.families.suffix;
    this.specialLabel = isSummary(family.type) ? 'quantile' : isHistogram(family.type) ? 'le' : undefined;
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    for (const label of pending) {
      this.checkDuplicate(label.name);
      this.acceptLabel(label.name, label.value);
    }
  }

  /** The label set after `{` (the current character); ends on the first character after `}`. */
  private readLabels(braced: boolean): void {
    const { s } = this;
    let namePresent = false;
    for (;;) {
      if (s.skipBlankTab() === CLOSE_BRACE) break;
      const name = s.readName(false);
      if (name === '') throw s.error(`invalid label name for metric ${goQuote(this.family?.name ?? '')}`);
      s.skipBlankTabIfBlank();
      if (s.ch !== EQUALS) {
        if (!braced) throw s.error(`expected '=' after label name, found ${goQuoteByte(s.src, s.pos)}`);
        if (namePresent) throw s.error(`multiple metric names for metric ${goQuote(this.family?.name ?? '')}`);
        if (s.ch !== COMMA && s.ch !== CLOSE_BRACE) {
          throw s.error(`unexpected end of metric name ${goQuoteByte(s.src, s.pos)}`);
        }
        this.startMetric(name);
        namePresent = true;
        if (s.ch === COMMA) continue;
        break;
      }
      if (name === '__name__') throw s.error('label name "__name__" is reserved');
      if (!this.validLabelName(name)) throw s.error(`invalid label name ${goQuote(name)}`);
      const known = this.family !== undefined;
      if (known) this.checkDuplicate(name);
      if (s.skipBlankTab() !== QUOTE) {
        throw s.error(`expected '"' at start of label value, found ${goQuoteByte(s.src, s.pos)}`);
      }
      const value = s.readLabelValue();
      if (this.checkUtf8 && containsInvalidUtf8(value)) throw s.error(`invalid label value ${goQuote(value)}`);
      if (known) this.acceptLabel(name, value);
      else (this.pending ??= []).push({ name, value });
      const next = s.skipBlankTab();
      if (next === COMMA) continue;
      if (next === CLOSE_BRACE) break;
      throw s.error(`unexpected end of label value ${goQuote(value)}`);
    }
    // Labels (or nothing) without a metric name.
    if (this.family === undefined) throw s.error('invalid metric name');
    s.skipBlankTab();
  }

  private checkDuplicate(name: string): void {
    if (name === this.specialLabel) return;
    const { labels } = this;
    let duplicate = false;
    if (labels.length < 16) {
      for (let i = 0; i < labels.length && !duplicate; i++) duplicate = labels[i]?.name === name;
    } else {
      this.labelNames ??= new Set(labels.map((l) => l.name));
      duplicate = this.labelNames.has(name);
    }
    if (duplicate) throw this.s.error(`duplicate label names for metric ${goQuote(this.family?.name ?? '')}`);
  }

  private acceptLabel(name: string, value: string): void {
    if (name !== this.specialLabel) {
      this.labels.push({ name: this.labelName(name, this.labels.length), value: detach(value) });
      this.labelNames?.add(name);
      return;
    }
    const parsed = parseGoFloat(value);
    if (parsed === undefined) throw this.s.error(`expected float as value for '${name}' label, got ${goQuote(value)}`);
    this.special = parsed;
  }

  /** The sample value (from the current character), then an optional timestamp. */
  private readValue(): void {
    const { s, family } = this;
    if (family === undefined) throw s.error('invalid metric name');
    const token = s.readTokenUntilWhitespace();
    const value = parseGoFloat(token);
    if (value === undefined) throw s.error(`expected float as value, got ${goQuote(token)}`);
    let metric: MetricDraft;
    if (isSummary(family.type)) {
      metric = this.families.foldedMetric(family, this.labels);
      const summary = (metric.summary ??= { sampleCount: 0, sampleSum: 0, quantiles: [] });
      if (this.suffix === 'count') summary.sampleCount = goFloatToUint64(value);
      else if (this.suffix === 'sum') summary.sampleSum = value;
      else if (!Number.isNaN(this.special)) summary.quantiles.push({ quantile: this.special, value });
    } else if (isHistogram(family.type)) {
      metric = this.families.foldedMetric(family, this.labels);
      const histogram = (metric.histogram ??= { sampleCount: 0, sampleSum: 0, buckets: [] });
      if (this.suffix === 'count') {
        histogram.sampleCount = this.count(value, 'negative count', family.name);
      } else if (this.suffix === 'sum') {
        histogram.sampleSum = value;
      } else if (!Number.isNaN(this.special)) {
        const cumulativeCount = this.count(value, 'negative bucket population', family.name);
        histogram.buckets.push({ upperBound: this.special, cumulativeCount });
      }
    } else {
      metric = { labels: this.labels, value };
      family.metrics.push(metric);
    }
    if (s.ch !== NEWLINE) this.readTimestamp(metric);
  }

  private readTimestamp(metric: MetricDraft): void {
    const { s } = this;
    s.skipBlankTab();
    const stamp = s.readTokenUntilWhitespace();
    const timestampMs = parseGoInt64(stamp);
    if (timestampMs === undefined) throw s.error(`expected integer as timestamp, got ${goQuote(stamp)}`);
    metric.timestampMs = timestampMs;
    const rest = s.readRestOfLine(false);
    if (rest !== '') throw s.error(`spurious string after timestamp: ${goQuote(rest)}`);
  }

  /** A histogram count: whole counts as they are; fractional ones must not be negative. */
  private count(value: number, what: string, family: string): number {
    if (isUint64Integer(value)) return value + 0;
    if (value < 0) throw this.s.error(`${what} for histogram ${goQuote(family)}`);
    return value;
  }
}
