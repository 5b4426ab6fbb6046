import { ConfigError, ErrorCode } from '../errors.js';
import { mebibytes, type HeapReading } from '../memory-guard.js';

/** The heap in use past which, after a full collection, the linking's progress is weighed. */
export const RESTORE_CHECK_SHARE = 0.8;
/**
 * The whole store's need past which Lethe stops. Not less: a store of ten-series groups filling
 * 0.88-0.92 of a small heap once read back was still served (both scrape formats), while V8 gave
 * up at 0.84-0.89 of its limit restoring groups of 1,000 series (heaps of 32-48 MiB, where the
 * young generation's reserve is a large part of the limit).
 */
export const RESTORE_NEED_SHARE = 0.95;
/** A collection is made again only after this share of the limit was allocated since the last one. */
const RECHECK_SHARE = 0.05;

/**
 * The store's restoreFits (local-store-options.ts): stops Lethe with the reason when the groups
 * restored at start-up cannot fit in V8's heap, instead of V8 aborting with "JavaScript heap out
 * of memory" later, at every restart alike. The restored groups are linked after start-up (their
 * families read from the file), so this is told while that runs. When the heap in use is over
 * 0.8 of its limit, a full collection says what is live, and from it and the series linked so far
 * the whole store's need is estimated: the heap at the first call (Lethe itself), plus what the
 * linked series added, scaled to all of them. Lethe stops only when that is over 0.95 of the
 * limit, with a ConfigError (it exits with its message, as for a damaged file) naming the
 * estimate; the file is left as it is. Groups restored in an order where the first ones take far
 * more heap per series than the rest could make the estimate too high; it is only made once 0.8 of
 * the heap is live, where such a store has little room left anyway.
 *
 * The error is thrown to the linking (a request that needed the groups fails with it) and given to
 * `stop`, which throws it again outside, where the composition root stops Lethe on it.
 */
export function restoreHeapCheck(heap: () => HeapReading, collect: () => void, stop: (error: ConfigError) => void): (linked: number, total: number) => void {
  let base: number | undefined;
  let liveAfterLast = 0;
  return (linked, total) => {
    let reading = heap();
    base ??= reading.used;
    if (reading.used <= RESTORE_CHECK_SHARE * reading.limit || reading.used - liveAfterLast < RECHECK_SHARE * reading.limit) return;
    collect();
    reading = heap();
    liveAfterLast = reading.used;
    if (reading.used <= RESTORE_CHECK_SHARE * reading.limit) return;
    const needed = base + (Math.max(reading.used - base, 0) * total) / Math.max(linked, 1);
    if (needed <= RESTORE_NEED_SHARE * reading.limit) return;
    const error = new ConfigError(
      ErrorCode.heapFull,
      `the stored groups do not fit in V8's heap: with ${linked} of their ${total} series read back, the heap holds ${mebibytes(reading.used)} MiB after a full collection, of its limit of ${mebibytes(reading.limit)} MiB, and the whole store needs about ${mebibytes(needed)} MiB. Give Lethe more memory (node gives the heap half the container's memory limit; pushes that add series are refused at --limits.heap-share of it) and start it again; the persistence file is left as it is`,
    );
    stop(error);
    throw error;
  };
}
