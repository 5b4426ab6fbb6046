import { ErrorCode, PayloadTooLargeError } from '../errors.js';
import type { EscapingScheme } from '../exposition/index.js';
import {
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_METRIC,
  groupingKeyOf,
  type Attribution,
  type Clock,
  type GroupView,
  type GroupingKey,
  type MetricFamily,
  type OwnerRef,
  type PushMethod,
  type StoredFamily,
} from '../model/index.js';
import { ConsistencyIndex, type OwnTypeLookup } from './consistency.js';
import type { DeleteOptions, GroupStore, NamespaceUsage, PushRequest, PushResult, ScrapeToken, StoreHealth, TextRendering, WipeListener } from './group-store.js';
import { GroupState, type GroupSnapshot } from './group-state.js';
import { familyReader, familyRecord } from './family-record.js';
import { Journal, type JournalHooks, type PersistenceFailure } from './journal.js';
import { NamespaceUsageIndex, guardAllows, otherNamespaceError } from './namespaces.js';
import { keepDroppedBytes, readJournal, type GroupRecord, type StoreRecord, type TornTail } from './persistence.js';
import { ReadBarrier } from './read-barrier.js';
import { RenderCache } from './render-cache.js';
import { isMetaFamily, metaFamilies, sanitizeFamily } from './sanitize.js';

export interface StoreEvents {
  /** A group was stored but left out of scrapes because it conflicts (check disabled). */
  readonly onExcluded?: (key: GroupingKey, reason: string) => void;
  readonly onFlush?: (records: number, seconds: number) => void;
  /** Every failed step of writing the persistence file (the metric). */
  readonly onPersistenceError?: (failure: PersistenceFailure) => void;
  /** The persistence file stopped (a failure) or started again (undefined) taking writes. */
  readonly onPersistenceState?: (failure: PersistenceFailure | undefined) => void;
  readonly onCompactionFailed?: (failure: PersistenceFailure) => void;
  readonly onCompacted?: (bytes: number, seconds: number) => void;
  /** Start-up dropped a torn tail; `keptAt` is where its bytes went, or `keepError` why they could not be kept. */
  readonly onDropped?: (tail: TornTail, keptAt: string | undefined, keepError: unknown) => void;
}

export interface LocalStoreOptions {
  readonly clock: Clock;
  /** Types of Lethe's own metric families: a pushed family of such a name must match. */
  readonly ownType: OwnTypeLookup;
  readonly consistencyCheck: boolean;
  readonly maxGroups: number;
  /** Empty: memory only. */
  readonly persistenceFile: string;
  /** While the file cannot be written, how often to try again without a push (ms); 5 s by default. */
  readonly persistenceRetryMs?: number;
  /** The journal is rewritten once it is over this size and four times its size after the last rewrite; 64 MiB by default. */
  readonly compactBytes?: number;
  readonly events?: StoreEvents;
}

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

const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024;

/** A group as it was before a write (undefined: absent), to undo the write. */
type Before = readonly [GroupingKey, GroupSnapshot | undefined];

/**
 * The embedded store: all groups in memory, every write journaled to the persistence file.
 *
 * A write is applied in memory at once and journaled with group commit; it is answered once
 * durable. Until then it is invisible: scrapes and the API read through a barrier (settled())
 * that waits until every write applied so far is durable or undone. A write the disk refuses is
 * undone, with everything applied after it, and refused with a 503.
 */
export class LocalGroupStore implements GroupStore {
  private readonly groups_ = new Map<string, GroupState>();
  private readonly index: ConsistencyIndex;
  private readonly render = new RenderCache();
  private readonly usage = new NamespaceUsageIndex();
  private readonly unscraped = new Set<GroupState>();
  /** Groups kept out of the scrape (only with the consistency check disabled). */
  private readonly excluded = new Set<GroupState>();
  private readonly barrier: ReadBarrier;
  private journal: Journal | undefined;
  private lastCompactedBytes = 0;
  private compacting = false;
  /** The last push generation handed out; every push (accepted or refused) takes the next one. Never reused, also after an undo. */
  private generations = 0;

