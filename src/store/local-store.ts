import { ErrorCode, PayloadTooLargeError } from '../errors.js';
import { decodeProtobufDelimited, encodeFamilyDelimited, type EscapingScheme } from '../exposition/index.js';
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
import type { DeleteOptions, GroupStore, NamespaceUsage, PushRequest, PushResult, TextRendering } from './group-store.js';
import { NamespaceUsageIndex, guardAllows, otherNamespaceError } from './namespaces.js';
import { Journal, readJournal, type GroupRecord, type StoreRecord } from './persistence.js';
import { RenderCache } from './render-cache.js';
import { compactFamily, isMetaFamily, metaFamilies, sanitizeFamily } from './sanitize.js';

export interface StoreEvents {
  /** A group was stored but left out of scrapes because it conflicts (check disabled). */
  readonly onExcluded?: (key: GroupingKey, reason: string) => void;
  readonly onFlush?: (records: number, seconds: number) => void;
  readonly onPersistenceError?: (err: unknown) => void;
}

export interface LocalStoreOptions {
  readonly clock: Clock;
  /** Types of Lethe's own metric families: a pushed family of such a name must match. */
  readonly ownType: OwnTypeLookup;
  readonly consistencyCheck: boolean;
  readonly maxGroups: number;
  /** Empty: memory only. */
  readonly persistenceFile: string;
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
}

/** A change already checked and stored elsewhere (the Redis backend), for a local view to apply. */
export type StoreChange =
  | { readonly op: 'push'; readonly method: PushMethod; readonly key: GroupingKey; readonly families: readonly StoredFamily[]; readonly meta: ChangeMeta }
  | { readonly op: 'meta'; readonly key: GroupingKey; readonly meta: ChangeMeta }
  | { readonly op: 'delete'; readonly key: GroupingKey };

class GroupState implements GroupView {
  data = new Map<string, StoredFamily>();
  lastPushAt = 0;
  lastFailureAt = 0;
  generation = 0;
  scrapedAt: number | undefined = undefined;
  owner: OwnerRef | undefined = undefined;
  excludedReason: string | undefined = undefined;
  meta: MetricFamily[];

  constructor(
    readonly key: GroupingKey,
    public attribution: Attribution,
  ) {
    this.meta = metaFamilies(key, 0, 0);
  }

  refreshMeta(): void {
    this.meta = metaFamilies(this.key, this.lastPushAt, this.lastFailureAt);
  }

  get families(): ReadonlyMap<string, StoredFamily> {
    const all = new Map(this.data);
    const [push, fail] = this.meta;
    if (push !== undefined) all.set(PUSH_TIME_METRIC, { family: push, pushedAt: this.lastPushAt });
    if (fail !== undefined) all.set(PUSH_FAILURE_TIME_METRIC, { family: fail, pushedAt: this.lastFailureAt || this.lastPushAt });
    return all;
  }

  /** Every family including meta, by name, for the consistency check and the caches. */
  allFamilies(): Map<string, MetricFamily> {
    const all = new Map<string, MetricFamily>();
    for (const [name, stored] of this.data) all.set(name, stored.family);
    for (const family of this.meta) all.set(family.name, family);
    return all;
  }
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The embedded store: all groups in memory, every write journaled to the persistence file. */
export class LocalGroupStore implements GroupStore {
  private readonly groups_ = new Map<string, GroupState>();
  private readonly index: ConsistencyIndex;
  private readonly render = new RenderCache();
  private readonly usage = new NamespaceUsageIndex();
  private readonly unscraped = new Set<GroupState>();
  /** Groups kept out of the scrape (only with the consistency check disabled). */
  private readonly excluded = new Set<GroupState>();
  private journal: Journal | undefined;
  private lastCompactedBytes = 0;
  private broken: unknown;
  /** The last push generation handed out; every push (accepted or refused) takes the next one. */
  private generations = 0;

  private constructor(private readonly options: LocalStoreOptions) {
    this.index = new ConsistencyIndex(options.ownType, (id) => this.groups_.get(id)?.key);
  }

  /** Opens the store, restoring the persistence file when there is one. */
  static async open(options: LocalStoreOptions): Promise<LocalGroupStore> {
    const store = new LocalGroupStore(options);
    if (options.persistenceFile !== '') {
      const { records, validBytes } = await readJournal(options.persistenceFile);
      for (const record of records) store.restore(record);
      store.journal = await Journal.open(options.persistenceFile, validBytes, {
        onFlush: (n, s) => options.events?.onFlush?.(n, s),
        onError: (err) => {
          store.broken = err;
          options.events?.onPersistenceError?.(err);
        },
      });
      store.lastCompactedBytes = store.journal.size;
    }
    return store;
  }

