import type { GroupingKey } from './grouping-key.js';
import type { MetricFamily } from './metric.js';
import type { Attribution, OwnerRef } from './owner.js';

export const PUSH_TIME_METRIC = 'push_time_seconds';
export const PUSH_FAILURE_TIME_METRIC = 'push_failure_time_seconds';
export const PUSH_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway succeeded.';
export const PUSH_FAILURE_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway failed.';

/** One stored family of a group, with the time of the push that last wrote it. */
export interface StoredFamily {
  readonly family: MetricFamily;
  /** Unix milliseconds of the push that wrote this family. */
  readonly pushedAt: number;
}

/** A read-only view of a stored group, as the store hands it out. */
export interface GroupView {
  readonly key: GroupingKey;
  /** Families by name, including the two meta families. */
  readonly families: ReadonlyMap<string, StoredFamily>;
  /** Unix ms of the last successful push; 0 when the group only saw failures. */
  readonly lastPushAt: number;
  /** Unix ms of the last rejected push; 0 when none. */
  readonly lastFailureAt: number;
  /**
   * Changes with every push to the group, accepted or refused (not with owner changes). A
   * deletion decided on one generation removes the group only while it still has that
   * generation (compare-and-delete), so a push acknowledged after the decision is never deleted.
   */
  readonly generation: number;
  /** Unix ms of the first scrape that saw the latest push; undefined until scraped. */
  readonly scrapedAt: number | undefined;
  readonly attribution: Attribution;
  readonly owner: OwnerRef | undefined;
  /** Set when the group is kept out of the scrape because it conflicts (unchecked mode). */
  readonly excludedReason: string | undefined;
}

export type PushMethod = 'PUT' | 'POST';