  private constructor(private readonly options: LocalStoreOptions) {
    this.index = new ConsistencyIndex(options.ownType, (id) => this.groups_.get(id)?.key);
    this.barrier = new ReadBarrier(() => this.journal?.unsettled ?? 0);
  }

  /**
   * Opens the store, restoring the persistence file when there is one. A torn tail is kept
   * beside the file and dropped; a disk that cannot be written (full, failing) does not stop
   * start-up: the store starts failing (health()) and heals by itself.
   */
  static async open(options: LocalStoreOptions): Promise<LocalGroupStore> {
    const store = new LocalGroupStore(options);
    const file = options.persistenceFile;
    if (file === '') return store;
    const loaded = await readJournal(file);
    for (const record of loaded.records) store.restore(record);
    if (loaded.tornTail !== undefined) {
      let keptAt: string | undefined;
      let keepError: unknown;
      try {
        keptAt = await keepDroppedBytes(file, loaded.dropped, options.clock.now());
      } catch (err) {
        keepError = err;
      }
      options.events?.onDropped?.(loaded.tornTail, keptAt, keepError);
    }
    const events = options.events ?? {};
    const hooks: JournalHooks = {
      ...(events.onFlush === undefined ? {} : { onFlush: events.onFlush }),
      ...(events.onPersistenceError === undefined ? {} : { onError: events.onPersistenceError }),
      ...(events.onPersistenceState === undefined ? {} : { onStateChange: events.onPersistenceState }),
      ...(events.onCompactionFailed === undefined ? {} : { onCompactionFailed: events.onCompactionFailed }),
      ...(events.onCompacted === undefined ? {} : { onCompacted: events.onCompacted }),
      onSettled: () => store.barrier.settled(),
    };
    store.journal = await Journal.open({
      file,
      validBytes: loaded.validBytes,
      now: () => options.clock.now(),
      retryMs: options.persistenceRetryMs ?? DEFAULT_RETRY_MS,
      hooks,
    });
    store.lastCompactedBytes = store.journal.size;
    return store;
  }

  private restore(record: StoreRecord): void {
    const key = groupingKeyOf(Object.fromEntries(record.k));
    const old = this.groups_.get(key.id);
    if (old !== undefined) this.unlink(old);
    if (record.t === 'd') return;
    const state = new GroupState(key, record.attr);
    const read = familyReader(key);
    for (const [entry, pushedAt] of record.f) {
      for (const family of read(entry)) state.data.set(family.name, { family, pushedAt });
    }
    state.lastPushAt = record.push;
    state.lastFailureAt = record.fail;
    state.owner = record.owner;
    state.generation = ++this.generations;
    state.refreshMeta();
    this.groups_.set(key.id, state);
    this.usage.track(key.id, state.attribution.namespace, state.data);
    this.link(state);
  }

  /** Adds every family of a group to the index and the caches, or excludes the group. */
  private link(state: GroupState): void {
    const all = state.allFamilies();
    const problem = this.index.check(state.key.id, all, all.keys());
    if (problem !== undefined) {
      this.exclude(state, problem);
      return;
    }
    state.excludedReason = undefined;
    this.excluded.delete(state);
    this.attach(state);
    this.unscraped.add(state);
  }

  /** Adds every family of a group to the index and the caches, unchecked. */
  private attach(state: GroupState): void {
    for (const family of state.allFamilies().values()) {
      this.index.replace(state.key.id, undefined, family);
      this.render.set(state.key.id, family);
    }
  }

  private exclude(state: GroupState, reason: string): void {
    state.excludedReason = reason;
    this.excluded.add(state);
    this.options.events?.onExcluded?.(state.key, reason);
  }

