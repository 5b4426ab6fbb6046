import { NAMESPACE, isKind, type GroupView, type OwnerRef } from '../model/index.js';

/**
 * PURE: owner lineages — the groups that count together for keepLast, "superseded" and overdue.
 * The runs of one schedule are one lineage (keyed by the schedule's UID, or by its schedule key),
 * any other owner is a lineage of its own. Within a lineage, groups are counted by run: every
 * group one run pushed (one per completion index of an Indexed Job, say) has that run's rank.
 */

export interface LineageMember {
  readonly group: GroupView;
  /** The group's owner after this pass. */
  readonly owner: OwnerRef;
  /**
   * The run the group belongs to (a run's UID), or the group's key id when it has none (a key id
   * holds `\xff` separators, so it never equals a UID).
   */
  readonly run: string;
}

const byPushThenKey = (a: LineageMember, b: LineageMember): number =>
  b.group.lastPushAt - a.group.lastPushAt || (a.group.key.id < b.group.key.id ? -1 : a.group.key.id > b.group.key.id ? 1 : 0);

/** Groups sharing an owner lineage, newest push first. */
export class LineageIndex {
  private readonly byLineage = new Map<string, LineageMember[]>();
  private readonly rankOf = new Map<string, number>();

  add(group: GroupView, owner: OwnerRef | undefined, run: string): void {
    const id = lineageId(owner);
    if (id === undefined || owner === undefined) return;
    const list = this.byLineage.get(id);
    if (list === undefined) this.byLineage.set(id, [{ group, owner, run }]);
    else list.push({ group, owner, run });
  }

  /** Call once after every add: ranks the runs of each lineage by their newest push. */
  seal(): void {
    for (const list of this.byLineage.values()) {
      // A lineage of one group: rank 0, the default.
      if (list.length === 1) continue;
      list.sort(byPushThenKey);
      const runRank = new Map<string, number>();
      for (const m of list) {
        let rank = runRank.get(m.run);
        if (rank === undefined) {
          rank = runRank.size;
          runRank.set(m.run, rank);
        }
        this.rankOf.set(m.group.key.id, rank);
      }
    }
  }

  /** 0 for the groups of the most recently pushed run of their lineage, 1 for the next run's, … */
  rank(group: GroupView): number {
    return this.rankOf.get(group.key.id) ?? 0;
  }

  members(id: string): readonly LineageMember[] {
    return this.byLineage.get(id) ?? [];
  }
}

/** The lineage of an owner's groups: its schedule's (UID, or schedule key), else its own UID; none for a namespace. */
export function lineageId(owner: OwnerRef | undefined): string | undefined {
  if (owner === undefined || isKind(owner, NAMESPACE)) return undefined;
  if (owner.schedule !== undefined) return owner.schedule.uid;
  if (owner.scheduleKey !== undefined) return `schedule-key:${owner.namespace}/${owner.scheduleKey}`;
  return owner.uid;
}
