import { getHeapStatistics } from 'node:v8';

/**
 * Refuses growth before V8's heap runs out. Lethe keeps every stored group in V8's heap, and when
 * the store and the work on it no longer fit, V8 aborts the process ("JavaScript heap out of
 * memory"), and aborts it again while it restores the same store at its restart. The guard stops
 * the store growing first: when the heap holds more than `share` of V8's heap limit after a full
 * collection, pushes that would add series are refused (503) until deletions make room; pushes
 * that replace a group with no more series than it has, deletions and scrapes go on.
 *
 * The heap in use counts garbage too, so a reading over the line is checked by a full collection
 * before anything is refused, and that answer is kept until collections are allowed again
 * (`budget`: after one that took d ms, the next waits d / budget ms); below the line, nothing is
 * collected and nothing refused. V8's own collections meanwhile bring the reading down as they
 * happen. One reading does not wait for the budget: growth taken after a collection found room,
 * with the heap in use past halfway from the line to the limit (0.85 of it at the default 0.7).
 * Fast, large pushes could otherwise add more than the room left in the wait (at 1,000,000 series
 * a collection takes about 0.3 s, so the wait is 6 s); a collection made by that reading comes
 * only after the store and its garbage grew by at least half the room the line leaves, as V8's
 * own would.
 */
export class MemoryGuard {
  #full = false;
  #notBefore = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: MemoryGuardOptions) {}

  /** Cheap (no collection): false when the store may surely grow now, true when `full()` must decide. */
  pressed(): boolean {
    const reading = this.options.heap();
    return this.#full || reading.used > this.options.share * reading.limit;
  }

  /** Undefined when the store may grow now; else what the heap holds against its limit. */
  full(): HeapReading | undefined {
    const { share, heap, collect, now, budget, onChange } = this.options;
    let reading = heap();
    if (reading.used <= share * reading.limit) {
      if (this.#full) {
        this.#full = false;
        onChange?.(false, reading);
      }
      return undefined;
    }
    const at = now();
    const nearLimit = reading.used > (share + (1 - share) / 2) * reading.limit;
    if (at >= this.#notBefore || (nearLimit && !this.#full)) {
      collect();
      this.#notBefore = at + (now() - at) / budget;
      reading = heap();
      const full = reading.used > share * reading.limit;
      if (full !== this.#full) {
        this.#full = full;
        onChange?.(full, reading);
      }
    }
    return this.#full ? reading : undefined;
  }
}

export interface HeapReading {
  /** Bytes in use in V8's heap, live or not (after a collection: live). */
  readonly used: number;
  /** V8's heap limit: node sets it to half the container's memory limit, or --max-old-space-size. */
  readonly limit: number;
}

export interface MemoryGuardOptions {
  /** The share of the heap limit the heap may hold after a full collection (--limits.heap-share). */
  readonly share: number;
  readonly heap: () => HeapReading;
  /** A full collection (idle-collection.ts's `fullCollection`). */
  readonly collect: () => void;
  /** The share of the time the guard's collections may take. */
  readonly budget: number;
  readonly now: () => number;
  /** Told when the guard starts refusing growth, and when it stops. */
  readonly onChange?: (full: boolean, reading: HeapReading) => void;
}

/** Bytes in whole MiB, as the heap's messages give them. */
export const mebibytes = (bytes: number): number => Math.round(bytes / (1024 * 1024));

/** V8's heap now: bytes in use and its limit. */
export function heapReading(): HeapReading {
  const stats = getHeapStatistics();
  return { used: stats.used_heap_size, limit: stats.heap_size_limit };
}
