import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ConfigError, ErrorCode } from '../../errors.js';
import type { LocalStoreOptions } from '../local-store-options.js';
import { LocalGroupStore } from '../local-store.js';
import { compareIds, parseEntry, xreadSchema, type SentPush } from './codec.js';
import { FORMAT, type Keys } from './keys.js';
import { readSnapshot } from './snapshot.js';

/**
 * Keeps a replica's local view (an in-memory LocalGroupStore: index, render cache, scrape) equal
 * to what Redis holds, by following the change log, a Redis stream written by the same scripts
 * that write the groups. Why a stream, and not pub/sub or keyspace notifications: its entries
 * are ordered, numbered and kept, so a reader sees every change exactly once and in commit order
 * (the view is always a state Redis really had, never a mix), notices a gap, and can read what
 * it missed; pub/sub and keyspace notifications drop messages while a client is away, carry no
 * order across keys, and the latter need server configuration many managed Redis forbid.
 *
 * After a lost connection, a gap or a start, the view is rebuilt in full: a snapshot read in
 * chunks (each chunk one MULTI) from a known log position, then the log from that position
 * replayed over it (snapshot.ts), then a new view built from the result and swapped in.
 */

export interface FeedEvents {
  readonly onResync?: (groups: number, seconds: number) => void;
  readonly onError?: (err: unknown) => void;
  /** Redis came back without the data it had (a new epoch): acknowledged pushes may be gone. */
  readonly onDataLost?: () => void;
}

export interface FeedDeps {
  readonly client: Redis;
  readonly keys: Keys;
  /** Options of the local view (memory only). */
  readonly view: Omit<LocalStoreOptions, 'persistenceFile'>;
  readonly blockMs: number;
  readonly timeoutMs: number;
  readonly events: FeedEvents;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ChangeFeed {
  private view_: LocalGroupStore | undefined;
  private lastId = '0-0';
  private n = 0;
  private synced = false;
  private everSynced = false;
  private epoch: string | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private fatal: ConfigError | undefined;
  private readonly waiters = new Set<{ readonly id: string; readonly resolve: () => void }>();
  private readonly syncListeners = new Set<() => void>();
  /** Pushes this replica sent and has not seen in the log yet, by their families' text. */
  private readonly sent = new Map<string, SentPush>();

  constructor(private readonly deps: FeedDeps) {}

  /** The current view; undefined before the first sync. */
  get view(): LocalGroupStore | undefined {
    return this.view_;
  }

  /** True once a full sync has completed (the view may lag while reconnecting). */
  get hasSynced(): boolean {
    return this.everSynced;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Resolves after the first sync, or after `timeoutMs`; rejects when Redis holds foreign data. */
  firstSync(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (err?: ConfigError): void => {
        clearTimeout(timer);
        this.syncListeners.delete(check);
        if (err === undefined) resolve();
        else reject(err);
      };
      const check = (): void => {
        if (this.fatal !== undefined) finish(this.fatal);
        else if (this.everSynced) finish();
      };
      const timer = setTimeout(() => finish(), timeoutMs);
      this.syncListeners.add(check);
      check();
    });
  }

  /** Resolves when the view has applied the log entry `id` (or after the timeout: it is in Redis). */
  caughtUp(id: string): Promise<void> {
    if (compareIds(this.lastId, id) >= 0 && this.synced) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        id,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, this.deps.timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Until the returned function is called, the log entry of this push (found by its families'
   * text) is applied from what was sent instead of being decoded: decoding every push a replica
   * made itself cost it about a tenth of its time per push. A push whose text is the same as one
   * still in flight is decoded as usual.
   */
  expect(push: SentPush): () => void {
    const text = push.familiesText;
    if (this.sent.has(text)) return () => undefined;
    this.sent.set(text, push);
    return () => {
      if (this.sent.get(text) === push) this.sent.delete(text);
    };
  }

  private takeSent(familiesText: string): SentPush | undefined {
    const push = this.sent.get(familiesText);
    if (push !== undefined) this.sent.delete(familiesText);
    return push;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of [...this.waiters]) waiter.resolve();
    await this.running;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) if (this.synced && compareIds(this.lastId, waiter.id) >= 0) waiter.resolve();
    for (const listener of this.syncListeners) listener();
  }

  private async run(): Promise<void> {
    const { client, keys, blockMs } = this.deps;
    while (!this.stopped) {
      try {
        if (client.status !== 'ready') {
          this.synced = false;
          await pause(100);
          continue;
        }
        if (!this.synced) await this.resync();
        const reply = xreadSchema.parse(await client.call('XREAD', 'COUNT', '1000', 'BLOCK', String(blockMs), 'STREAMS', keys.log, this.lastId));
        if (reply === null || this.stopped) continue;
        const view = this.view_;
        if (view === undefined) continue;
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            const entry = parseEntry(id, fields, (text) => this.takeSent(text));
            if (entry.n !== this.n + 1) {
              // The log was trimmed past us: read everything again.
              this.synced = false;
              break;
            }
            view.apply(entry.change);
            this.lastId = id;
            this.n = entry.n;
          }
        }
        this.notify();
      } catch (err) {
        if (this.stopped) break;
        this.synced = false;
        if (err instanceof ConfigError) {
          this.fatal = err;
          this.notify();
        }
        this.deps.events.onError?.(err);
        await pause(200);
      }
    }
  }

  private async checkFormat(): Promise<void> {
    const { client, keys } = this.deps;
    await client.call('SET', keys.format, FORMAT, 'NX');
    const format = await client.call('GET', keys.format);
    if (format !== FORMAT) {
      throw new ConfigError(
        ErrorCode.persistence,
        `Redis key ${keys.format} holds ${JSON.stringify(format)}, not ${JSON.stringify(FORMAT)}: the key prefix is used by something else or by another Lethe version (choose another --store.redis.key-prefix)`,
      );
    }
    await client.call('SET', keys.epoch, randomUUID(), 'NX');
    const epoch = await client.call('GET', keys.epoch);
    if (typeof epoch !== 'string') throw new Error('Redis lost the epoch key while it was being read');
    if (this.epoch !== undefined && epoch !== this.epoch) this.deps.events.onDataLost?.();
    this.epoch = epoch;
  }

  private async resync(): Promise<void> {
    const started = performance.now();
    await this.checkFormat();
    for (let attempt = 0; !this.stopped; attempt++) {
      const replayed = await readSnapshot(this.deps.client, this.deps.keys);
      if (replayed === undefined) continue; // the log moved past our start while we read
      const view = await LocalGroupStore.open({ ...this.deps.view, persistenceFile: '' });
      for (const image of replayed.images.values()) {
        view.apply({
          op: 'push',
          method: 'PUT',
          key: image.key,
          families: [...image.families.values()],
          meta: {
            attribution: image.attribution,
            lastPushAt: image.lastPushAt,
            lastFailureAt: image.lastFailureAt,
            owner: image.owner,
            generation: image.generation,
            ...(image.scrapedAt === undefined ? {} : { scrapedAt: image.scrapedAt }),
          },
        });
      }
      this.view_ = view;
      this.lastId = replayed.lastId;
      this.n = replayed.n;
      this.synced = true;
      this.everSynced = true;
      this.deps.events.onResync?.(view.groupCount, (performance.now() - started) / 1000);
      this.notify();
      return;
    }
  }
}
