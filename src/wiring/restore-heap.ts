import { ConfigError, ErrorCode } from '../errors.js';
import type { HeapReading } from '../memory-guard.js';

/**
 * The heap in use past which, after a full collection, the restored store is taken not to fit.
 * V8 itself gave up at 0.84-0.89 of its limit (heaps of 32-48 MiB restoring 53 MB of groups), and a
 * store that fills 0.8 of the heap has not the room a scrape's rendering needs (the heap guard
 * keeps it below 0.7 for that).
 */
export const RESTORE_HEAP_SHARE = 0.8;
/** A collection is made again only after this share of the limit was allocated since the last one. */
const RECHECK_SHARE = 0.05;

const mib = (bytes: number): number => Math.round(bytes / (1024 * 1024));

/**
 * The store's restoreFits (local-store-options.ts): stops Lethe with the reason when the groups
 * restored at start-up do not fit in V8's heap, instead of V8 aborting with "JavaScript heap out
 * of memory" a moment later, at every restart alike. The restored groups are linked after start-up
 * (their families read from the file), so this is told while that runs; when the heap in use is
 * over the line, a full collection says what is live, and when that is over the line too, the
 * error (a ConfigError: Lethe exits with its message, as for a damaged file) names how much heap
 * the whole store needs, extrapolated from the series linked so far. The file is left as it is.
 *
 * The error is thrown to the linking (a request that needed the groups fails with it) and again
 * outside it, where the composition root stops Lethe on it.
 */
export function restoreHeapCheck(heap: () => HeapReading, collect: () => void, stop: (error: ConfigError) => void): (linked: number, total: number) => void {
  let liveAfterLast = 0;
  return (linked, total) => {
    let reading = heap();
    if (reading.used <= RESTORE_HEAP_SHARE * reading.limit || reading.used - liveAfterLast < RECHECK_SHARE * reading.limit) return;
    collect();
    reading = heap();
    liveAfterLast = reading.used;
    if (reading.used <= RESTORE_HEAP_SHARE * reading.limit) return;
    const needed = (reading.used * total) / Math.max(linked, 1);
    const error = new ConfigError(
      ErrorCode.heapFull,
      `the stored groups do not fit in V8's heap: with ${linked} of their ${total} series read back, the heap holds ${mib(reading.used)} MiB after a full collection, more than ${RESTORE_HEAP_SHARE} of its limit of ${mib(reading.limit)} MiB; the whole store needs about ${mib(needed)} MiB of heap. Give Lethe more memory (node gives the heap half the container's memory limit; pushes that add series are refused at --limits.heap-share of it) and start it again; the persistence file is left as it is`,
    );
    stop(error);
    throw error;
  };
}
