import type { Clock, GroupingKey } from '../model/index.js';
import type { OwnTypeLookup } from './consistency.js';
import type { PersistenceFailure } from './journal.js';
import type { TornTail } from './persistence.js';

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
  /**
   * Families read after start-up (when first used) were damaged: `error` is the one start-up
   * would have stopped with. The use that found it fails with it as well; Lethe stops on it.
   */
  readonly onDamaged?: (error: unknown) => void;
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
  /**
   * Told as the groups restored at start-up are linked (their families read), every few thousand
   * series: `linked` series so far of `total`. Throws to stop Lethe when the heap cannot hold the
   * store (wiring/restore-heap.ts); the error is thrown to whatever use was linking them, and the
   * file is left as it is.
   */
  readonly restoreFits?: (linked: number, total: number) => void;
}
