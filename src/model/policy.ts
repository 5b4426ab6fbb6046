import type { GroupingKey } from './grouping-key.js';
import type { OwnerRef } from './owner.js';

/** Why a group is deleted. The same strings appear in logs, Events and the `reason` metric label. */
export type DeletionReason =
  | 'job-deleted'
  | 'cronjob-run-superseded'
  | 'cronjob-deleted'
  | 'namespace-deleted'
  | 'metricsgroup-deleted'
  | 'ttl-expired'
  | 'keep-last-exceeded'
  | 'api-delete'
  | 'wipe';

export const DELETION_REASONS: readonly DeletionReason[] = [
  'job-deleted',
  'cronjob-run-superseded',
  'cronjob-deleted',
  'namespace-deleted',
  'metricsgroup-deleted',
  'ttl-expired',
  'keep-last-exceeded',
  'api-delete',
  'wipe',
];

/** What an owner's deletion does to its groups: delete them, or leave them to their namespace. */
export type DeletionPolicy = 'Delete' | 'Orphan';

/**
 * When an owned group is deleted. Every field can be set by a flag (the defaults), a `lethe.dev/`
 * annotation on the Job or CronJob, or a MetricsGroup spec; precedence flag < annotation < spec.
 */
export interface Policy {
  /** Delete a group that has not been pushed for this long (ms); 0 = never. */
  readonly ttlMs: number;
  /** Keep only the N most recently pushed groups of one owner (a CronJob's runs count as one); 0 = all. */
  readonly keepLast: number;
  /** Wait at most this long after a group's last push for Prometheus to scrape it before deleting it (ms). */
  readonly maxGraceMs: number;
  /** What the owner's deletion does: `Delete` its groups, or `Orphan` them (they stay, owned by their namespace). */
  readonly deletionPolicy: DeletionPolicy;
  /** A CronJob run's groups outlive its Job until a newer run of the CronJob has pushed. */
  readonly keepUntilSuperseded: boolean;
  /**
   * How long after a scheduled run its push may arrive before the group is overdue (ms);
   * 0 = by the next scheduled run.
   */
  readonly overdueAfterMs: number;
}

/** A partial policy: one layer of precedence (annotations, a MetricsGroup spec). */
export type PolicyOverrides = { readonly [K in keyof Policy]?: Policy[K] };

export const defaultPolicy: Policy = {
  ttlMs: 0,
  keepLast: 0,
  maxGraceMs: 5 * 60_000,
  deletionPolicy: 'Delete',
  keepUntilSuperseded: true,
  overdueAfterMs: 0,
};

/** Applies layers of overrides over a base, later layers winning field by field. */
export function mergePolicy(base: Policy, ...layers: readonly (PolicyOverrides | undefined)[]): Policy {
  let merged: Policy = base;
  for (const layer of layers) {
    if (layer !== undefined) merged = { ...merged, ...layer };
  }
  return merged;
}

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
