import type { Metric, MetricFamily, MetricType } from '../model/index.js';

/**
 * The rules of the push-time consistency check that are more than a lookup, and the words of
 * its problems: shared by the embedded store's index (consistency.ts) and the Redis store, whose
 * push script only looks up what is stored and applies the collision types worked out here.
 */

const SUFFIXES = ['_count', '_sum', '_bucket'] as const;

/** A name whose family, once present, may collide with a pushed family's. */
export interface CollisionProbe {
  readonly name: string;
  /** True: `name` is the pushed family's base (`x` of `x_count`); false: a suffixed name next to a pushed histogram or summary. */
  readonly base: boolean;
  /** The types a family named `name` collides with; undefined: any type. */
  readonly collidesWith: readonly MetricType[] | undefined;
}

/**
 * The names a family collides with, in the order they are checked: an `_count` or `_sum` family
 * collides with a histogram or summary of its base name, a `_bucket` family with a histogram; a
 * histogram (summary) collides with any family named after it with `_count`, `_sum` (and `_bucket`).
 */
export function collisionProbes(family: Pick<MetricFamily, 'name' | 'type'>): CollisionProbe[] {
  const { name, type } = family;
  const probes: CollisionProbe[] = [];
  for (const suffix of SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    probes.push({ name: name.slice(0, -suffix.length), base: true, collidesWith: suffix === '_bucket' ? ['histogram'] : ['histogram', 'summary'] });
  }
  if (type === 'summary' || type === 'histogram') {
    for (const suffix of type === 'histogram' ? SUFFIXES : SUFFIXES.slice(0, 2)) probes.push({ name: name + suffix, base: false, collidesWith: undefined });
  }
  return probes;
}

/** Whether a family of type `present` (undefined: none) under the probe's name collides. */
export function collides(probe: CollisionProbe, present: MetricType | undefined): present is MetricType {
  return present !== undefined && (probe.collidesWith === undefined || probe.collidesWith.includes(present));
}

export function collisionProblem(family: Pick<MetricFamily, 'name' | 'type'>, probe: CollisionProbe, present: string): string {
  return probe.base
    ? `metric family ${JSON.stringify(family.name)} collides with the ${present} ${JSON.stringify(probe.name)}`
    : `${family.type} ${JSON.stringify(family.name)} collides with the metric family ${JSON.stringify(probe.name)}`;
}

export function typeConflictProblem(family: Pick<MetricFamily, 'name' | 'type'>, other: string): string {
  return `metric family ${JSON.stringify(family.name)} has type ${family.type.toUpperCase()}, but other stored metrics of that name have type ${other.toUpperCase()}`;
}

export function duplicateSeriesProblem(family: Pick<MetricFamily, 'name'>, metric: Pick<Metric, 'labels'>, where: 'in this push' | 'in another group'): string {
  const labels = metric.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ');
  return `duplicate series: ${family.name}{${labels}} is already stored ${where}`;
}
