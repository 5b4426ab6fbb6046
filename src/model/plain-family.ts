import type { Label, Metric, MetricFamily } from './metric.js';

export type PlainType = 'counter' | 'gauge' | 'untyped';

/**
 * A stored counter, gauge or untyped family without an object per series: the values in one
 * array of numbers (V8 keeps them unboxed), the labels of every series one after another in one
 * array (the Label objects the store shares), and, only when series have different numbers of
 * labels, where each series' labels start. A series as objects cost about 136 bytes (the Metric,
 * its label array, a boxed value) and had to be copied out of V8's young generation when stored;
 * here it costs 8 bytes and one pointer per label. (Typed arrays cost more for the small
 * families batch jobs push: each has its own buffer outside the heap.)
 *
 * `metrics` builds the series as objects on every read, for the readers that need them (a
 * scrape's first rendering, the consistency check's series ids, the APIs): read it once per use,
 * and use seriesCount() for a count.
 */
export class PlainFamily implements MetricFamily {
  readonly name: string;
  // Declared, not defined: a family pushed without help has no `help` property at all.
  declare readonly help?: string;
  readonly type: PlainType;
  readonly #values: readonly number[];
  readonly #labels: readonly Label[];
  /** Labels per series when every series has as many; else undefined and #starts says. */
  readonly #width: number | undefined;
  /** Series i's labels are #labels[#starts[i]] up to #labels[#starts[i + 1]] (only without #width). */
  readonly #starts: readonly number[] | undefined;

  private constructor(
    name: string,
    help: string | undefined,
    type: PlainType,
    values: readonly number[],
    labels: readonly Label[],
    width: number | undefined,
    starts: readonly number[] | undefined,
  ) {
    this.name = name;
    if (help !== undefined) this.help = help;
    this.type = type;
    this.#values = values;
    this.#labels = labels;
    this.#width = width;
    this.#starts = width === undefined ? starts : undefined;
  }

  /** The family packed, when it is a plain one: each series only labels and a value that is not NaN. */
  static of(family: MetricFamily): PlainFamily | undefined {
    if (family instanceof PlainFamily) return family;
    if (!isPlainType(family.type)) return undefined;
    const metrics = family.metrics;
    for (const m of metrics) {
      // NaN is left as objects: an array of numbers need not keep a NaN's bits (Prometheus' stale marker is one).
      if (m.value === undefined || Number.isNaN(m.value) || !onlyLabelsAndValue(m)) return undefined;
    }
    // Every value was just found to be a number.
    return PlainFamily.fromSeries(family.name, family.help, family.type, metrics as readonly { readonly labels: readonly Label[]; readonly value: number }[]);
  }

  /** A family of these series (labels as the store shares them; values not NaN). */
  static fromSeries(name: string, help: string | undefined, type: PlainType, series: readonly { readonly labels: readonly Label[]; readonly value: number }[]): PlainFamily {
    // Exact sizes: an array grown by push() keeps spare capacity.
    const values = new Array<number>(series.length);
    const starts = new Array<number>(series.length + 1);
    let total = 0;
    for (let i = 0; i < series.length; i++) {
      starts[i] = total;
      total += (series[i] as { labels: readonly Label[] }).labels.length;
    }
    starts[series.length] = total;
    const labels = new Array<Label>(total);
    let at = 0;
    series.forEach((s, i) => {
      values[i] = s.value;
      for (const label of s.labels) labels[at++] = label;
    });
    const width = values.length === 0 ? 0 : labels.length / values.length;
    const uniform = Number.isInteger(width) && starts.every((start, i) => start === i * width);
    return new PlainFamily(name, help, type, values, labels, uniform ? width : undefined, starts);
  }

  /**
   * A family of `values.length` series with `width` labels each, series i's being
   * labels[i * width] up to labels[(i + 1) * width]. Keeps both arrays as they are (the caller
   * hands them over); values not NaN.
   */
  static fromColumns(name: string, help: string | undefined, type: PlainType, values: readonly number[], labels: readonly Label[], width: number): PlainFamily {
    if (labels.length !== values.length * width) throw new RangeError(`${values.length} series of ${width} labels need ${values.length * width} labels, not ${labels.length}`);
    return new PlainFamily(name, help, type, values, labels, width, undefined);
  }

  /**
   * Visits each series in order without building it: its value, and its labels as
   * labels[from] up to labels[to] (the family's own array: read it, never keep or change it).
   * Stops at the first visit that returns false; returns whether every series was visited.
   */
  forEachSeries(visit: (value: number, labels: readonly Label[], from: number, to: number) => boolean | void): boolean {
    const values = this.#values;
    const width = this.#width;
    const starts = this.#starts;
    for (let i = 0; i < values.length; i++) {
      const from = width === undefined ? (starts?.[i] ?? 0) : i * width;
      const to = width === undefined ? (starts?.[i + 1] ?? 0) : from + width;
      if (visit(values[i] as number, this.#labels, from, to) === false) return false;
    }
    return true;
  }

  /** Whether some label of some series satisfies `test` (without building the series). */
  someLabel(test: (label: Label) => boolean): boolean {
    return this.#labels.some(test);
  }

  /** Whether `other` holds series with the same labels in the same order (values aside). */
  sameSeries(other: PlainFamily): boolean {
    if (other.#values.length !== this.#values.length || other.#labels.length !== this.#labels.length || other.#width !== this.#width) return false;
    const starts = this.#starts;
    const otherStarts = other.#starts;
    if (starts !== undefined && otherStarts !== undefined && starts.some((start, i) => start !== otherStarts[i])) return false;
    for (let i = 0; i < this.#labels.length; i++) {
      const a = this.#labels[i] as Label;
      const b = other.#labels[i] as Label;
      if (a !== b && (a.name !== b.name || a.value !== b.value)) return false;
    }
    return true;
  }

  /** Labels of every series together. */
  get labelCount(): number {
    return this.#labels.length;
  }

  get size(): number {
    return this.#values.length;
  }

  /** Series `index` as an object (built on each call). */
  metricAt(index: number): Metric {
    const width = this.#width;
    const from = width === undefined ? (this.#starts?.[index] ?? 0) : index * width;
    const to = width === undefined ? (this.#starts?.[index + 1] ?? 0) : from + width;
    return { labels: this.#labels.slice(from, to), value: this.#values[index] as number };
  }

  get metrics(): Metric[] {
    const out = new Array<Metric>(this.#values.length);
    let i = 0;
    this.forEachSeries((value, labels, from, to) => {
      out[i++] = { labels: labels.slice(from, to), value };
    });
    return out;
  }
}

export const isPlainType = (t: unknown): t is PlainType => t === 'counter' || t === 'gauge' || t === 'untyped';

/** True when a series holds nothing but its labels and a value field (no timestamp, no kept protobuf bytes). */
export function onlyLabelsAndValue(m: Metric): boolean {
  for (const field in m) if (field !== 'labels' && field !== 'value') return false;
  return true;
}

/** How many series a family has, without building them. */
export function seriesCount(family: MetricFamily): number {
  return family instanceof PlainFamily ? family.size : family.metrics.length;
}
