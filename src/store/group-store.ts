import type { EscapingScheme } from '../exposition/index.js';
import type { Attribution, GroupView, GroupingKey, MetricFamily, OwnerRef, PushMethod } from '../model/index.js';

/** A push that passed parsing, ready for the store's consistency check. */
export interface PushRequest {
  readonly key: GroupingKey;
  readonly method: PushMethod;
  /** Parsed families, labels as pushed (the store sanitises them). */
  readonly families: readonly MetricFamily[];
  readonly attribution: Attribution;
  /**
   * With authentication on: the namespace the caller is confined to. The push is refused with a
   * ForbiddenError (and nothing is written, not even a failure time) when the group exists and is
   * not attributed to this namespace; the check and the write are one atomic step.
   */
  readonly guard?: NamespaceGuard;
}

export interface NamespaceGuard {
  readonly namespace: string;
}

export interface DeleteOptions {
  /** With authentication on: a group attributed to another namespace is refused (ForbiddenError). */
  readonly guard?: NamespaceGuard;
  /** Delete only while the group still has this generation (GroupView.generation); otherwise a no-op. */
  readonly ifGeneration?: number;
}

/** What the groups attributed to one namespace hold (series counted as pushed, meta series not). */
export interface NamespaceUsage {
  readonly groups: number;
  readonly series: number;
}

export type PushResult =
  | { readonly ok: true }
  /** The push was refused by the consistency check; the failure time was recorded. */
  | { readonly ok: false; readonly reason: string };

export type ScrapeFormat = 'text' | 'protobuf';

/** Whether the store takes writes now: readiness and /api/v1/status show it. */
export interface StoreHealth {
  /** False while writes are refused (e.g. the persistence file cannot be written). */
  readonly writable: boolean;
  /** While not writable: why, naming the file and the error. */
  readonly problem?: string;
  /** Since when (Unix ms) it is not writable. */
  readonly since?: number;
  /** The step that failed last and its error code (`write`, `ENOSPC`). */
  readonly op?: string;
  readonly code?: string;
}

/**
 * What one rendering of the scrape served that no scrape had confirmed yet: each such group with
 * the generation it was rendered at. The gateway hands it back to `confirmScraped` only once a
 * scraper has received the whole response.
 */
export interface ScrapeToken {
  readonly groups: readonly { readonly key: GroupingKey; readonly generation: number }[];
}

/** Called by `wipe` for each group it deleted, as soon as the deletion is applied (it cannot be undone then). */
export type WipeListener = (key: GroupingKey, owner: OwnerRef | undefined) => void;

/** How a text scrape is written: the text format or OpenMetrics, and the name escaping. */
export interface TextRendering {
  readonly openMetrics: boolean;
  readonly escaping: EscapingScheme;
  /**
   * The answer will be compressed: a store that keeps pieces' compression (TextPiece.deflated)
   * keeps it while such scrapes come.
   */
  readonly compressed?: boolean;
}

/** A piece of a scrape compressed on its own, kept by the store with the piece's text. */
export interface DeflatedPiece {
  /** Raw deflate of the piece's bytes ended by a full flush: byte-aligned, no final block. */
  readonly bytes: Uint8Array;
  /** CRC-32 of the piece's bytes. */
  readonly crc: number;
  /** Length of the piece's bytes. */
  readonly length: number;
}

/**
 * A piece of a text scrape: its UTF-8 bytes, which the store may keep and hand out again (a
 * name's merged text, until it changes); nobody writes into them.
 */
export interface TextPiece {
  readonly bytes: Uint8Array;
  /** The piece compressed, when a scrape compressed it since its text last changed. */
  readonly deflated: DeflatedPiece | undefined;
  /** Keeps `deflated` with the store's cached bytes while they are unchanged; absent for text rendered per scrape. */
  readonly keep: ((deflated: DeflatedPiece) => void) | undefined;
}

/**
 * The store port. Gateway and lifecycle use only this; the backend (embedded file store,
 * later Redis) stays hidden behind it. Every write is applied in call order, so a push that
 * is answered 200 implies every earlier delete was applied.
 */
export interface GroupStore {
  /**
   * Applies a push. Resolves when it is durable (with persistence on). A push refused by the
   * consistency check resolves `{ok: false}` after recording the failure time; with the check
   * disabled, conflicting groups are stored but left out of scrapes.
   */
  push(request: PushRequest): Promise<PushResult>;
  /**
   * Deletes a group; a missing group (or, with `ifGeneration`, one pushed to since) is a no-op.
   * Resolves true when one was deleted, once durable. The guard and generation checks are atomic
   * with the deletion.
   */
  delete(key: GroupingKey, options?: DeleteOptions): Promise<boolean>;
  /**
   * Deletes every group stored at this moment; resolves with the count. `onDeleted` hears of each
   * deletion, also when the wipe fails part way and rejects (the Redis store then rejects with an
   * UnavailableError whose message has the count done so far).
   */
  wipe(onDeleted?: WipeListener): Promise<number>;
  /** Sets the owner of a group (lifecycle); ignored when the group is gone. */
  setOwner(key: GroupingKey, owner: OwnerRef | undefined): Promise<void>;
  get(key: GroupingKey): GroupView | undefined;
  groups(): IterableIterator<GroupView>;
  readonly groupCount: number;
  readonly seriesCount: number;
  /** The groups and series attributed to a namespace, for per-namespace quotas. */
  namespaceUsage(namespace: string): NamespaceUsage;
  /**
   * Renders everything stored merged with `own` (Lethe's own metric families). Marks nothing.
   * Without `rendering`: the text format, names escaped with underscores.
   */
  scrapeText(own: readonly MetricFamily[], rendering?: TextRendering): string;
  /**
   * The same rendering as UTF-8 pieces in order, which a scrape writes out as they are (their
   * bytes joined are scrapeText's text): no copy of the whole scrape is made.
   */
  scrapePieces(own: readonly MetricFamily[], rendering?: TextRendering): TextPiece[];
  /** Delimited protobuf; names escaped as `escaping` says (default: underscores). */
  scrapeProtobuf(own: readonly MetricFamily[], escaping?: EscapingScheme): Uint8Array[];
  /**
   * Runs `read` once every write applied so far is durable or undone, before any later write
   * is applied, and resolves with its result. Scrapes and the API render inside it, so they
   * never show a write that may still be refused.
   */
  settled<T>(read: () => T): Promise<T>;
  /**
   * The groups that a rendering made in this same turn serves (rendering is synchronous) whose
   * latest push no scrape has confirmed yet, at their generations. Empty when this replica serves
   * no groups. Take it inside the same settled() read as the rendering.
   */
  scrapeToken(): ScrapeToken;
  /**
   * Marks the groups of `token` as scraped at `now` (their `scrapedAt`), each only while it still
   * has the generation it was rendered at: a push that came during the response is not marked.
   * With Redis the mark is stored there, so every replica (a new leader too) sees it.
   */
  confirmScraped(token: ScrapeToken, now: number): Promise<void>;
  /** Whether the store takes writes now (readiness). */
  health(): StoreHealth;
  close(): Promise<void>;
}
