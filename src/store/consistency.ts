import { PlainFamily, seriesCount, type GroupingKey, type Label, type MetricFamily, type MetricType } from '../model/index.js';
import { containsInvalidUtf8 } from '../exposition/index.js';
import { collides, collisionProbes, collisionProblem, duplicateSeriesProblem, typeConflictProblem } from './consistency-rules.js';
import { seriesId } from './sanitize.js';

/**
 * The push-time consistency check, made incremental: per-name indexes over everything stored,
 * so a push checks only the families it touches (upstream gathers the whole store on every
 * push). The rules are client_golang's gather checks: one type per name, no duplicate series,
 * valid label names, no suffix collisions.
 *
 * Duplicate series are found without an index of every stored series (which cost more memory
 * than the series themselves): every series of a group carries the group's grouping labels, so
 * a series with labels L can only be stored in a group whose key is L restricted to that key's
 * label names. The index keeps the few key shapes (sets of label names) in use and the groups
 * by key, looks up each shape's candidate for a pushed series, and compares with the series ids
 * of that candidate's family of the same name (built when first needed, kept until it changes).
 */

interface NameEntry {
  readonly type: MetricType;
  /** Groups with a family of this name (a group has at most one). */
  groups: number;
}

interface GroupEntry {
  /** Undefined when the index was built without `keyOf`: then every group is a candidate. */
  readonly key: GroupingKey | undefined;
  /** The group's indexed families (a few: a list costs less than a map). */
  readonly families: MetricFamily[];
  /** Series ids of a family, built when the family is first a candidate for a duplicate. */
  ids: Map<string, Set<string>> | undefined;
}

function familyNamed(group: GroupEntry | undefined, name: string): MetricFamily | undefined {
  if (group === undefined) return undefined;
  for (const family of group.families) if (family.name === name) return family;
  return undefined;
}

interface Shape {
  /** shapeOf() of the keys. */
  readonly id: string;
  /** Sorted label names of a grouping key. */
  readonly names: readonly string[];
  /** Linked groups with a key of this shape. */
  count: number;
}

export type OwnTypeLookup = (name: string) => MetricType | undefined;

/** The key of a group of this shape that a series with these (sorted) labels could be in. */
function lookupId(shapeId: string, names: readonly string[], labels: readonly Label[]): string | undefined {
  const values: string[] = [shapeId];
  let i = 0;
  for (const name of names) {
    while (i < labels.length && (labels[i]?.name ?? '') < name) i++;
    const label = labels[i];
    if (label === undefined || label.name !== name) return undefined;
    values.push(label.value);
  }
  return JSON.stringify(values);
}

export class ConsistencyIndex {
  private readonly names = new Map<string, NameEntry>();
  private readonly groups = new Map<string, GroupEntry>();
  private readonly shapes = new Map<string, Shape>();
  /** lookupId of each linked group's key → group id. */
  private readonly byKey = new Map<string, string>();
  private series = 0;

  /**
   * `keyOf` gives the grouping key of a group id when its first family is indexed. Without it
   * (an index used only to check a single push) every linked group is a duplicate candidate.
   */
  constructor(
    private readonly ownType: OwnTypeLookup,
    private readonly keyOf?: (groupId: string) => GroupingKey | undefined,
  ) {}

