import { ErrorCode, PayloadTooLargeError } from '../errors.js';
import type { EscapingScheme } from '../exposition/index.js';
import { groupingKeyOfPairs, seriesCount, unattributed, type Attribution, type GroupView, type GroupingKey, type MetricFamily, type OwnerRef, type StoredFamily } from '../model/index.js';
import type { DeleteOptions, GroupStore, NamespaceUsage, PushRequest, PushResult, ScrapeToken, StoreHealth, TextPiece, TextRendering, WipeListener } from './group-store.js';
import { familyReader, familyRecord } from './family-record.js';
import { GroupState } from './group-state.js';
import { GroupTable, storedPacked, type Before } from './group-table.js';
import { Journal, type JournalHooks } from './journal.js';
import type { LocalStoreOptions } from './local-store-options.js';
import { guardAllows, otherNamespaceError } from './namespaces.js';
import { damagedFile, isUnread, keepDroppedBytes, readJournal, type GroupRecord, type ReadRecord, type StoreRecord, type UnreadFamilies } from './persistence.js';
import { failureTimeAfterPush, mergePushed, normalisePush } from './push-semantics.js';
import { ReadBarrier } from './read-barrier.js';
import { SharedText } from './shared-text.js';
import type { StoreChange } from './store-change.js';

const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024;
/** The series of a group's meta families (push_time_seconds, push_failure_time_seconds). */
const META_SERIES = 2;
/**
 * Restored groups are linked after start-up in turns of the event loop this long at most (a
 * request arriving meanwhile takes a few turns to be read and answered; in turns of 256 groups,
 * 15-25 ms each while the code was still cold, a readiness probe waited 60-70 ms)...
 */
const LINK_TURN_MS = 3;
/** ...checking the time every this many groups. */
const GROUPS_LINKED_PER_CHECK = 16;
/** How often linking tells restoreFits: after this many series or groups (a reading of V8's heap costs about 0.3 µs). */
const RESTORE_CHECK_SERIES = 5_000;
const RESTORE_CHECK_GROUPS = 16;

/** What reading a restored group's families needs, the same for every group. */
interface Restoring {
  readonly file: string;
  readonly shared: SharedText;
  readonly onDamaged: ((error: unknown) => void) | undefined;
}

/** A record's families as the store keeps them. */
function restoredFamilies(key: GroupingKey, shared: SharedText, entries: GroupRecord['f']): Map<string, StoredFamily> {
  const read = familyReader(key, shared);
  const data = new Map<string, StoredFamily>();
  for (const [entry, pushedAt] of entries) {
    for (const family of read(entry)) data.set(family.name, { family, pushedAt });
  }
  return data;
}

/** A restored group's families, read from the file when first used (one object per group: start-up makes one for every group). */
class FamiliesInFile {
  constructor(
    private readonly families: UnreadFamilies,
    private readonly key: GroupingKey,
    private readonly restoring: Restoring,
  ) {}

  read(): Map<string, StoredFamily> {
    const { file, shared, onDamaged } = this.restoring;
    try {
      const k = this.key.labels.map((label): [string, string] => [label.name, label.value]);
      return restoredFamilies(this.key, shared, this.families.read(k));
    } catch (err) {
      // Damage found after start-up stops Lethe as it would have stopped start-up, whichever use found it.
      const error = damagedFile(file, err);
      onDamaged?.(error);
      throw error;
    }
  }
}

/**
 * The embedded store: all groups in memory, every write journaled to the persistence file.
 *
 * A write is applied in memory at once and journaled with group commit; it is answered once
 * durable. Until then it is invisible: scrapes and the API read through a barrier (settled())
 * that waits until every write applied so far is durable or undone. A write the disk refuses is
 * undone, with everything applied after it, and refused with a 503.
 */
export class LocalGroupStore implements GroupStore {
  private readonly table: GroupTable;
  private readonly barrier: ReadBarrier;
  private journal: Journal | undefined;
  private lastCompactedBytes = 0;
  private compacting = false;
  /** What many groups repeat (names, help, body labels), kept once. */
  private readonly shared = new SharedText();
  /** Set by the first restored record whose families are left unread. */
  private restoring: Restoring | undefined;

  private constructor(private readonly options: LocalStoreOptions) {
    const onExcluded = options.events?.onExcluded;
    this.table = new GroupTable(options.ownType, onExcluded === undefined ? undefined : (key, reason) => onExcluded(key, reason), this.linkedOne());
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
    const loaded = await readJournal(file, (record) => store.restore(record, file));
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
    store.linkRestoredInBackground();
    return store;
  }

