/** Why a group is deleted. The same strings appear in logs, Events and the `reason` metric label. */
export type DeletionReason =
  | 'job-deleted'
  | 'cronjob-run-superseded'
  | 'cronjob-deleted'
  | 'run-deleted'
  | 'run-superseded'
  | 'schedule-deleted'
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
  'run-deleted',
  'run-superseded',
  'schedule-deleted',
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
 * annotation on the run or its schedule, or a MetricsGroup spec; precedence flag < annotation < spec.
 */
export interface Policy {
  /** Delete a group that has not been pushed for this long (ms); 0 = never. */
  readonly ttlMs: number;
  /**
   * Keep the groups of the N most recently pushed runs of one owner (a schedule's runs count
   * together; every group of one run counts as that run); 0 = all.
   */
  readonly keepLast: number;
  /** Wait at most this long after a group's last push for Prometheus to scrape it before deleting it (ms). */
  readonly maxGraceMs: number;
  /** What the owner's deletion does: `Delete` its groups, or `Orphan` them (they stay, owned by their namespace). */
  readonly deletionPolicy: DeletionPolicy;
  /** A scheduled run's groups outlive the run until a newer run of the same schedule has pushed. */
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

/**
 * The policy an owner sets for its groups, as the lifecycle resolved it from the owner's
 * `lethe.dev/` annotations (a scheduled run: the schedule's, then the run's) or its MetricsGroup
 * spec. It is stored with the group's owner (whose UID it belongs to), so a restart at any moment
 * applies the same policy, also to an owner that is already gone.
 */
export interface OwnerPolicy {
  /** Which layer set it. */
  readonly source: 'annotations' | 'metricsgroup';
  /** The fields it sets (the readable ones, when it is invalid). */
  readonly overrides: PolicyOverrides;
  /**
   * Set while a value could not be read (e.g. `lethe.dev/deletion-policy="orphan": expected Delete
   * or Orphan`): the owner's groups are then held — kept as with `Orphan`, and no ttl or keepLast —
   * rather than decided by defaults the user did not mean. Never more destructive by mistake.
   */
  readonly invalid?: string;
}

/** What an invalid policy holds its groups to: nothing deletes them but their namespace's deletion. */
export const HELD_POLICY: PolicyOverrides = { deletionPolicy: 'Orphan', ttlMs: 0, keepLast: 0 };

/** The policy in force under an owner's: the defaults, its overrides, and the hold when it is invalid. */
export function resolvePolicy(defaults: Policy, owner: OwnerPolicy | undefined, held = false): Policy {
  return mergePolicy(defaults, owner?.overrides, owner?.invalid !== undefined || held ? HELD_POLICY : undefined);
}

const POLICY_FIELDS: readonly (keyof Policy)[] = ['ttlMs', 'keepLast', 'maxGraceMs', 'deletionPolicy', 'keepUntilSuperseded', 'overdueAfterMs'];

/** True when both say the same (field by field; key order does not matter). */
export function sameOwnerPolicy(a: OwnerPolicy | undefined, b: OwnerPolicy | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.source === b.source && a.invalid === b.invalid && POLICY_FIELDS.every((f) => a.overrides[f] === b.overrides[f]);
}

/** Applies layers of overrides over a base, later layers winning field by field. */
export function mergePolicy(base: Policy, ...layers: readonly (PolicyOverrides | undefined)[]): Policy {
  let merged: Policy = base;
  for (const layer of layers) {
    if (layer !== undefined) merged = { ...merged, ...layer };
  }
  return merged;
}
