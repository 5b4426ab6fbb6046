import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ErrorCode, LetheError, PayloadTooLargeError, UnavailableError, messageOf } from '../../errors.js';
import type { EscapingScheme } from '../../exposition/index.js';
import type { Leadership } from '../../leadership/index.js';
import type { Clock, GroupView, GroupingKey, MetricFamily, OwnerRef } from '../../model/index.js';
import type { OwnTypeLookup } from '../consistency.js';
import type { DeleteOptions, GroupStore, NamespaceUsage, PushRequest, PushResult, ScrapeToken, StoreHealth, TextRendering, WipeListener } from '../group-store.js';
import type { StoreEvents } from '../local-store-options.js';
import { LocalGroupStore } from '../local-store.js';
import { otherNamespaceError } from '../namespaces.js';
import { RenderCache } from '../render-cache.js';
import { conflictMessage, parseGroupValue, parseOwner, preparePush, type PushSettings } from './codec.js';
import { connect, redactRedisUrl, runScript } from './connection.js';
import { ChangeFeed, type FeedEvents } from './feed.js';
import { keysOf, type Keys } from './keys.js';
import { CONFIRM_SCRAPED, DELETE, PUSH, SET_OWNER, type Script } from './scripts.js';

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
 */

export interface RedisStoreEvents extends StoreEvents, FeedEvents {
  readonly onConnection?: (connected: boolean, err: unknown) => void;
}

export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Connect and command timeout (ms); a push that Redis has not answered by then gets 503. */
  readonly timeoutMs: number;
  /** With > 0, a write is acknowledged only after that many Redis replicas have it (WAIT). */
  readonly minReplicas: number;
  readonly clock: Clock;
  readonly ownType: OwnTypeLookup;
  readonly consistencyCheck: boolean;
  readonly maxGroups: number;
  /** Pushed groups are served on /metrics while this replica leads; absent: always (a single replica). */
  readonly leadership?: Leadership;
  /** Entries kept in the change log (approximately); a replica further behind resyncs. */
  readonly logLength?: number;
  readonly events?: RedisStoreEvents;
}

const resultSchema = z.union([
  z.tuple([z.literal('forbidden')]),
  z.tuple([z.literal('ok'), z.string()]),
  z.tuple([z.literal('failed'), z.string()]),
  z.tuple([z.literal('limit'), z.number()]),
  z.tuple([z.literal('conflict'), z.string(), z.string(), z.number(), z.number(), z.string()]),
]);
const changeSchema = z.union([z.tuple([z.literal(0)]), z.tuple([z.literal(-1)]), z.tuple([z.literal(1), z.string()])]);
const deleteSchema = z.union([z.tuple([z.literal(0)]), z.tuple([z.literal(-1)]), z.tuple([z.literal(1), z.string(), z.string(), z.string()])]);
const confirmSchema = z.tuple([z.number(), z.string()]);
/** Groups per confirmation script: each call is one atomic step, so a huge first scrape does not hold Redis up. */
const CONFIRM_CHUNK = 500;
const keysSchema = z.array(z.string());

/** Server answers that mean "not now" rather than "wrong": the push gets 503 and can be retried. */
const TRANSIENT = /^(LOADING|READONLY|MISCONF|OOM|NOREPLICAS|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOSCRIPT)/;
/** How ioredis words a connection that is gone (the status may not say so yet). */
const LOST = /Stream isn't writeable|max retries per request|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE/i;

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
    for (const c of [client, feedClient]) watchConnection(c, options.events);
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

  /** Why Redis failed a command, when that means "not now" (retry later); rethrows anything else. */
  private transientReason(err: unknown): string {
    const message = messageOf(err);
    const transient = !(err instanceof Error) || err.name !== 'ReplyError' || TRANSIENT.test(message);
    if (!transient) throw err;
    // ioredis words a lost connection after its own options; say what happened instead.
    return this.client.status !== 'ready' || LOST.test(message) ? 'not connected' : message;
  }

  private unavailable(err: unknown): LetheError {
    if (err instanceof LetheError) return err;
    return new UnavailableError(
      ErrorCode.storeUnavailable,
      `store unavailable: Redis at ${this.where} did not take the write (${this.transientReason(err)}); nothing was acknowledged, retry later`,
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
    const reply = resultSchema.parse(await this.write(PUSH, prepared.args));
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
    const reply = deleteSchema.parse(
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
      groupIds = keysSchema.parse(await this.client.call('HKEYS', this.keys.groups));
    } catch (err) {
      throw this.unavailable(err);
    }
    let count = 0;
    const results = await Promise.allSettled(
      groupIds.map(async (groupId) => {
        const reply = deleteSchema.parse(await runScript(this.client, DELETE, [this.keys.prefix, groupId, String(this.settings.logLength), '', '']));
        if (reply[0] !== 1) return;
        count++;
        onDeleted?.(parseGroupValue(reply[2]).key, parseOwner(reply[3]));
        await this.settle(reply[1]);
      }),
    );
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const why = result.reason instanceof LetheError ? result.reason.message : this.transientReason(result.reason);
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
    const reply = changeSchema.parse(await this.write(SET_OWNER, [this.keys.prefix, key.id, json, String(this.settings.logLength)]));
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
      const [marked, id] = confirmSchema.parse(await this.write(CONFIRM_SCRAPED, args));
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

/** Reports connection changes once per change (ioredis emits an error on every reconnect attempt). */
function watchConnection(client: Redis, events: RedisStoreEvents | undefined): void {
  let connected = false;
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  client.on('ready', () => {
    if (connected) return;
    connected = true;
    events?.onConnection?.(true, undefined);
  });
  client.on('close', () => {
    if (!connected) return;
    connected = false;
    events?.onConnection?.(false, lastError);
  });
}
