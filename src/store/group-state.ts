import {
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_METRIC,
  type Attribution,
  type GroupView,
  type GroupingKey,
  type MetricFamily,
  type OwnerRef,
  type StoredFamily,
} from '../model/index.js';
import { metaFamilies } from './sanitize.js';

/**
 * Everything a write may change about one group, kept so that a write that cannot be made
 * durable is undone exactly. Cheap: a write replaces the families map, it never edits it.
 */
export interface GroupSnapshot {
  readonly attribution: Attribution;
  readonly data: ReadonlyMap<string, StoredFamily>;
  readonly lastPushAt: number;
  readonly lastFailureAt: number;
  readonly generation: number;
  readonly scrapedAt: number | undefined;
  readonly owner: OwnerRef | undefined;
  readonly excludedReason: string | undefined;
  /** Whether the group was waiting for its first scrape. */
  readonly unscraped: boolean;
}

/** One stored group, as the embedded store keeps it in memory. */
export class GroupState implements GroupView {
  #data: Map<string, StoredFamily> | undefined = undefined;
  /** Reads the families restored from the file, when they are first used (readLater). */
  #unread: { read(): Map<string, StoredFamily> } | undefined = undefined;
  lastPushAt = 0;
  lastFailureAt = 0;
  generation = 0;
  scrapedAt: number | undefined = undefined;
  owner: OwnerRef | undefined = undefined;
  excludedReason: string | undefined = undefined;
  #meta: MetricFamily[] | undefined = undefined;
  /** The push and failure times of the last refreshMeta() (two numbers, not a pair: one object less per group). */
  #metaPushAt = 0;
  #metaFailureAt = 0;

  constructor(
    readonly key: GroupingKey,
    public attribution: Attribution,
  ) {}

  /** `push_time_seconds` and `push_failure_time_seconds` as of the last refreshMeta(), made when first used. */
  get meta(): MetricFamily[] {
    this.#meta ??= metaFamilies(this.key, this.#metaPushAt, this.#metaFailureAt);
    return this.#meta;
  }

  /** The group's families but the meta ones, by name (read from the file first if they were not yet). */
  get data(): Map<string, StoredFamily> {
    const unread = this.#unread;
    if (unread !== undefined) {
      // Read before it is forgotten: families that cannot be read fail every use, never look empty.
      this.#data = unread.read();
      this.#unread = undefined;
    }
    this.#data ??= new Map();
    return this.#data;
  }

  set data(data: Map<string, StoredFamily>) {
    this.#unread = undefined;
    this.#data = data;
  }

  /** The families are `read()` when first used (a group restored at start-up). */
  readLater(families: { read(): Map<string, StoredFamily> }): void {
    this.#unread = families;
  }

  refreshMeta(): void {
    this.#metaPushAt = this.lastPushAt;
    this.#metaFailureAt = this.lastFailureAt;
    this.#meta = undefined;
  }

  get families(): ReadonlyMap<string, StoredFamily> {
    const all = new Map(this.data);
    const [push, fail] = this.meta;
    if (push !== undefined) all.set(PUSH_TIME_METRIC, { family: push, pushedAt: this.lastPushAt });
    if (fail !== undefined) all.set(PUSH_FAILURE_TIME_METRIC, { family: fail, pushedAt: this.lastFailureAt || this.lastPushAt });
    return all;
  }

  /** Every family including meta, by name, for the consistency check and the caches. */
  allFamilies(): Map<string, MetricFamily> {
    const all = new Map<string, MetricFamily>();
    for (const [name, stored] of this.data) all.set(name, stored.family);
    for (const family of this.meta) all.set(family.name, family);
    return all;
  }

  snapshot(unscraped: boolean): GroupSnapshot {
    return {
      attribution: this.attribution,
      data: this.data,
      lastPushAt: this.lastPushAt,
      lastFailureAt: this.lastFailureAt,
      generation: this.generation,
      scrapedAt: this.scrapedAt,
      owner: this.owner,
      excludedReason: this.excludedReason,
      unscraped,
    };
  }

  /** Takes a snapshot's values back (the caller re-links the group into the indexes). */
  reset(snapshot: GroupSnapshot): void {
    this.attribution = snapshot.attribution;
    this.data = new Map(snapshot.data);
    this.lastPushAt = snapshot.lastPushAt;
    this.lastFailureAt = snapshot.lastFailureAt;
    this.generation = snapshot.generation;
    this.scrapedAt = snapshot.scrapedAt;
    this.owner = snapshot.owner;
    this.excludedReason = snapshot.excludedReason;
    this.refreshMeta();
  }
}
