import type { Redis } from 'ioredis';
import { ErrorCode, LetheError, PayloadTooLargeError, UnavailableError } from '../../errors.js';
import type { EscapingScheme } from '../../exposition/index.js';
import type { GroupView, GroupingKey, MetricFamily, OwnerRef } from '../../model/index.js';
import type { DeleteOptions, GroupStore, NamespaceUsage, PushRequest, PushResult, ScrapeToken, StoreHealth, TextPiece, TextRendering, WipeListener } from '../group-store.js';
import { LocalGroupStore } from '../local-store.js';
import { otherNamespaceError } from '../namespaces.js';
import { RenderCache } from '../render-cache.js';
import {
  changeReplySchema,
  confirmReplySchema,
  conflictMessage,
  deleteReplySchema,
  groupIdsSchema,
  parseGroupValue,
  parseOwner,
  preparePush,
  pushReplySchema,
  type PreparedPush,
  type PushSettings,
} from './codec.js';
import { connect, redactRedisUrl, runScript, transientReason, watchConnection, type Script } from './connection.js';
import { ChangeFeed } from './feed.js';
import { keysOf, type Keys } from './keys.js';
import type { RedisStoreOptions } from './redis-store-options.js';
import { CONFIRM_SCRAPED, DELETE, PUSH, SET_OWNER } from './scripts.js';

/**
 * The Redis (or Valkey) backend: any number of replicas share one Redis, each taking pushes,
 * deletes and API reads. A write is one atomic script (check + write + log entry) and is
 * acknowledged only after Redis answered (and, with `minReplicas`, after that many Redis replicas
 * confirmed it): with appendonly and appendfsync always on the server, it is then on disk.
 *
 * Reads never go to Redis: each replica keeps a local view, an in-memory LocalGroupStore fed by
 * the change log (feed.ts), so a scrape is the same cached rendering as with the file store.
 * Only the replica that leads (the Redis lease, store/redis/lease.ts, or the Kubernetes Lease)
 * serves pushed groups on /metrics (Prometheus scrapes every replica and must see one copy); the
 * others serve only Lethe's own metrics.
 *
 * A little over 300 lines: one class implementing the GroupStore port; each write is a script
 * call with its reply's handling, and each read a one-line delegation to the view. The script
 * arguments and replies are in codec.ts, the connection handling in connection.ts.
 */

/** Groups per confirmation script: each call is one atomic step, so a huge first scrape does not hold Redis up. */
const CONFIRM_CHUNK = 500;

export class RedisGroupStore implements GroupStore {
  private readonly keys: Keys;
  private readonly feed: ChangeFeed;
  private readonly empty: LocalGroupStore;
  private readonly ownOnly = new RenderCache();
  private readonly settings: PushSettings;
  private readonly where: string;
  private closed = false;

  private constructor(
    private readonly options: RedisStoreOptions,
    private readonly client: Redis,
    private readonly feedClient: Redis,
    empty: LocalGroupStore,
  ) {
    this.keys = keysOf(options.keyPrefix);
    this.empty = empty;
    this.where = redactRedisUrl(options.url);
    this.settings = {
      prefix: options.keyPrefix,
      ownType: options.ownType,
      consistencyCheck: options.consistencyCheck,
      maxGroups: options.maxGroups,
      logLength: options.logLength ?? 10_000,
    };
    const events = options.events ?? {};
    this.feed = new ChangeFeed({
      client: feedClient,
      keys: this.keys,
      view: {
        clock: options.clock,
        ownType: options.ownType,
        consistencyCheck: options.consistencyCheck,
        maxGroups: Number.MAX_SAFE_INTEGER,
        ...(options.events === undefined ? {} : { events: options.events }),
      },
      blockMs: 2_000,
      timeoutMs: options.timeoutMs,
      events,
    });
  }

