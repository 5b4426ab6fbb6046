import { PlainFamily, seriesCount, type Attribution, type GroupingKey, type MetricFamily, type StoredFamily } from '../model/index.js';
import { ConsistencyIndex, type OwnTypeLookup } from './consistency.js';
import type { NamespaceUsage, ScrapeToken } from './group-store.js';
import { GroupState, type GroupSnapshot } from './group-state.js';
import { NamespaceUsageIndex } from './namespaces.js';
import { mergePushed } from './push-semantics.js';
import { RenderCache } from './render-cache.js';
import { isMetaFamily, metaFamilies } from './sanitize.js';
import type { StoreChange } from './store-change.js';

/** A group as it was before a write (undefined: absent), to undo the write. */
export type Before = readonly [GroupingKey, GroupSnapshot | undefined];

/** A family as the store keeps it: plain ones without an object per series (PlainFamily). */
export function storedPacked(family: MetricFamily, pushedAt: number): StoredFamily {
  return { family: PlainFamily.of(family) ?? family, pushedAt };
}

/** A write of a group's families (GroupTable.write). */
export interface GroupWrite {
  readonly key: GroupingKey;
  /** The attribution of the push. */
  readonly attribution: Attribution;
  /** The group's families after the write. */
  readonly next: Map<string, StoredFamily>;
  /** The names whose families the write changes (the only ones checked while the group is linked). */
  readonly changed: ReadonlySet<string>;
  /** The group's push and failure times after the write (ms). */
  readonly pushAt: number;
  readonly failAt: number;
  /** A conflict refuses the write (changing nothing) instead of keeping the group out of the scrape. */
  readonly refuse: boolean;
  /**
   * The pushed families as pushed, by name (the same series as `next`'s, which may be packed):
   * the check reads these, instead of building a packed family's series again.
   */
  readonly pushed?: ReadonlyMap<string, MetricFamily>;
}

/**
 * The embedded store's groups in memory, and everything kept in step with them: the consistency
 * index, the render cache, the namespace usage, the groups no scrape has confirmed and those
 * kept out of the scrape. Every change goes through here, so the five never disagree; limits,
 * guards and the journal are the store's (local-store.ts).
 *
 * A little over 300 lines: the methods share the five structures as private state, and a split
 * would have to expose them for the halves to keep them in step.
 */
export class GroupTable {
  private readonly groups = new Map<string, GroupState>();
  private readonly index: ConsistencyIndex;
  private readonly renderCache = new RenderCache();
  private readonly usage = new NamespaceUsageIndex();
  private readonly unscraped = new Set<GroupState>();
  /** Groups kept out of the scrape (only with the consistency check disabled). */
  private readonly excluded = new Set<GroupState>();
  /** The last push generation handed out; every push (accepted or refused) takes the next one. Never reused, also after an undo. */
  private generations = 0;
  /** Groups read back at start-up and not linked yet (addRestored), in the order they came, and their series (meta included). */
  private readonly unlinked = new Map<GroupState, number>();
  /** Their series. */
  private unlinkedSeries = 0;

  constructor(
    ownType: OwnTypeLookup,
    /** A group was stored but left out of scrapes because it conflicts (check disabled). */
    private readonly onExcluded?: (key: GroupingKey, reason: string) => void,
    /**
     * A restored group was linked (`series`: its series, meta included; `left`: the series still
     * unlinked). May throw to stop the linking: the group it was told of stays linked.
     */
    private readonly onLinked?: (series: number, left: number) => void,
  ) {
    this.index = new ConsistencyIndex(ownType, (groupId) => this.groups.get(groupId)?.key);
  }

  /** The render cache of the linked groups (every group: a restored one is linked first). */
  get render(): RenderCache {
    this.linkRestored();
    return this.renderCache;
  }

  get(groupId: string): GroupState | undefined {
    return this.groups.get(groupId);
  }

  states(): IterableIterator<GroupState> {
    return this.groups.values();
  }

  get size(): number {
    return this.groups.size;
  }

