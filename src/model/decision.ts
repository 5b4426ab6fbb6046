import type { GroupingKey } from './grouping-key.js';
import type { OwnerRef } from './owner.js';
import type { DeletionReason } from './policy.js';

interface DecisionBase {
  readonly groupKey: GroupingKey;
  /** The group's owner after this pass (the loop records it when `ownerChanged`). */
  readonly owner: OwnerRef | undefined;
  readonly ownerChanged: boolean;
}

/** The value a lifecycle pass produces for each group; the loop turns it into effects. */
export type Decision =
  | (DecisionBase & {
      readonly action: 'keep';
      /** When this group should be looked at again (a ttl runs out, a schedule comes due). */
      readonly notBefore?: number;
      /** The owner was deleted with deletion policy `Orphan`: `owner` is now the group's namespace. */
      readonly orphanedFrom?: OwnerRef;
    })
  | (DecisionBase & {
      readonly action: 'delete';
      readonly reason: DeletionReason;
      /** The object the deletion is about (the deleted owner, the namespace, or the live owner): its Event goes there. */
      readonly subject: OwnerRef | undefined;
      /** The object whose deletion this follows from; the loop asks the API server that it is gone first. */
      readonly gone?: OwnerRef;
      /** The group's last push time the decision was made for; a newer push cancels it. */
      readonly lastPushAt: number;
      /** When set, delete only then: the group's last push has not been scraped yet (grace). */
      readonly notBefore?: number;
    });