  /**
   * Checks a group's new families against everything else stored. `changed` are the families
   * (by name) whose content differs from what is stored for this group. Returns the first
   * problem, or undefined when the push is consistent.
   */
  check(groupId: string, next: ReadonlyMap<string, MetricFamily>, changed: Iterable<string>): string | undefined {
    // Every series of a group carries its key: the group's own key shape only leads back to it.
    const own = this.groups.get(groupId)?.key ?? this.keyOf?.(groupId);
    const ownShape = own === undefined ? undefined : shapeOf(own);
    for (const name of changed) {
      const family = next.get(name);
      if (family === undefined) continue;
      const problem =
        this.checkType(groupId, family) ??
        this.checkSuffixes(groupId, family, next) ??
        this.checkMetrics(groupId, ownShape, family);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }

  private typeElsewhere(groupId: string, name: string): MetricType | undefined {
    const own = this.ownType(name);
    if (own !== undefined) return own;
    const entry = this.names.get(name);
    if (entry === undefined) return undefined;
    const mine = familyNamed(this.groups.get(groupId), name) === undefined ? 0 : 1;
    return entry.groups - mine > 0 ? entry.type : undefined;
  }

  private checkType(groupId: string, family: MetricFamily): string | undefined {
    const other = this.typeElsewhere(groupId, family.name);
    if (other !== undefined && other !== family.type) return typeConflictProblem(family, other);
    return undefined;
  }

  private present(groupId: string, name: string, next: ReadonlyMap<string, MetricFamily>): MetricType | undefined {
    return next.get(name)?.type ?? this.typeElsewhere(groupId, name);
  }

  private checkSuffixes(groupId: string, family: MetricFamily, next: ReadonlyMap<string, MetricFamily>): string | undefined {
    for (const probe of collisionProbes(family)) {
      const present = this.present(groupId, probe.name, next);
      if (collides(probe, present)) return collisionProblem(family, probe, present);
    }
    return undefined;
  }

  private checkMetrics(groupId: string, ownShape: string | undefined, family: MetricFamily): string | undefined {
    if (family instanceof PlainFamily) return this.checkPlain(groupId, ownShape, family);
    // A push has one family of a name, so a series seen twice is seen twice in this family.
    const seen = new SeriesSeen();
    for (const metric of family.metrics) {
      for (const label of metric.labels) {
        const problem = labelProblem(family, label);
        if (problem !== undefined) return problem;
      }
      const problem = checkValueField(family, metric);
      if (problem !== undefined) return problem;
      if (!seen.add(metric.labels, 0, metric.labels.length)) return duplicateSeriesProblem(family, metric, 'in this push');
      if (this.storedElsewhere(groupId, ownShape, family.name, metric.labels)) return duplicateSeriesProblem(family, metric, 'in another group');
    }
    return undefined;
  }

  /**
   * checkMetrics for a packed family, the same checks in the same order, without building its
   * series (a restored store of 1,000,000 series is checked as it is linked after start-up, and a
   * series as an object each cost that in garbage collection): each series' labels are a range of
   * the family's array. Its values are numbers, so each has its value field.
   */
  private checkPlain(groupId: string, ownShape: string | undefined, family: PlainFamily): string | undefined {
    const seen = new SeriesSeen();
    // Another group can hold one of these series only under a key of another shape (or, without keyOf, any group).
    const elsewhere = this.keyOf === undefined || [...this.shapes.values()].some((shape) => shape.id !== ownShape);
    let problem: string | undefined;
    family.forEachSeries((_, labels, from, to) => {
      for (let x = from; x < to && problem === undefined; x++) problem = labelProblem(family, labels[x] as Label);
      if (problem !== undefined) return false;
      if (!seen.add(labels, from, to)) {
        problem = duplicateSeriesProblem(family, { labels: labels.slice(from, to) }, 'in this push');
      } else if (elsewhere) {
        const series = labels.slice(from, to);
        if (this.storedElsewhere(groupId, ownShape, family.name, series)) problem = duplicateSeriesProblem(family, { labels: series }, 'in another group');
      }
      return problem === undefined;
    });
    return problem;
  }

  /** True when a group other than `groupId` stores the series of family `name` with these labels. */
  private storedElsewhere(groupId: string, ownShape: string | undefined, name: string, labels: readonly Label[]): boolean {
    // The series' id is built only for a group that could hold it.
    let id: string | undefined;
    if (this.keyOf === undefined) {
      for (const other of this.groups.keys()) {
        const ids = other === groupId ? undefined : this.idsOf(other, name);
        if (ids?.has((id ??= seriesId(name, labels))) === true) return true;
      }
      return false;
    }
    for (const shape of this.shapes.values()) {
      if (shape.id === ownShape) continue;
      const lookup = lookupId(shape.id, shape.names, labels);
      if (lookup === undefined) continue;
      const other = this.byKey.get(lookup);
      const ids = other === undefined || other === groupId ? undefined : this.idsOf(other, name);
      if (ids?.has((id ??= seriesId(name, labels))) === true) return true;
    }
    return false;
  }

  private idsOf(groupId: string, name: string): Set<string> | undefined {
    const entry = this.groups.get(groupId);
    const family = familyNamed(entry, name);
    if (entry === undefined || family === undefined) return undefined;
    entry.ids ??= new Map();
    let ids = entry.ids.get(name);
    if (ids === undefined) {
      ids = new Set(family.metrics.map((m) => seriesId(name, m.labels)));
      entry.ids.set(name, ids);
    }
    return ids;
  }

  /** Records that a group's family `name` changed from `before` to `after` (either may be absent). */
  replace(groupId: string, before: MetricFamily | undefined, after: MetricFamily | undefined): void {
    if (before !== undefined) this.forget(groupId, before.name);
    if (after !== undefined) {
      this.forget(groupId, after.name);
      const group = this.groups.get(groupId) ?? this.addGroup(groupId);
      group.families.push(after);
      this.series += seriesCount(after);
      const entry = this.names.get(after.name);
      if (entry === undefined) this.names.set(after.name, { type: after.type, groups: 1 });
      else entry.groups++;
    }
  }

  /** Drops a group's indexed family of this name, and the group once it has none. */
  private forget(groupId: string, name: string): void {
    const group = this.groups.get(groupId);
    const family = familyNamed(group, name);
    if (group === undefined || family === undefined) return;
    group.families.splice(group.families.indexOf(family), 1);
    group.ids?.delete(name);
    this.series -= seriesCount(family);
    const entry = this.names.get(name);
    if (entry !== undefined && --entry.groups === 0) this.names.delete(name);
    if (group.families.length > 0) return;
    this.groups.delete(groupId);
    if (group.key === undefined) return;
    const { shapeId, lookup } = keyLookup(group.key);
    this.byKey.delete(lookup);
    const shape = this.shapes.get(shapeId);
    if (shape !== undefined && --shape.count === 0) this.shapes.delete(shapeId);
  }

  private addGroup(groupId: string): GroupEntry {
    const key = this.keyOf?.(groupId);
    const group: GroupEntry = { key, families: [], ids: undefined };
    this.groups.set(groupId, group);
    if (key !== undefined) {
      const { shapeId, names, lookup } = keyLookup(key);
      this.byKey.set(lookup, groupId);
      const shape = this.shapes.get(shapeId);
      if (shape === undefined) this.shapes.set(shapeId, { id: shapeId, names, count: 1 });
      else shape.count++;
    }
    return group;
  }

  /** Type of a stored family name (for the scrape header). */
  typeOf(name: string): MetricType | undefined {
    return this.names.get(name)?.type;
  }

  get seriesCount(): number {
    return this.series;
  }
}

/** What is wrong with a pushed series' label, if anything. */
function labelProblem(family: MetricFamily, label: Label): string | undefined {
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
  return undefined;
}

function checkValueField(family: MetricFamily, metric: MetricFamily['metrics'][number]): string | undefined {
  return hasValueField(family.type, metric) ? undefined : `metric ${JSON.stringify(family.name)} has no value of its family's type ${family.type.toUpperCase()}`;
}

function hasValueField(type: MetricType, metric: MetricFamily['metrics'][number]): boolean {
  switch (type) {
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
}

/**
 * The series of one pushed family, for the duplicate check: kept by a hash of their labels and
 * compared label by label only when two hashes meet. A string id per series (seriesId) made a
 * fifth of what a push of 5,000 series allocated.
 */
class SeriesSeen {
  /** Each series added: its labels are labels[k][from[k]] up to labels[k][to[k]] (a range, so a packed family's series need no array each). */
  private readonly labels: (readonly Label[])[] = [];
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  /** Hash → the first series with it. */
  private readonly first = new Map<number, number>();
  /** Series whose hash met another's with different labels (rare). */
  private more: Map<number, number[]> | undefined;

  /** Adds a series by its labels (labels[from] up to labels[to]); false when the family already had one with the same labels. */
  add(labels: readonly Label[], from: number, to: number): boolean {
    const hash = labelsHash(labels, from, to);
    const first = this.first.get(hash);
    if (first === undefined) {
      this.first.set(hash, this.keep(labels, from, to));
      return true;
    }
    if (this.same(first, labels, from, to)) return false;
    this.more ??= new Map();
    const more = this.more.get(hash);
    if (more === undefined) {
      this.more.set(hash, [this.keep(labels, from, to)]);
      return true;
    }
    if (more.some((other) => this.same(other, labels, from, to))) return false;
    more.push(this.keep(labels, from, to));
    return true;
  }

  private keep(labels: readonly Label[], from: number, to: number): number {
    this.labels.push(labels);
    this.from.push(from);
    this.to.push(to);
    return this.labels.length - 1;
  }

  /** Whether series k has these labels. */
  private same(k: number, labels: readonly Label[], from: number, to: number): boolean {
    const kept = this.labels[k] as readonly Label[];
    let x = this.from[k] as number;
    if ((this.to[k] as number) - x !== to - from) return false;
    for (let y = from; y < to; x++, y++) {
      const a = kept[x] as Label;
      const b = labels[y] as Label;
      if (a !== b && (a.name !== b.name || a.value !== b.value)) return false;
    }
    return true;
  }
}

// FNV-1a over the UTF-16 code units; the separators lie outside them.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const NAME_END = 0x10000;
const VALUE_END = 0x10001;

export function labelsHash(labels: readonly Label[], from = 0, to = labels.length): number {
  let h = FNV_OFFSET;
  for (let x = from; x < to; x++) {
    const label = labels[x] as Label;
    h = Math.imul(hashText(h, label.name) ^ NAME_END, FNV_PRIME);
    h = Math.imul(hashText(h, label.value) ^ VALUE_END, FNV_PRIME);
  }
  // A small integer: a map keyed by it keeps no number objects.
  return h & 0x3fffffff;
}

function hashText(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

function shapeOf(key: GroupingKey): string {
  return JSON.stringify(key.labels.map((l) => l.name));
}

function keyLookup(key: GroupingKey): { shapeId: string; names: readonly string[]; lookup: string } {
  const names = key.labels.map((l) => l.name);
  const shapeId = shapeOf(key);
  return { shapeId, names, lookup: lookupId(shapeId, names, key.labels) ?? '' };
}
