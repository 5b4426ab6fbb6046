import type { Attribution, GroupingKey, OwnerRef, PushMethod, StoredFamily } from '../model/index.js';

/** What another writer changed in a group, with the group's resulting times, attribution and owner. */
export interface ChangeMeta {
  readonly attribution: Attribution;
  readonly lastPushAt: number;
  readonly lastFailureAt: number;
  readonly owner: OwnerRef | undefined;
  /** The writer's push generation of the group, when it keeps one (Redis); else the view numbers pushes itself. */
  readonly generation?: number;
  /**
   * When the writer keeps the scrape mark (Redis): the time a scrape confirmed the group's latest
   * push; absent while none has.
   */
  readonly scrapedAt?: number;
}

/** A change already checked and stored elsewhere (the Redis backend), for a local view to apply. */
export type StoreChange =
  | { readonly op: 'push'; readonly method: PushMethod; readonly key: GroupingKey; readonly families: readonly StoredFamily[]; readonly meta: ChangeMeta }
  | { readonly op: 'meta'; readonly key: GroupingKey; readonly meta: ChangeMeta }
  | { readonly op: 'delete'; readonly key: GroupingKey };
