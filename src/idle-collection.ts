import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * A full garbage collection once writes stop. Every push replaces a group's data, and the data it
 * replaced has usually lived long enough to reach V8's old generation, where it stays (and counts
 * in resident memory) until the old generation next fills up. V8's own memory reducer would
 * collect it once Lethe is idle, but it judges idleness by the allocation rate it measured at its
 * last collection, so after a burst of pushes it keeps waiting. Lethe collects itself instead,
 * `quietMs` after the last write (over HTTP, or the lifecycle's: an owner recorded, a group
 * deleted, so a collection waits until a run of deletions is over, and follows it): after filling 100,000 series, about 15 MB less resident memory
 * (a quarter of it from compacting, the 'last-resort' flavour); after 1,000,000, a heap of 250 MB
 * became 77 MB. The collection pauses Lethe: V8 collects twice, 130-175 ms in all at 100,000
 * series, 0.3 s at 1,000,000.
 *
 * The pause grows with everything the heap holds, what it frees only with what the writes left
 * behind, so a collection runs only when the old generation grew since the last one by at least
 * `minGrowth.share` of what it held after it and at least `minGrowth.bytes`: a push of ten series
 * into a store of 100,000 does not pause Lethe, re-pushing a fifth of it does. When V8 collected
 * meanwhile and the old generation holds less, that is the new mark.
 *
 * Reads (`read()`: scrapes, API and page requests) ask for a look too, once they stop, without
 * putting off one that writes asked for: the first scrape in a format renders every group's text,
 * and left 50 MB behind at 40,000 series in the OpenMetrics format Prometheus asks for (resident
 * 100 -> 158 MiB two seconds later; V8 took about ten seconds to collect it). Scrapes served from
 * the cached text leave too little to pass the growth rule.
 *
 * Quiet means no request in flight either (`began()` and `ended()`): the timer starts at a
 * request's start, and a scrape that renders for seconds (the first after a restart of 1,000,000
 * series, 7 s) waits for the threads compressing its text at the end, when the main thread is
 * free and the timer would fire: a collection then paused the scrape by its own length (0.6 s).
 * A collection that comes due while requests are in flight waits for the last of them to end,
 * then `quietMs` more.
 *
 * Collections are also held to a share of the time (`budget`): after one that took d ms, the next
 * waits at least d / budget ms, so pushes that keep coming every second into a large store do not
 * pay a full collection each time. The collection is V8's own (node's `--expose-gc`), exposed to
 * Lethe alone when first needed.
 */
export class IdleCollection {
  #timer: NodeJS.Timeout | undefined;
  #written = false;
  /** The pending look was asked for by reads alone (reads put it off; a write makes it the write's). */
  #readsOnly = false;
  #notBefore = 0;
  /** What the old generation held after the last collection (or the least seen since). */
  #mark: number;
  /** Requests begun and not ended. */
  #inFlight = 0;
  /** A look came due while requests were in flight: the last one's end sets the timer again. */
  #held = false;

  constructor(private readonly options: IdleCollectionOptions) {
    this.#mark = options.oldGeneration();
  }

  /** A write happened: collect once `quietMs` pass without another. */
  written(): void {
    this.#written = true;
    this.#readsOnly = false;
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#fire(), this.options.quietMs).unref();
    else this.#timer.refresh();
  }

  /**
   * A request that writes nothing but may have left much behind (a scrape that rendered the text
   * of many groups for the first time): look once `quietMs` pass without another request, by the
   * same growth rule. A look that writes asked for is never put off by reads: scrapes that keep
   * coming (a dashboard polling) do not postpone the collection after pushes or deletions.
   */
  read(): void {
    if (this.#timer === undefined) {
      this.#written = true;
      this.#readsOnly = true;
      this.#timer = setTimeout(() => this.#fire(), this.options.quietMs).unref();
    } else if (this.#readsOnly) this.#timer.refresh();
  }

  /** A request began: no collection runs while it is in flight. */
  began(): void {
    this.#inFlight++;
  }

  /**
   * A request ended: a look that came due while requests were in flight waits `quietMs` from the
   * end of the last of them. One not due yet keeps its time (requests do not put it off).
   */
  ended(): void {
    if (--this.#inFlight > 0) return;
    this.#inFlight = 0;
    if (!this.#held) return;
    this.#held = false;
    if (this.#timer === undefined && this.#written) this.#timer = setTimeout(() => this.#fire(), this.options.quietMs).unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#held = false;
  }

  #fire(): void {
    this.#timer = undefined;
    if (!this.#written) return;
    if (this.#inFlight > 0) {
      this.#held = true;
      return;
    }
    const { now, collect, budget, minGrowth, oldGeneration, onCollected } = this.options;
    const at = now();
    if (at < this.#notBefore) {
      // Over budget: collect once it allows (a write meanwhile puts it off again).
      this.#readsOnly = false;
      this.#timer = setTimeout(() => this.#fire(), this.#notBefore - at).unref();
      return;
    }
    this.#written = false;
    const held = oldGeneration();
    if (held - this.#mark < Math.max(minGrowth.bytes, minGrowth.share * this.#mark)) {
      this.#mark = Math.min(this.#mark, held);
      return;
    }
    collect();
    const took = now() - at;
    this.#notBefore = at + took / budget;
    this.#mark = oldGeneration();
    onCollected?.({ ms: took, before: held, after: this.#mark });
  }
}

export interface IdleCollectionOptions {
  readonly quietMs: number;
  /** The share of the time collections may take. */
  readonly budget: number;
  /** Collect only when the old generation grew by both this share of its mark and these bytes. */
  readonly minGrowth: { readonly share: number; readonly bytes: number };
  /** Bytes the old generation holds now (`oldGenerationBytes`). */
  readonly oldGeneration: () => number;
  readonly collect: () => void;
  readonly now: () => number;
  /** Told after each collection: how long it took, and the old generation's bytes before and after. */
  readonly onCollected?: (collected: { readonly ms: number; readonly before: number; readonly after: number }) => void;
}

/** The bytes V8's old generation holds (every space but the young generation's), live or not. */
export function oldGenerationBytes(): number {
  let bytes = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name !== 'new_space' && space.space_name !== 'new_large_object_space') bytes += space.space_used_size;
  }
  return bytes;
}

/** How node's `--expose-gc` function is called for a full, memory-reducing collection. */
type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void;

/**
 * V8's full collection, as `--expose-gc` gives it (made once, when first needed), in the flavour
 * `flavor`: 'last-resort' also compacts the heap and gives V8's spare young generation back.
 */
export function fullCollection(flavor: 'regular' | 'last-resort' = 'last-resort'): () => void {
  let gc = globalThis.gc as Collect | undefined;
  return () => {
    if (gc === undefined) {
      setFlagsFromString('--expose-gc');
      const exposed: unknown = process.getBuiltinModule('node:vm').runInNewContext('gc');
      if (typeof exposed !== 'function') throw new Error('V8 did not expose its collection');
      gc = exposed as Collect;
    }
    gc({ type: 'major', execution: 'sync', flavor });
  };
}
