import { PUSH_FAILURE_TIME_METRIC, PUSH_TIME_METRIC, type GroupingKey, type MetricFamily, type PushMethod } from '../model/index.js';
import { sanitizeFamily } from './sanitize.js';
import type { SharedText } from './shared-text.js';

/**
 * What a push means, by the Pushgateway's rules, decided once for both stores (the embedded
 * store in local-store.ts, the Redis store through redis/codec.ts and its push script):
 *
 * - Pushed metrics must not carry timestamps: such a push is refused as a whole.
 * - Every family's labels are sanitised (grouping labels forced on, `instance=""` added).
 * - A pushed `push_time_seconds` is ignored: the store sets it to the time of the push.
 * - A pushed `push_failure_time_seconds` is not stored as a family: its value, when finite, is the
 *   failure time of a group that already exists (a new group starts with none).
 * - PUT replaces every family of the group, POST only the families it names.
 */

export type NormalisedPush =
  | { readonly refused: string }
  | {
      readonly refused?: undefined;
      /** Sanitised, in push order, without the two push-time families. */
      readonly families: readonly MetricFamily[];
      /** The pushed `push_failure_time_seconds` (ms), when finite. */
      readonly failureTimeMs: number | undefined;
    };

/** `shared`: the embedded store's copies of repeated names, help and labels (shared-text.ts). */
export function normalisePush(key: GroupingKey, pushed: readonly MetricFamily[], shared?: SharedText): NormalisedPush {
  if (pushed.some((f) => f.metrics.some((m) => m.timestampMs !== undefined))) return { refused: 'pushed metrics must not have timestamps' };
  const families: MetricFamily[] = [];
  let failureTimeMs: number | undefined;
  for (const family of pushed) {
    if (family.name === PUSH_TIME_METRIC) continue;
    const sanitized = sanitizeFamily(family, key, shared);
    if (family.name === PUSH_FAILURE_TIME_METRIC) {
      // Only a time the stores (JSON, Redis strings) and the APIs can hold: NaN and ±Inf keep the stored one.
      const ms = (sanitized.metrics[0]?.value ?? 0) * 1000;
      if (Number.isFinite(ms)) failureTimeMs = ms;
      continue;
    }
    families.push(sanitized);
  }
  return { families, failureTimeMs };
}

/** A group's failure time after an accepted push: `stored` is undefined for a new group. */
export function failureTimeAfterPush(stored: number | undefined, pushed: number | undefined): number {
  return stored === undefined ? 0 : (pushed ?? stored);
}

/**
 * A group's families after a push of `pushed` (by name) over `stored` (undefined: a new group),
 * and the names the push changed.
 */
export function mergePushed<T>(
  method: PushMethod,
  stored: ReadonlyMap<string, T> | undefined,
  pushed: Iterable<readonly [string, T]>,
): { readonly next: Map<string, T>; readonly changed: Set<string> } {
  const next = new Map<string, T>(method === 'PUT' || stored === undefined ? [] : stored);
  const changed = new Set<string>();
  for (const [name, value] of pushed) {
    next.set(name, value);
    changed.add(name);
  }
  return { next, changed };
}
