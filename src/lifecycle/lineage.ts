import type { GroupView, OwnerRef } from '../model/index.js';

/**
 * PURE: owner lineages — the groups that count together for keepLast, "superseded" and overdue
 * (a CronJob's runs are one lineage, keyed by the CronJob's UID).
 */

export interface LineageMember {
  readonly group: GroupView;
  /** The group's owner after this pass. */
  readonly owner: OwnerRef;
}

/** Groups sharing an owner lineage (a CronJob's runs count as one), newest push first. */
export class LineageIndex {
  private readonly byLineage = new Map<string, LineageMember[]>();
  private readonly rankOf = new Map<string, number>();

  add(group: GroupView, owner: OwnerRef | undefined): void {
    const id = lineageId(owner);
    if (id === undefined || owner === undefined) return;
    const list = this.byLineage.get(id);
    if (list === undefined) this.byLineage.set(id, [{ group, owner }]);
    else list.push({ group, owner });
  }

  /** Call once after every add. */
  seal(): void {
    for (const list of this.byLineage.values()) {
      list.sort((a, b) => b.group.lastPushAt - a.group.lastPushAt || (a.group.key.id < b.group.key.id ? -1 : a.group.key.id > b.group.key.id ? 1 : 0));
      list.forEach((m, i) => this.rankOf.set(m.group.key.id, i));
    }
  }

  /** 0 for the most recently pushed group of its lineage. */
  rank(group: GroupView): number {
    return this.rankOf.get(group.key.id) ?? 0;
  }

  members(id: string): readonly LineageMember[] {
    return this.byLineage.get(id) ?? [];
  }

  lineages(): IterableIterator<[string, LineageMember[]]> {
    return this.byLineage.entries();
  }
}

/** Groups of one CronJob (owned by it or by one of its runs) share its UID; others their owner's. */
export function lineageId(owner: OwnerRef | undefined): string | undefined {
  if (owner === undefined || owner.kind === 'Namespace') return undefined;
  return owner.cronJob?.uid ?? owner.uid;
}