  get seriesCount(): number {
    return this.index.seriesCount + this.unlinkedSeries;
  }

  get excludedCount(): number {
    this.linkRestored();
    return this.excluded.size;
  }

  namespaceUsage(namespace: string): NamespaceUsage {
    this.linkRestored();
    return this.usage.usage(namespace);
  }

  nextGeneration(): number {
    return ++this.generations;
  }

  /** Adds a group that is not stored yet: to the table, the namespace usage, the index and the caches. */
  add(state: GroupState): void {
    this.linkRestored();
    this.groups.set(state.key.id, state);
    this.usage.track(state.key.id, state.attribution.namespace, state.data);
    this.link(state);
  }

  /**
   * Adds a group read back at start-up (not stored yet) without checking it or adding it to the
   * index, the caches and the namespace usage: start-up only reads the file, and the groups are
   * linked afterwards, in the order they came (linkRestored), as add() would have. Until then
   * they can be read (get, states), counted and unlinked; anything that needs the index or the
   * caches links them all first. `series` counts them without reading families the file holds
   * unread (GroupState.readLater), meta families included.
   */
  addRestored(state: GroupState, series = seriesOf(state)): void {
    this.groups.set(state.key.id, state);
    this.unlinked.set(state, series);
    this.unlinkedSeries += series;
  }

  /** Links up to `max` of the groups addRestored added (all by default); returns how many are left. */
  linkRestored(max = Infinity): number {
    let linked = 0;
    for (const [state, series] of this.unlinked) {
      if (linked++ >= max) break;
      this.unlinked.delete(state);
      this.unlinkedSeries -= series;
      this.usage.track(state.key.id, state.attribution.namespace, state.data);
      this.link(state);
      this.onLinked?.(series, this.unlinkedSeries);
    }
    return this.unlinked.size;
  }

  /** Adds every family of a group to the index and the caches, or excludes the group. */
  private link(state: GroupState): void {
    const all = state.allFamilies();
    const problem = this.index.check(state.key.id, all, all.keys());
    if (problem !== undefined) {
      this.exclude(state, problem);
      return;
    }
    this.linkChecked(state);
  }

  /** Adds every family of a group that passed the check to the index and the caches. */
  private linkChecked(state: GroupState): void {
    state.excludedReason = undefined;
    this.excluded.delete(state);
    this.attach(state);
    this.unscraped.add(state);
  }

  /** Adds every family of a group to the index and the caches, unchecked. */
  private attach(state: GroupState): void {
    for (const family of state.allFamilies().values()) {
      this.index.replace(state.key.id, undefined, family);
      this.renderCache.set(state.key.id, family);
    }
  }

  private exclude(state: GroupState, reason: string): void {
    state.excludedReason = reason;
    this.excluded.add(state);
    this.onExcluded?.(state.key, reason);
  }

  unlink(state: GroupState): void {
    this.groups.delete(state.key.id);
    const series = this.unlinked.get(state);
    if (series !== undefined) {
      this.unlinked.delete(state);
      this.unlinkedSeries -= series;
      return;
    }
    this.usage.remove(state.key.id);
    this.unscraped.delete(state);
    this.excluded.delete(state);
    this.detach(state);
  }

  /** Removes every family of a linked group from the index and the caches. */
  private detach(state: GroupState): void {
    if (state.excludedReason !== undefined) return;
    for (const family of state.allFamilies().values()) {
      this.index.replace(state.key.id, family, undefined);
      this.renderCache.delete(state.key.id, family.name);
    }
  }

  before(key: GroupingKey): Before {
    this.linkRestored();
    const state = this.groups.get(key.id);
    return [key, state?.snapshot(this.unscraped.has(state))];
  }