  /** Counts the restored groups as they are linked, for restoreFits: told every RESTORE_CHECK_SERIES series or RESTORE_CHECK_GROUPS groups. */
  private linkedOne(): ((series: number, left: number) => void) | undefined {
    const fits = this.options.restoreFits;
    if (fits === undefined) return undefined;
    let linked = 0;
    let sinceSeries = 0;
    let sinceGroups = 0;
    return (series, left) => {
      linked += series;
      sinceSeries += series;
      if (++sinceGroups < RESTORE_CHECK_GROUPS && sinceSeries < RESTORE_CHECK_SERIES && left > 0) return;
      sinceSeries = 0;
      sinceGroups = 0;
      fits(linked, linked + left);
    };
  }

  /**
   * Checks the restored groups and adds them to the index and the caches a few at a time between
   * other work, once the store is open: start-up does not wait for it (at 100,000 series it took
   * as long as reading the file). A request that needs them meanwhile links the rest first.
   */
  private linkRestoredInBackground(): void {
    const step = (): void => {
      const until = performance.now() + LINK_TURN_MS;
      let left: number;
      do left = this.table.linkRestored(GROUPS_LINKED_PER_CHECK);
      while (left > 0 && performance.now() < until);
      if (left > 0) setImmediate(step).unref();
    };
    setImmediate(step).unref();
  }

  private restore(record: ReadRecord, file: string): void {
    const key = groupingKeyOfPairs(record.k);
    const old = this.table.get(key.id);
    if (old !== undefined) this.table.unlink(old);
    if (record.t === 'd') return;
    // Standalone groups are all unattributed: one object for all of them.
    const attribution = record.attr.source === 'none' && Object.keys(record.attr).length === 1 ? unattributed : record.attr;
    const state = new GroupState(key, attribution);
    let series: number | undefined;
    if (isUnread(record)) {
      this.restoring ??= { file, shared: this.shared, onDamaged: this.options.events?.onDamaged };
      state.readLater(new FamiliesInFile(record.f, key, this.restoring));
      series = record.n;
    } else {
      state.data = restoredFamilies(key, this.shared, record.f);
    }
    state.lastPushAt = record.push;
    state.lastFailureAt = record.fail;
    state.owner = record.owner;
    state.generation = this.table.nextGeneration();
    state.refreshMeta();
    this.table.addRestored(state, series === undefined ? undefined : series + META_SERIES);
  }

  push(request: PushRequest): Promise<PushResult> {
    return this.barrier.write(() => this.applyPush(request));
  }

  private applyPush(request: PushRequest): Promise<PushResult> {
    const now = this.options.clock.now();
    const { key } = request;
    const existing = this.table.get(key.id);
    if (existing !== undefined && !guardAllows(existing.attribution, request.guard)) return Promise.reject(otherNamespaceError(key));
    if (existing === undefined && this.table.size >= this.options.maxGroups) {
      return Promise.reject(
        new PayloadTooLargeError(ErrorCode.tooManyGroups, `limit exceeded: already ${this.table.size} groups stored (--limits.groups)`),
      );
    }
    const before = this.table.before(key);
    const pushed = normalisePush(key, request.families, this.shared);
    if (pushed.refused !== undefined) return this.fail(request, before, now, pushed.refused);
    const { next, changed } = mergePushed(
      request.method,
      existing?.data,
      pushed.families.map((family) => [family.name, storedPacked(family, now)] as const),
    );
    const failAt = failureTimeAfterPush(existing?.lastFailureAt, pushed.failureTimeMs);
    const written = this.table.write({
      key,
      attribution: request.attribution,
      next,
      changed,
      pushAt: now,
      failAt,
      refuse: this.options.consistencyCheck,
      pushed: new Map(pushed.families.map((family) => [family.name, family])),
    });
    if (written.refused !== undefined) return this.fail(request, before, now, written.refused);
    return this.persist(written.state, [before]).then(() => ({ ok: true }));
  }

  /** A refused push: create the group if missing, record the failure time, change nothing else. */
  private fail(request: PushRequest, before: Before, now: number, reason: string): Promise<PushResult> {
    const state = this.table.fail(request.key, request.attribution, now);
    return this.persist(state, [before]).then(() => ({ ok: false, reason }));
  }

  /**
   * Applies a change that another writer already checked and stored (the Redis backend keeps
   * its local view this way): no limit, no journal; a group that conflicts is kept out of the
   * scrape as with the check disabled, so a scrape never fails.
   */
  apply(change: StoreChange): void {
    this.table.apply(change);
  }

