import { dropRedundantProtobuf } from '../exposition/index.js';
import {
  PUSH_FAILURE_TIME_HELP,
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_HELP,
  PUSH_TIME_METRIC,
  type GroupingKey,
  type Label,
  type Metric,
  type MetricFamily,
} from '../model/index.js';
import type { SharedText } from './shared-text.js';

/**
 * Sorts a series' labels by name in place, keeping labels of one name in their order (a stable
 * insertion sort). A series has a handful of labels, and Array.prototype.sort with a comparator
 * allocates a work array on every call: a third of what a push of 5,000 series allocated.
 */
function sortByName(labels: Label[]): void {
  for (let i = 1; i < labels.length; i++) {
    const label = labels[i] as Label;
    let j = i - 1;
    for (; j >= 0 && (labels[j] as Label).name > label.name; j--) labels[j + 1] = labels[j] as Label;
    labels[j + 1] = label;
  }
}

const EMPTY_INSTANCE: Label = { name: 'instance', value: '' };

/**
 * The Pushgateway's label merging: grouping labels are forced onto every metric (overwriting a
 * body label of the same name), `instance=""` is added when the metric has no instance, and the
 * labels are sorted by name. A body label name given twice keeps its last value.
 */
export function sanitizeLabels(labels: readonly Label[], key: GroupingKey): Label[] {
  return labelSanitizer(key)(labels);
}

/**
 * sanitizeLabels for the metrics of one push. The result shares Label objects (the key's, the
 * body's that stay) instead of copying them: stored series are many, and labels are immutable.
 * With `shared`, a body pair takes the object other groups already store for it.
 */
function labelSanitizer(key: GroupingKey, shared?: SharedText): (labels: readonly Label[]) => Label[] {
  const keyLabels = key.labels;
  const isKeyName = (name: string): boolean => {
    for (const label of keyLabels) if (label.name === name) return true;
    return false;
  };
  const keyHasInstance = isKeyName('instance');
  // One Label object per distinct pair in the push (e.g. code="200" on many series).
  let known: Map<string, Map<string, Label>> | undefined;
  const share = (label: Label): Label => {
    if (shared !== undefined) return shared.label(label.name, label.value, label);
    known ??= new Map();
    let byValue = known.get(label.name);
    if (byValue === undefined) {
      byValue = new Map();
      known.set(label.name, byValue);
    }
    const seen = byValue.get(label.value);
    if (seen !== undefined) return seen;
    byValue.set(label.value, label);
    return label;
  };
  // One work array for every series of the push; each result is an exact-size copy of it.
  const all: Label[] = [];
  return (labels) => {
    all.length = 0;
    let hasInstance = keyHasInstance;
    for (const label of labels) {
      if (isKeyName(label.name)) continue;
      if (label.name === 'instance') hasInstance = true;
      all.push(share(label));
    }
    for (const label of keyLabels) all.push(label);
    if (!hasInstance) all.push(EMPTY_INSTANCE);
    // A stable sort keeps body labels of one name in body order: the last one wins.
    sortByName(all);
    let n = 0;
    for (let i = 0; i < all.length; i++) {
      const label = all[i];
      if (label === undefined || all[i + 1]?.name === label.name) continue;
      all[n++] = label;
    }
    return all.slice(0, n);
  };
}

/** A pushed family as stored; with `shared`, its name, help and body labels are the copies other groups store. */
export function sanitizeFamily(family: MetricFamily, key: GroupingKey, shared?: SharedText): MetricFamily {
  const sanitize = labelSanitizer(key, shared);
  const plain = dropRedundantProtobuf(family.type);
  return {
    ...family,
    ...sharedNames(family, shared),
    metrics: family.metrics.map((metric): Metric => plain({ ...metric, labels: sanitize(metric.labels) })),
  };
}

/**
 * A stored family (already sanitised, e.g. read back from the persistence file) made as compact
 * as a pushed one: labels equal to the key's share its Label objects, equal pairs share one
 * object, and protobuf bytes that say no more than the value are dropped. Same metrics.
 */
