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

const byName = (a: Label, b: Label): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The Pushgateway's label merging: grouping labels are forced onto every metric (overwriting a
 * body label of the same name), `instance=""` is added when the metric has no instance, and the
 * labels are sorted by name.
 */
export function sanitizeLabels(labels: readonly Label[], key: GroupingKey): Label[] {
  const merged = new Map<string, string>();
  for (const label of labels) merged.set(label.name, label.value);
  for (const label of key.labels) merged.set(label.name, label.value);
  if (!merged.has('instance')) merged.set('instance', '');
  return [...merged].map(([name, value]) => ({ name, value })).sort(byName);
}

export function sanitizeFamily(family: MetricFamily, key: GroupingKey): MetricFamily {
  return {
    ...family,
    metrics: family.metrics.map((metric): Metric => ({ ...metric, labels: sanitizeLabels(metric.labels, key) })),
  };
}

function metaGauge(name: string, help: string, key: GroupingKey, valueMs: number): MetricFamily {
  return {
    name,
    help,
    type: 'gauge',
    metrics: [{ labels: sanitizeLabels([], key), value: valueMs / 1000 }],
  };
}

/** `push_time_seconds` and `push_failure_time_seconds` of a group. */
export function metaFamilies(key: GroupingKey, lastPushAt: number, lastFailureAt: number): MetricFamily[] {
  return [
    metaGauge(PUSH_TIME_METRIC, PUSH_TIME_HELP, key, lastPushAt),
    metaGauge(PUSH_FAILURE_TIME_METRIC, PUSH_FAILURE_TIME_HELP, key, lastFailureAt),
  ];
}

export function isMetaFamily(name: string): boolean {
  return name === PUSH_TIME_METRIC || name === PUSH_FAILURE_TIME_METRIC;
}

/** Identity of one series for the duplicate check: name plus sorted label pairs. */
export function seriesId(name: string, labels: readonly Label[]): string {
  let id = name;
  for (const label of labels) id += `\xff${label.name}\xfe${label.value}`;
  return id;
}

const LEGACY_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * The scrape's name escaping (`escaping=underscores`, as the newest upstream negotiates by
 * default): a name that is not a legacy Prometheus name has each character that is not allowed
 * there replaced by `_`. Applies to metric and label names (protobuf pushes can carry such names).
 */
export function escapeName(name: string): string {
  if (LEGACY_NAME.test(name)) return name;
  let out = '';
  let i = 0;
  for (const ch of name) {
    const ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_' || ch === ':' || (ch >= '0' && ch <= '9' && i > 0);
    out += ok ? ch : '_';
    i++;
  }
  return out;
}

/** The family as a scrape shows it: names escaped where needed. */
export function escapeFamily(family: MetricFamily): MetricFamily {
  const needs = !LEGACY_NAME.test(family.name) || family.metrics.some((m) => m.labels.some((l) => !LEGACY_NAME.test(l.name)));
  if (!needs) return family;
  return {
    ...family,
    name: escapeName(family.name),
    metrics: family.metrics.map((m) => ({ ...m, labels: m.labels.map((l) => ({ name: escapeName(l.name), value: l.value })) })),
  };
}