  /**
   * Connects, and waits (at most the timeout) for the first full read of the store, so that a
   * replica that starts while Redis is up serves the data at once. When Redis is down it starts
   * anyway: pushes get 503 and /metrics serves no pushed group until the first read completes.
   */
  static async open(options: RedisStoreOptions): Promise<RedisGroupStore> {
    const settings = { url: options.url, timeoutMs: options.timeoutMs };
    const client = connect({ ...settings, name: 'lethe' });
    const feedClient = connect({ ...settings, name: 'lethe-feed' }, { commandTimeout: 2_000 + options.timeoutMs });
    for (const c of [client, feedClient]) watchConnection(c, options.events?.onConnection);
    const empty = await LocalGroupStore.open({
      clock: options.clock,
      ownType: options.ownType,
      consistencyCheck: options.consistencyCheck,
      maxGroups: 0,
      persistenceFile: '',
    });
    const store = new RedisGroupStore(options, client, feedClient, empty);
    store.feed.start();
    try {
      await store.feed.firstSync(Math.max(options.timeoutMs, 1_000));
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  private get view(): LocalGroupStore {
    return this.feed.view ?? this.empty;
  }

  private serves(): boolean {
    if (!this.feed.hasSynced) return false;
    return this.options.leadership?.isLeader() ?? true;
  }

  private unavailable(err: unknown): LetheError {
    if (err instanceof LetheError) return err;
    return new UnavailableError(
      ErrorCode.storeUnavailable,
      `store unavailable: Redis at ${this.where} did not take the write (${transientReason(err, this.client)}); nothing was acknowledged, retry later`,
      { cause: err },
    );
  }

  /** Runs a write script; connection trouble becomes a 503 for the client. */
  private async write(script: Script, args: readonly string[]): Promise<unknown> {
    try {
      return await runScript(this.client, script, args);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Waits for Redis replicas (when asked to) and for the local view to show the change. */
  private async settle(id: string): Promise<void> {
    const wanted = this.options.minReplicas;
    if (wanted > 0) {
      let got: unknown;
      try {
        got = await this.client.call('WAIT', String(wanted), String(this.options.timeoutMs));
      } catch (err) {
        throw this.unavailable(err);
      }
      if (typeof got !== 'number' || got < wanted) {
        throw new UnavailableError(
          ErrorCode.storeUnavailable,
          `store unavailable: only ${String(got)} of ${wanted} Redis replicas confirmed the write in time (--store.redis.min-replicas); it is on the primary but not acknowledged, retry later`,
        );
      }
    }
    await this.feed.caughtUp(id);
  }

  async push(request: PushRequest): Promise<PushResult> {
    const prepared = preparePush(request, this.options.clock.now(), this.settings);
    const release = prepared.mode === 'push' ? this.feed.expect(prepared.sent) : undefined;
    try {
      return await this.runPush(request, prepared);
    } finally {
      release?.();
    }
  }

  /** Runs the push script and answers from its reply. */
  private async runPush(request: PushRequest, prepared: PreparedPush): Promise<PushResult> {
    const reply = pushReplySchema.parse(await this.write(PUSH, prepared.args));
    switch (reply[0]) {
      case 'forbidden':
        throw otherNamespaceError(request.key);
      case 'limit':
        throw new PayloadTooLargeError(ErrorCode.tooManyGroups, `limit exceeded: already ${reply[1]} groups stored (--limits.groups)`);
      case 'failed':
        await this.settle(reply[1]);
        return { ok: false, reason: prepared.mode === 'fail' ? prepared.reason : 'pushed metrics were refused' };
      case 'conflict': {
        await this.settle(reply[1]);
        const families = prepared.mode === 'push' ? prepared.families : [];
        const [, , kind, familyIndex, index, type] = reply;
        return { ok: false, reason: conflictMessage(families, { kind, familyIndex, index, type }) };
      }
      case 'ok':
        await this.settle(reply[1]);
        return { ok: true };
    }
  }

  /**
   * With `ifGeneration`, the script compares it with the generation stored in Redis, atomically
   * with the deletion: a push acknowledged by any replica after the decision (which this
   * replica's view may not show yet) keeps the group.
   */
  async delete(key: GroupingKey, options: DeleteOptions = {}): Promise<boolean> {
    const reply = deleteReplySchema.parse(
      await this.write(DELETE, [
        this.keys.prefix,
        key.id,
        String(this.settings.logLength),
        options.guard?.namespace ?? '',
        options.ifGeneration === undefined ? '' : String(options.ifGeneration),
      ]),
    );
    if (reply[0] === 0) return false;
    if (reply[0] === -1) throw otherNamespaceError(key);
    await this.settle(reply[1]);
    return true;
  }

  async wipe(onDeleted?: WipeListener): Promise<number> {
    let groupIds: string[];
    try {
      groupIds = groupIdsSchema.parse(await this.client.call('HKEYS', this.keys.groups));
    } catch (err) {
      throw this.unavailable(err);
    }
    let count = 0;
    const results = await Promise.allSettled(
      groupIds.map(async (groupId) => {
        const reply = deleteReplySchema.parse(await runScript(this.client, DELETE, [this.keys.prefix, groupId, String(this.settings.logLength), '', '']));
        if (reply[0] !== 1) return;
        count++;
        onDeleted?.(parseGroupValue(reply[2]).key, parseOwner(reply[3]));
        await this.settle(reply[1]);
      }),
    );
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const why = result.reason instanceof LetheError ? result.reason.message : transientReason(result.reason, this.client);
      throw new UnavailableError(
        ErrorCode.storeUnavailable,
        `store unavailable: Redis at ${this.where} failed during the wipe (${why}) after ${count} of ${groupIds.length} groups were deleted; the others are still stored, retry the wipe`,
        { cause: result.reason },
      );
    }
    return count;
  }

  async setOwner(key: GroupingKey, owner: OwnerRef | undefined): Promise<void> {
    const json = owner === undefined ? '' : JSON.stringify(owner);
    const reply = changeReplySchema.parse(await this.write(SET_OWNER, [this.keys.prefix, key.id, json, String(this.settings.logLength)]));
    if (reply[0] === 1) await this.settle(reply[1]);
  }

  get(key: GroupingKey): GroupView | undefined {
    return this.view.get(key);
  }

  groups(): IterableIterator<GroupView> {
    return this.view.groups();
  }

  get groupCount(): number {
    return this.view.groupCount;
  }

  get seriesCount(): number {
    return this.view.seriesCount;
  }

  /** From this replica's view of the store (quotas are checked against it, not atomically). */
  namespaceUsage(namespace: string): NamespaceUsage {
    return this.view.namespaceUsage(namespace);
  }

  get excludedCount(): number {
    return this.view.excludedCount;
  }

  scrapeText(own: readonly MetricFamily[], rendering?: TextRendering): string {
    return this.serves() ? this.view.scrapeText(own, rendering) : this.ownOnly.renderText(own, { ...rendering, now: this.options.clock.now() });
  }

  scrapePieces(own: readonly MetricFamily[], rendering?: TextRendering): TextPiece[] {
    return this.serves() ? this.view.scrapePieces(own, rendering) : this.ownOnly.renderPieces(own, { ...rendering, now: this.options.clock.now() });
  }

  scrapeProtobuf(own: readonly MetricFamily[], escaping?: EscapingScheme): Uint8Array[] {
    return this.serves() ? this.view.scrapeProtobuf(own, escaping) : this.ownOnly.renderProtobuf(own, escaping);
  }

  scrapeToken(): ScrapeToken {
    return this.serves() ? this.view.scrapeToken() : { groups: [] };
  }

  /** Stores the marks in Redis (each a log entry), and resolves once this replica's view shows them. */
  async confirmScraped(token: ScrapeToken, now: number): Promise<void> {
    let last = '';
    for (let i = 0; i < token.groups.length; i += CONFIRM_CHUNK) {
      const args = [this.keys.prefix, '', String(now), String(this.settings.logLength)];
      for (const { key, generation } of token.groups.slice(i, i + CONFIRM_CHUNK)) args.push(key.id, String(generation));
      const [marked, id] = confirmReplySchema.parse(await this.write(CONFIRM_SCRAPED, args));
      if (marked > 0) last = id;
    }
    if (last !== '') await this.feed.caughtUp(last);
  }

  /**
   * Writable until closed, also while Redis is unreachable: the process is fine and answers
   * pushes with 503, and failing /-/ready then would only hide the replicas from the clients
   * that should see the 503.
   */
  health(): StoreHealth {
    return this.closed ? { writable: false, problem: 'store closed' } : { writable: true };
  }

  /**
   * The local view changes only from Redis' change log, after Redis has taken the write
   * (appendfsync always: after its fsync), so whatever the view shows is durable: read now.
   */
  settled<T>(read: () => T): Promise<T> {
    try {
      return Promise.resolve(read());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const feedStopped = this.feed.stop();
    this.feedClient.disconnect();
    await feedStopped;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