  /**
   * Puts groups back as they were before a write (undo). Writes are undone newest first, so
   * every other group is as it was right after the write: the old state fits in unchecked.
   */
  undo(befores: readonly Before[]): void {
    this.linkRestored();
    for (let i = befores.length - 1; i >= 0; i--) {
      const [key, snapshot] = befores[i] ?? [];
      if (key === undefined) continue;
      const current = this.groups.get(key.id);
      if (current !== undefined) this.unlink(current);
      if (snapshot === undefined) continue;
      const state = current ?? new GroupState(key, snapshot.attribution);
      state.reset(snapshot);
      this.groups.set(key.id, state);
      this.usage.track(key.id, state.attribution.namespace, state.data);
      if (state.excludedReason === undefined) this.attach(state);
      else this.excluded.add(state);
      if (snapshot.unscraped) this.unscraped.add(state);
    }
  }

  /**
   * Stores a group's new families: checks what changed against everything else, updates the
   * index and the caches, or keeps the group out of the scrape when it conflicts. With `refuse`,
   * a conflict changes nothing and is returned instead.
   */
  write(write: GroupWrite): { readonly refused: string; readonly state?: undefined } | { readonly refused?: undefined; readonly state: GroupState } {
    this.linkRestored();
    const { key, attribution, next, changed, pushAt, failAt, refuse, pushed } = write;
    const existing = this.groups.get(key.id);
    const state = existing ?? new GroupState(key, attribution);
    const candidate = new Map<string, MetricFamily>();
    for (const [name, stored] of next) candidate.set(name, pushed?.get(name) ?? stored.family);
    for (const family of metaFamilies(key, pushAt, failAt)) candidate.set(family.name, family);
    const toCheck = existing === undefined || existing.excludedReason !== undefined ? candidate.keys() : changed;
    const problem = this.index.check(key.id, candidate, toCheck);
    if (problem !== undefined && refuse) return { refused: problem };

    if (existing !== undefined) {
      if (problem === undefined) this.unlinkChanged(existing, next, changed);
      else this.detach(existing);
    }
    state.data = next;
    state.lastPushAt = pushAt;
    state.lastFailureAt = failAt;
    state.generation = ++this.generations;
    state.attribution = attribution;
    state.refreshMeta();
    state.scrapedAt = undefined;
    this.groups.set(key.id, state);
    this.usage.track(key.id, attribution.namespace, next);
    if (problem !== undefined) {
      // Check disabled: keep the group, but out of the scrape (a scrape never fails).
      this.exclude(state, problem);
    } else if (existing === undefined || existing.excludedReason !== undefined) {
      // Checked above, every family (what link() would check again).
      this.linkChecked(state);
    } else {
      for (const name of changed) {
        const stored = next.get(name);
        if (stored !== undefined) {
          this.index.replace(key.id, undefined, stored.family);
          this.renderCache.set(key.id, stored.family);
        }
      }
      for (const family of state.meta) this.renderCache.set(key.id, family);
      this.unscraped.add(state);
    }
    return { state };
  }

