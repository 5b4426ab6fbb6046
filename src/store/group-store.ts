import type { Attribution, GroupView, GroupingKey, MetricFamily, OwnerRef, PushMethod } from '../model/index.js';

/** A push that passed parsing, ready for the store's consistency check. */
export interface PushRequest {
  readonly key: GroupingKey;
  readonly method: PushMethod;
  /** Parsed families, labels as pushed (the store sanitises them). */
  readonly families: readonly MetricFamily[];
  readonly attribution: Attribution;
}

export type PushResult =
  | { readonly ok: true }
  /** The push was refused by the consistency check; the failure time was recorded. */
  | { readonly ok: false; readonly reason: string };

export type ScrapeFormat = 'text' | 'protobuf';

/**
 * The store port. Gateway and lifecycle use only this; the backend (embedded file store,
 * later Redis) stays hidden behind it. Every write is applied in call order, so a push that
 * is answered 200 implies every earlier delete was applied.
 */
export interface GroupStore {
  /**
   * Applies a push. Resolves when it is durable (with persistence on). A push refused by the
   * consistency check resolves `{ok: false}` after recording the failure time; with the check
   * disabled, conflicting groups are stored but left out of scrapes.
   */
  push(request: PushRequest): Promise<PushResult>;
  /** Deletes a group; a missing group is a no-op. Resolves true when one was deleted, once durable. */
  delete(key: GroupingKey): Promise<boolean>;
  /** Deletes every group stored at this moment; resolves with the count. */
  wipe(): Promise<number>;
  /** Sets the owner of a group (lifecycle); ignored when the group is gone. */
  setOwner(key: GroupingKey, owner: OwnerRef | undefined): Promise<void>;
  get(key: GroupingKey): GroupView | undefined;
  groups(): IterableIterator<GroupView>;
  readonly groupCount: number;
  readonly seriesCount: number;
  /**
   * Renders everything stored merged with `own` (Lethe's own metric families), and marks the
   * groups as scraped at `now`.
   */
  scrapeText(own: readonly MetricFamily[], now: number): string;
  scrapeProtobuf(own: readonly MetricFamily[], now: number): Uint8Array[];
  /** False when the store cannot take writes (e.g. the persistence file failed). */
  healthy(): boolean;
  close(): Promise<void>;
}