  private unlink(state: GroupState): void {
    this.groups_.delete(state.key.id);
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
      this.render.delete(state.key.id, family.name);
    }
  }

  private before(key: GroupingKey): Before {
    const state = this.groups_.get(key.id);
    return [key, state?.snapshot(this.unscraped.has(state))];
  }

  /**
   * Puts groups back as they were before a write (undo). Writes are undone newest first, so
   * every other group is as it was right after the write: the old state fits in unchecked.
   */
  private undo(befores: readonly Before[]): void {
    for (let i = befores.length - 1; i >= 0; i--) {
      const [key, snapshot] = befores[i] ?? [];
      if (key === undefined) continue;
      const current = this.groups_.get(key.id);
      if (current !== undefined) this.unlink(current);
      if (snapshot === undefined) continue;
      const state = current ?? new GroupState(key, snapshot.attribution);
      state.reset(snapshot);
      this.groups_.set(key.id, state);
      this.usage.track(key.id, state.attribution.namespace, state.data);
      if (state.excludedReason === undefined) this.attach(state);
      else this.excluded.add(state);
      if (snapshot.unscraped) this.unscraped.add(state);
    }
  }

  push(request: PushRequest): Promise<PushResult> {
    return this.barrier.write(() => this.applyPush(request));
  }

  private applyPush(request: PushRequest): Promise<PushResult> {
    const now = this.options.clock.now();
    const { key } = request;
    const existing = this.groups_.get(key.id);
    if (existing !== undefined && !guardAllows(existing.attribution, request.guard)) return Promise.reject(otherNamespaceError(key));
    if (existing === undefined && this.groups_.size >= this.options.maxGroups) {
      return Promise.reject(
        new PayloadTooLargeError(ErrorCode.tooManyGroups, `limit exceeded: already ${this.groups_.size} groups stored (--limits.groups)`),
      );
    }
    const before = this.before(key);
    if (request.families.some((f) => f.metrics.some((m) => m.timestampMs !== undefined))) {
      return this.fail(existing, before, request, now, 'pushed metrics must not have timestamps');
    }
    const next = new Map<string, StoredFamily>(request.method === 'PUT' || existing === undefined ? [] : existing.data);
    const changed = new Set<string>();
    let failureOverride: number | undefined;
    for (const pushed of request.families) {
      if (pushed.name === PUSH_TIME_METRIC) continue;
      const family = sanitizeFamily(pushed, key);
      if (pushed.name === PUSH_FAILURE_TIME_METRIC) {
        // Only a time the journal (JSON) and the APIs can hold: NaN and ±Inf keep the stored one.
        const ms = (family.metrics[0]?.value ?? 0) * 1000;
        if (existing !== undefined && Number.isFinite(ms)) failureOverride = ms;
        continue;
      }
      next.set(family.name, { family, pushedAt: now });
      changed.add(family.name);
    }
    const failAt = failureOverride ?? existing?.lastFailureAt ?? 0;
    const written = this.write(existing, key, request.attribution, next, changed, now, failAt, this.options.consistencyCheck);
    if (written.refused !== undefined) return this.fail(existing, before, request, now, written.refused);
    return this.persist(written.state, [before]).then(() => ({ ok: true }));
  }

  /**
   * Stores a group's new families: checks what changed against everything else, updates the
   * index and the caches, or keeps the group out of the scrape when it conflicts. With `refuse`,
   * a conflict changes nothing and is returned instead.
   */
  private write(
    existing: GroupState | undefined,
    key: GroupingKey,
    attribution: Attribution,
    next: Map<string, StoredFamily>,
    changed: ReadonlySet<string>,
    pushAt: number,
    failAt: number,
    refuse: boolean,
  ): { readonly refused: string; readonly state?: undefined } | { readonly refused?: undefined; readonly state: GroupState } {
    const state = existing ?? new GroupState(key, attribution);
    const candidate = new Map<string, MetricFamily>();
    for (const [name, stored] of next) candidate.set(name, stored.family);
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
    this.groups_.set(key.id, state);
    this.usage.track(key.id, attribution.namespace, next);
    if (problem !== undefined) {
      // Check disabled: keep the group, but out of the scrape (a scrape never fails).
      this.exclude(state, problem);
    } else if (existing === undefined || existing.excludedReason !== undefined) {
      this.link(state);
    } else {
      for (const name of changed) {
        const stored = next.get(name);
        if (stored !== undefined) {
          this.index.replace(key.id, undefined, stored.family);
          this.render.set(key.id, stored.family);
        }
      }
      for (const family of state.meta) this.render.set(key.id, family);
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
    const existing = this.groups_.get(change.key.id);
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
          this.groups_.set(state.key.id, state);
          this.usage.track(state.key.id, meta.attribution.namespace, state.data);
          this.link(state);
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
        if (existing.excludedReason === undefined) for (const family of existing.meta) this.render.set(existing.key.id, family);
        return;
      }
      case 'push': {
        const { meta } = change;
        const next = new Map<string, StoredFamily>(change.method === 'PUT' || existing === undefined ? [] : existing.data);
        const changed = new Set<string>();
        for (const stored of change.families) {
          next.set(stored.family.name, stored);
          changed.add(stored.family.name);
        }
        const written = this.write(existing, change.key, meta.attribution, next, changed, meta.lastPushAt, meta.lastFailureAt, false);
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
        this.render.delete(existing.key.id, name);
      }
    }
  }

  /** A refused push: create the group if missing, record the failure time, change nothing else. */
  private fail(existing: GroupState | undefined, before: Before, request: PushRequest, now: number, reason: string): Promise<PushResult> {
    const state = existing ?? new GroupState(request.key, request.attribution);
    state.lastFailureAt = now;
    state.generation = ++this.generations;
    state.refreshMeta();
    if (existing === undefined) {
      this.groups_.set(state.key.id, state);
      this.usage.track(state.key.id, state.attribution.namespace, state.data);
      this.link(state);
    } else if (state.excludedReason === undefined) {
      for (const family of state.meta) this.render.set(state.key.id, family);
    }
    return this.persist(state, [before]).then(() => ({ ok: false, reason }));
  }

  delete(key: GroupingKey, options: DeleteOptions = {}): Promise<boolean> {
    return this.barrier.write(() => this.applyDelete(key, options));
  }

  private applyDelete(key: GroupingKey, options: DeleteOptions): Promise<boolean> {
    const state = this.groups_.get(key.id);
    if (state === undefined) return Promise.resolve(false);
    if (!guardAllows(state.attribution, options.guard)) return Promise.reject(otherNamespaceError(key));
    if (options.ifGeneration !== undefined && state.generation !== options.ifGeneration) return Promise.resolve(false);
    const befores = [this.before(key)];
    this.unlink(state);
    this.readmitExcluded(befores);
    const record: StoreRecord = { t: 'd', k: state.key.labels.map((l) => [l.name, l.value]) };
    return this.journaled(record, befores).then(() => true);
  }

  /** With the check disabled, a delete may resolve a conflict: let excluded groups back in. */
  private readmitExcluded(befores: Before[]): void {
    for (const state of [...this.excluded]) {
      befores.push(this.before(state.key));
      this.link(state);
    }
  }

  wipe(onDeleted?: WipeListener): Promise<number> {
    return this.barrier.write(async () => {
      let count = 0;
      await Promise.all(
        [...this.groups_.values()].map(async ({ key, owner }) => {
          // Resolves once the deletion is durable: it cannot be undone any more.
          if (!(await this.applyDelete(key, {}))) return;
          count++;
          onDeleted?.(key, owner);
        }),
      );
      return count;
    });
  }

  setOwner(key: GroupingKey, owner: OwnerRef | undefined): Promise<void> {
    return this.barrier.write(() => {
      const state = this.groups_.get(key.id);
      if (state === undefined) return Promise.resolve();
      const before = this.before(key);
      state.owner = owner;
      return this.persist(state, [before]);
    });
  }

  /** Journals a group's state; `befores` undo the write if it cannot be made durable. */
  private persist(state: GroupState, befores: readonly Before[]): Promise<void> {
    return this.journaled(this.record(state), befores);
  }

  private journaled(record: StoreRecord, befores: readonly Before[]): Promise<void> {
    const journal = this.journal;
    if (journal === undefined) return Promise.resolve();
    const done = journal.append(record, () => this.undo(befores));
    this.maybeCompact(journal);
    return done;
  }

  /**
   * Rewrites the journal from memory once it has grown enough. The snapshot is taken now, so it
   * holds exactly the writes queued before the rewrite; the journal rewrites only once all of
   * them are durable (a failure refuses the rewrite with them), so it never holds a refused write.
   */
  private maybeCompact(journal: Journal): void {
    if (this.compacting || journal.failing !== undefined) return;
    if (journal.size <= Math.max(this.options.compactBytes ?? DEFAULT_COMPACT_BYTES, 4 * this.lastCompactedBytes)) return;
    this.compacting = true;
    const done = (): void => {
      this.compacting = false;
      this.lastCompactedBytes = journal.size;
    };
    // A failure is reported by the journal's hooks; the old file stays in use.
    void journal.compact([...this.groups_.values()].map((s) => this.record(s))).then(done, done);
  }

  private record(state: GroupState): GroupRecord {
    return {
      t: 'g',
      k: state.key.labels.map((l) => [l.name, l.value]),
      f: [...state.data.values()].map((s) => [familyRecord(s.family), s.pushedAt]),
      push: state.lastPushAt,
      fail: state.lastFailureAt,
      attr: state.attribution,
      ...(state.owner === undefined ? {} : { owner: state.owner }),
    };
  }

  get(key: GroupingKey): GroupView | undefined {
    return this.groups_.get(key.id);
  }

  groups(): IterableIterator<GroupView> {
    return this.groups_.values();
  }

  get groupCount(): number {
    return this.groups_.size;
  }

  get seriesCount(): number {
    return this.index.seriesCount;
  }

  namespaceUsage(namespace: string): NamespaceUsage {
    return this.usage.usage(namespace);
  }

  get excludedCount(): number {
    return this.excluded.size;
  }

  settled<T>(read: () => T): Promise<T> {
    return this.barrier.read(read);
  }

  /** Sets or clears the scrape mark, keeping the set of served groups no scrape has confirmed. */
  private setScraped(state: GroupState, at: number | undefined): void {
    state.scrapedAt = at;
    if (at === undefined && state.excludedReason === undefined) this.unscraped.add(state);
    else this.unscraped.delete(state);
  }

  scrapeText(own: readonly MetricFamily[], rendering?: TextRendering): string {
    return this.render.renderText(own, { ...rendering, now: this.options.clock.now() });
  }

  scrapeProtobuf(own: readonly MetricFamily[], escaping?: EscapingScheme): Uint8Array[] {
    return this.render.renderProtobuf(own, escaping);
  }

  scrapeToken(): ScrapeToken {
    const groups: { key: GroupingKey; generation: number }[] = [];
    for (const state of this.unscraped) if (state.excludedReason === undefined) groups.push({ key: state.key, generation: state.generation });
    return { groups };
  }

  confirmScraped(token: ScrapeToken, now: number): Promise<void> {
    for (const { key, generation } of token.groups) {
      const state = this.groups_.get(key.id);
      if (state !== undefined && state.generation === generation && state.scrapedAt === undefined) this.setScraped(state, now);
    }
    return Promise.resolve();
  }

  health(): StoreHealth {
    const failure = this.journal?.failing;
    if (failure === undefined) return { writable: true };
    return { writable: false, problem: failure.message, since: failure.since, op: failure.op, code: failure.code };
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }
}