  delete(key: GroupingKey, options: DeleteOptions = {}): Promise<boolean> {
    return this.barrier.write(() => this.applyDelete(key, options));
  }

  private applyDelete(key: GroupingKey, options: DeleteOptions): Promise<boolean> {
    const state = this.table.get(key.id);
    if (state === undefined) return Promise.resolve(false);
    if (!guardAllows(state.attribution, options.guard)) return Promise.reject(otherNamespaceError(key));
    if (options.ifGeneration !== undefined && state.generation !== options.ifGeneration) return Promise.resolve(false);
    const befores = [this.table.before(key)];
    this.table.unlink(state);
    this.table.readmitExcluded(befores);
    const record: StoreRecord = { t: 'd', k: state.key.labels.map((l) => [l.name, l.value]) };
    return this.journaled(record, befores).then(() => true);
  }

  wipe(onDeleted?: WipeListener): Promise<number> {
    return this.barrier.write(async () => {
      let count = 0;
      await Promise.all(
        [...this.table.states()].map(async ({ key, owner }) => {
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
      const state = this.table.get(key.id);
      if (state === undefined) return Promise.resolve();
      const before = this.table.before(key);
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
    const done = journal.append(record, () => this.table.undo(befores));
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
    // The groups as they are now; each group's record is made as the journal writes it, so the
    // rewrite never holds the records of the whole store at once (at 1,000,000 series, about as
    // much memory again as the store itself). A failure is reported by the journal's hooks; the old
    // file stays in use.
    const groups = Array.from(this.table.states(), fieldsOf);
    void journal.compact(recordsOf(groups)).then(done, done);
  }

  private record(state: GroupState): GroupRecord {
    return recordOf(fieldsOf(state));
  }

  get(key: GroupingKey): GroupView | undefined {
    return this.table.get(key.id);
  }

  groups(): IterableIterator<GroupView> {
    return this.table.states();
  }

  get groupCount(): number {
    return this.table.size;
  }

  get seriesCount(): number {
    return this.table.seriesCount;
  }

  namespaceUsage(namespace: string): NamespaceUsage {
    return this.table.namespaceUsage(namespace);
  }

  get excludedCount(): number {
    return this.table.excludedCount;
  }

  settled<T>(read: () => T): Promise<T> {
    return this.barrier.read(read);
  }

  scrapeText(own: readonly MetricFamily[], rendering?: TextRendering): string {
    return this.table.render.renderText(own, { ...rendering, now: this.options.clock.now() });
  }

  scrapePieces(own: readonly MetricFamily[], rendering?: TextRendering): TextPiece[] {
    return this.table.render.renderPieces(own, { ...rendering, now: this.options.clock.now() });
  }

  scrapeProtobuf(own: readonly MetricFamily[], escaping?: EscapingScheme): Uint8Array[] {
    return this.table.render.renderProtobuf(own, escaping);
  }

  scrapeToken(): ScrapeToken {
    return this.table.scrapeToken();
  }

  confirmScraped(token: ScrapeToken, now: number): Promise<void> {
    this.table.confirmScraped(token, now);
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

/**
 * What a group's record is made of, as the group is at one moment: the families map is replaced by
 * writes, never edited, and the families in it never change, so the record can be made later.
 */
interface GroupFields {
  readonly key: GroupingKey;
  readonly data: ReadonlyMap<string, StoredFamily>;
  readonly push: number;
  readonly fail: number;
  readonly attr: Attribution;
  readonly owner: OwnerRef | undefined;
}

function fieldsOf(state: GroupState): GroupFields {
  return { key: state.key, data: state.data, push: state.lastPushAt, fail: state.lastFailureAt, attr: state.attribution, owner: state.owner };
}

function recordOf(group: GroupFields): GroupRecord {
  const f: GroupRecord['f'] = [];
  let n = 0;
  for (const stored of group.data.values()) {
    f.push([familyRecord(stored.family, group.key), stored.pushedAt]);
    n += seriesCount(stored.family);
  }
  return {
    t: 'g',
    k: group.key.labels.map((l) => [l.name, l.value]),
    f,
    n,
    push: group.push,
    fail: group.fail,
    attr: group.attr,
    ...(group.owner === undefined ? {} : { owner: group.owner }),
  };
}

function* recordsOf(groups: readonly GroupFields[]): Generator<GroupRecord> {
  for (const group of groups) yield recordOf(group);
}
