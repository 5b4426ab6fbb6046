import type { GroupView } from './group.js';
import type { ObjectRef } from './owner.js';
import type { DeletionReason, Policy } from './policy.js';

/**
 * What the lifecycle knows about one stored group, for people: the web page and
 * `/api/v1/groups` show it. The gateway takes it as an optional function. The lifecycle
 * wiring provides it, usually from its latest plan. When it is absent (e.g. before that is
 * wired), the page says that it has no lifecycle information.
 */
export interface GroupInsight {
  /** The policy in force for the group: flag defaults < annotations < MetricsGroup spec. */
  readonly policy: Policy;
  /** Which layer set the policy's last override; absent: the flag defaults alone. */
  readonly policySource?: PolicySource;
  /**
   * Why the owner's policy (an annotation, a MetricsGroup spec) could not be read: the group is
   * then held (kept as with Orphan, no ttl or keepLast) until it is fixed.
   */
  readonly policyInvalid?: string;
  /** Whether the group's owner still exists; absent when the group has no owner or it is unknown. */
  readonly ownerAlive?: boolean;
  /**
   * Why Lethe cannot tell whether the owner or its schedule still exists (its kind is not
   * installed or not readable, or the chain could not be followed): the group is kept until it can.
   */
  readonly ownerUnknown?: string;
  /**
   * The run the group belongs to — its owner when that is a run, else the run whose pod pushed it
   * (keepLast counts these) — with its schedule; absent when it has none (a push from outside a
   * run, a Deployment's pod).
   */
  readonly run?: RunInsight;
  /** Set while the group's run (or its schedule's newest run) waits suspended, e.g. for Kueue admission: not overdue. */
  readonly queued?: { readonly since: number };
  /** The deletion planned for the group, when one is. */
  readonly nextDeletion?: PlannedDeletion;
  /** Set while the group's scheduled push is overdue. */
  readonly overdue?: { readonly since: number };
}

export interface RunInsight extends ObjectRef {
  readonly namespace: string;
  /** Its schedule object, when it has one. */
  readonly schedule?: ObjectRef;
  /** Its `lethe.dev/schedule-key`, when it has one. */
  readonly scheduleKey?: string;
}

export type PolicySource = 'flags' | 'annotations' | 'metricsgroup';

export interface PlannedDeletion {
  readonly reason: DeletionReason;
  /**
   * Unix ms at which the group is deleted, as far as the lifecycle can tell now: a ttl running
   * out, or the end of the grace for a scrape. Use the time of the decision when it is due at once.
   */
  readonly at: number;
}

/** Looks up the insight for one group. It is called once per group and request, so keep it cheap and synchronous. */
export type GroupInsightSource = (group: GroupView) => GroupInsight | undefined;
