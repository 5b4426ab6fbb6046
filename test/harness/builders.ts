import type { Label, Metric, MetricFamily, MetricType } from '../../src/model/index.js';
import { parseGroupingKey, unattributed, type GroupingKey } from '../../src/model/index.js';
import type { PushRequest } from '../../src/store/index.js';

/** Builders with valid defaults that modifiers adjust (STYLE.md "Object builders"). */

export function labels(obj: Readonly<Record<string, string>> = {}): Label[] {
  return Object.entries(obj).map(([name, value]) => ({ name, value }));
}

export function sample(value: number, labelObj: Readonly<Record<string, string>> = {}, extra: Partial<Metric> = {}): Metric {
  return { labels: labels(labelObj), value, ...extra };
}

export function family(name: string, type: MetricType = 'gauge', metrics: Metric[] = [sample(1)], help?: string): MetricFamily {
  return { name, type, metrics, ...(help === undefined ? {} : { help }) };
}

/** A grouping key from a URL-like path tail: key('j', '/a/1'). */
export function key(job: string, rest = ''): GroupingKey {
  return parseGroupingKey(job, false, rest);
}

/** A PUT of these families to the group, unattributed (as a store sees it). */
export function put(k: GroupingKey, ...families: MetricFamily[]): PushRequest {
  return { key: k, method: 'PUT', families, attribution: unattributed };
}

/** A POST of these families to the group, unattributed. */
export function post(k: GroupingKey, ...families: MetricFamily[]): PushRequest {
  return { key: k, method: 'POST', families, attribution: unattributed };
}

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