  private restore(record: StoreRecord): void {
    const key = groupingKeyOf(Object.fromEntries(record.k));
    const old = this.groups_.get(key.id);
    if (old !== undefined) this.unlink(old);
    if (record.t === 'd') return;
    const state = new GroupState(key, record.attr as Attribution);
    for (const [encoded, pushedAt] of record.f) {
      for (const family of decodeProtobufDelimited(Buffer.from(encoded, 'base64'))) {
        state.data.set(family.name, { family: compactFamily(family, key), pushedAt });
      }
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
    for (const family of all.values()) {
      this.index.replace(state.key.id, undefined, family);
      this.render.set(state.key.id, family);
    }
    this.unscraped.add(state);
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

  push(request: PushRequest): Promise<PushResult> {
    const now = this.options.clock.now();
    const { key } = request;
    const existing = this.groups_.get(key.id);
    if (existing !== undefined && !guardAllows(existing.attribution, request.guard)) return Promise.reject(otherNamespaceError(key));
    if (existing === undefined && this.groups_.size >= this.options.maxGroups) {
      return Promise.reject(
        new PayloadTooLargeError(ErrorCode.tooManyGroups, `limit exceeded: already ${this.groups_.size} groups stored (--limits.groups)`),
      );
    }
    if (request.families.some((f) => f.metrics.some((m) => m.timestampMs !== undefined))) {
      return this.fail(existing, request, now, 'pushed metrics must not have timestamps');
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
    if (written.refused !== undefined) return this.fail(existing, request, now, written.refused);
    const state = written.state;
    return this.persist(state).then(() => ({ ok: true }));
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
        this.readmitExcluded();
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
          return;
        }
        if (existing.lastPushAt !== meta.lastPushAt) existing.scrapedAt = undefined;
        if (existing.lastPushAt !== meta.lastPushAt || existing.lastFailureAt !== meta.lastFailureAt) {
          existing.generation = meta.generation ?? ++this.generations;
        }
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
  private fail(existing: GroupState | undefined, request: PushRequest, now: number, reason: string): Promise<PushResult> {
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
    return this.persist(state).then(() => ({ ok: false, reason }));
  }

  delete(key: GroupingKey, options: DeleteOptions = {}): Promise<boolean> {
    const state = this.groups_.get(key.id);
    if (state === undefined) return Promise.resolve(false);
    if (!guardAllows(state.attribution, options.guard)) return Promise.reject(otherNamespaceError(key));
    if (options.ifGeneration !== undefined && state.generation !== options.ifGeneration) return Promise.resolve(false);
    this.unlink(state);
    this.readmitExcluded();
    const done = this.journal?.append({ t: 'd', k: state.key.labels.map((l) => [l.name, l.value]) }) ?? Promise.resolve();
    return this.afterWrite(done).then(() => true);
  }

  /** With the check disabled, a delete may resolve a conflict: let excluded groups back in. */
  private readmitExcluded(): void {
    for (const state of [...this.excluded]) this.link(state);
  }

  async wipe(): Promise<number> {
    const keys = [...this.groups_.values()].map((s) => s.key);
    await Promise.all(keys.map((k) => this.delete(k)));
    return keys.length;
  }

  setOwner(key: GroupingKey, owner: OwnerRef | undefined): Promise<void> {
    const state = this.groups_.get(key.id);
    if (state === undefined) return Promise.resolve();
    state.owner = owner;
    return this.persist(state);
  }

  private persist(state: GroupState): Promise<void> {
    if (this.journal === undefined) return Promise.resolve();
    return this.afterWrite(this.journal.append(this.record(state)));
  }

  private afterWrite(done: Promise<void>): Promise<void> {
    const journal = this.journal;
    if (journal !== undefined && journal.size > Math.max(64 * 1024 * 1024, 4 * this.lastCompactedBytes)) {
      this.lastCompactedBytes = Number.MAX_SAFE_INTEGER;
      void journal
        .requestCompaction(() => [...this.groups_.values()].map((s) => this.record(s)))
        .then(
          () => {
            this.lastCompactedBytes = journal.size;
          },
          () => {
            this.lastCompactedBytes = journal.size;
          },
        );
    }
    return done;
  }

  private record(state: GroupState): GroupRecord {
    return {
      t: 'g',
      k: state.key.labels.map((l) => [l.name, l.value]),
      f: [...state.data.values()].map((s) => [base64(encodeFamilyDelimited(s.family)), s.pushedAt]),
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

  private markScraped(now: number): void {
    for (const state of this.unscraped) state.scrapedAt = now;
    this.unscraped.clear();
  }

  scrapeText(own: readonly MetricFamily[], now: number, rendering?: TextRendering): string {
    const text = this.render.renderText(own, { ...rendering, now });
    this.markScraped(now);
    return text;
  }

  scrapeProtobuf(own: readonly MetricFamily[], now: number, escaping?: EscapingScheme): Uint8Array[] {
    const parts = this.render.renderProtobuf(own, escaping);
    this.markScraped(now);
    return parts;
  }

  healthy(): boolean {
    return this.broken === undefined;
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }
}