export function compactFamily(family: MetricFamily, key: GroupingKey, shared?: SharedText): MetricFamily {
  const share = labelSharer(key, shared);
  const plain = dropRedundantProtobuf(family.type);
  return { ...family, ...sharedNames(family, shared), metrics: family.metrics.map((metric): Metric => plain({ ...metric, labels: metric.labels.map((l) => share(l.name, l.value, l)) })) };
}

/** A family's name and help as `shared` keeps them (nothing without it). */
export function sharedNames(family: { readonly name: string; readonly help?: string }, shared: SharedText | undefined): { name: string; help?: string } {
  if (shared === undefined) return family.help === undefined ? { name: family.name } : { name: family.name, help: family.help };
  return family.help === undefined ? { name: shared.text(family.name) } : { name: shared.text(family.name), help: shared.text(family.help) };
}

/**
 * The labels sanitizeLabels puts on every series of a group, by name: the key's, and
 * `instance=""` when the key has no instance (a series that brought its own instance keeps it).
 */
export function impliedLabels(key: GroupingKey): Map<string, Label> {
  const implied = new Map<string, Label>();
  for (const label of key.labels) implied.set(label.name, label);
  if (!implied.has('instance')) implied.set('instance', EMPTY_INSTANCE);
  return implied;
}

/**
 * One Label object per distinct pair of a group's stored families, starting with the key's own
 * (and `instance=""`): share(name, value) returns the object already seen for the pair, else
 * keeps `label` (made when not given). With `shared`, pairs outside the key are taken from it.
 */
export function labelSharer(key: GroupingKey, shared?: SharedText): (name: string, value: string, label?: Label) => Label {
  const known = new Map<string, Map<string, Label>>();
  for (const [name, label] of impliedLabels(key)) known.set(name, new Map([[label.value, label]]));
  return (name, value, label) => {
    if (shared !== undefined && !known.has(name)) return shared.label(name, value, label);
    let byValue = known.get(name);
    if (byValue === undefined) {
      byValue = new Map();
      known.set(name, byValue);
    }
    const seen = byValue.get(value);
    if (seen !== undefined) return seen;
    const kept = label ?? { name, value };
    byValue.set(value, kept);
    return kept;
  };
}

/**
 * A group's push_time_seconds or push_failure_time_seconds: one gauge series with the key's
 * labels, kept as one object whose series is made when read (as PlainFamily's are). The index and
 * the render cache keep both for every group, so this is most of a group's own weight: as plain
 * objects (the family, its metrics, the metric, its labels) they were four times as many.
 */
class MetaGauge implements MetricFamily {
  readonly type = 'gauge';
  readonly #labels: readonly Label[];
  readonly #value: number;

  constructor(
    readonly name: string,
    readonly help: string,
    labels: readonly Label[],
    value: number,
  ) {
    this.#labels = labels;
    this.#value = value;
  }

  get metrics(): Metric[] {
    return [{ labels: this.#labels, value: this.#value }];
  }
}

/** `push_time_seconds` and `push_failure_time_seconds` of a group (sharing one array of labels). */
export function metaFamilies(key: GroupingKey, lastPushAt: number, lastFailureAt: number): MetricFamily[] {
  const labels = sanitizeLabels([], key);
  return [new MetaGauge(PUSH_TIME_METRIC, PUSH_TIME_HELP, labels, lastPushAt / 1000), new MetaGauge(PUSH_FAILURE_TIME_METRIC, PUSH_FAILURE_TIME_HELP, labels, lastFailureAt / 1000)];
}

export function isMetaFamily(name: string): boolean {
  return name === PUSH_TIME_METRIC || name === PUSH_FAILURE_TIME_METRIC;
}

/** Identity of one series for the duplicate check: name plus sorted label pairs. */
export function seriesId(name: string, labels: readonly Label[]): string {
  // join() builds one flat string; `+=` would keep a tree of pieces alive in the index.
  const parts: string[] = [name];
  for (const label of labels) parts.push('\xff', label.name, '\xfe', label.value);
  return parts.join('');
}