  /**
   * Applies a change that another writer already checked and stored (the Redis backend keeps
   * its local view this way): no limit, no journal; a group that conflicts is kept out of the
   * scrape as with the check disabled, so a scrape never fails.
   */
  apply(change: StoreChange): void {
    this.linkRestored();
    const existing = this.groups.get(change.key.id);
    switch (change.op) {
      case 'delete':
        if (existing === undefined) return;
        this.unlink(existing);
        this.readmitExcluded([]);
        return;
      case 'meta': {
        const { meta } = change;
        if (existing === undefined) {
          const state = new GroupState(change.key, meta.attribution);
          state.lastPushAt = meta.lastPushAt;
          state.lastFailureAt = meta.lastFailureAt;
          state.owner = meta.owner;
          state.generation = meta.generation ?? ++this.generations;
          state.refreshMeta();
          this.add(state);
          this.setScraped(state, meta.scrapedAt);
          return;
        }
        const pushed = existing.lastPushAt !== meta.lastPushAt;
        if (pushed || existing.lastFailureAt !== meta.lastFailureAt) {
          existing.generation = meta.generation ?? ++this.generations;
        } else if (meta.generation !== undefined) {
          existing.generation = meta.generation;
        }
        if (meta.generation !== undefined) this.setScraped(existing, meta.scrapedAt);
        else if (pushed) this.setScraped(existing, undefined);
        existing.lastPushAt = meta.lastPushAt;
        existing.lastFailureAt = meta.lastFailureAt;
        existing.attribution = meta.attribution;
        existing.owner = meta.owner;
        existing.refreshMeta();
        this.usage.track(existing.key.id, meta.attribution.namespace, existing.data);
        if (existing.excludedReason === undefined) for (const family of existing.meta) this.renderCache.set(existing.key.id, family);
        return;
      }
      case 'push': {
        const { meta } = change;
        const { next, changed } = mergePushed(
          change.method,
          existing?.data,
          change.families.map(({ family, pushedAt }) => [family.name, storedPacked(family, pushedAt)] as const),
        );
        const written = this.write({
          key: change.key,
          attribution: meta.attribution,
          next,
          changed,
          pushAt: meta.lastPushAt,
          failAt: meta.lastFailureAt,
          refuse: false,
          pushed: new Map(change.families.map(({ family }) => [family.name, family])),
        });
        if (written.state !== undefined) {
          written.state.owner = meta.owner;
          if (meta.generation !== undefined) written.state.generation = meta.generation;
          if (meta.scrapedAt !== undefined) this.setScraped(written.state, meta.scrapedAt);
        }
        return;
      }
    }
  }

  /** Removes from index and caches what a push replaces or (PUT) drops. */
  private unlinkChanged(existing: GroupState, next: Map<string, StoredFamily>, changed: ReadonlySet<string>): void {
    if (existing.excludedReason !== undefined) return;
    const all = existing.allFamilies();
    for (const [name, family] of all) {
      if (isMetaFamily(name)) continue;
      if (changed.has(name) || !next.has(name)) {
        this.index.replace(existing.key.id, family, undefined);
        // A family pushed again is replaced in the render cache by write() (which keeps its place when only values changed).
        if (!next.has(name)) this.renderCache.delete(existing.key.id, name);
      }
    }
  }

  /** With the check disabled, a delete may resolve a conflict: let excluded groups back in. */
  readmitExcluded(befores: Before[]): void {
    this.linkRestored();
    for (const state of [...this.excluded]) {
      befores.push(this.before(state.key));
      this.link(state);
    }
  }

  /** Sets or clears the scrape mark, keeping the set of served groups no scrape has confirmed. */
  setScraped(state: GroupState, at: number | undefined): void {
    this.linkRestored();
    state.scrapedAt = at;
    if (at === undefined && state.excludedReason === undefined) this.unscraped.add(state);
    else this.unscraped.delete(state);
  }

  /** A refused push: create the group if missing, record the failure time, change nothing else. */
  fail(key: GroupingKey, attribution: Attribution, now: number): GroupState {
    this.linkRestored();
    const existing = this.groups.get(key.id);
    const state = existing ?? new GroupState(key, attribution);
    state.lastFailureAt = now;
    state.generation = ++this.generations;
    state.refreshMeta();
    if (existing === undefined) {
      this.add(state);
    } else if (state.excludedReason === undefined) {
      for (const family of state.meta) this.renderCache.set(state.key.id, family);
    }
    return state;
  }

  scrapeToken(): ScrapeToken {
    this.linkRestored();
    const groups: { key: GroupingKey; generation: number }[] = [];
    for (const state of this.unscraped) if (state.excludedReason === undefined) groups.push({ key: state.key, generation: state.generation });
    return { groups };
  }

  confirmScraped(token: ScrapeToken, now: number): void {
    this.linkRestored();
    for (const { key, generation } of token.groups) {
      const state = this.groups.get(key.id);
      if (state !== undefined && state.generation === generation && state.scrapedAt === undefined) this.setScraped(state, now);
    }
  }
}

/** A group's series, meta families included. */
function seriesOf(state: GroupState): number {
  let n = 0;
  for (const stored of state.data.values()) n += seriesCount(stored.family);
  for (const family of state.meta) n += seriesCount(family);
  return n;
}
