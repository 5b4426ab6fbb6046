import { setFlagsFromString } from 'node:v8';

/**
 * A full garbage collection once writes stop. Every push replaces a group's data, and the data it
 * replaced has usually lived long enough to reach V8's old generation, where it stays (and counts
 * in resident memory) until the old generation next fills up. V8's own memory reducer would
 * collect it once Lethe is idle, but it judges idleness by the allocation rate it measured at its
 * last collection, so after a burst of pushes it keeps waiting. Lethe collects itself instead,
 * `quietMs` after the last write: after filling 100,000 series, about 15 MB less resident memory
 * (a quarter of it from compacting, the 'last-resort' flavour); after 1,000,000, a heap of 250 MB
 * became 77 MB. The collection pauses Lethe: V8 collects twice, 130-175 ms in all at 100,000
 * series, 0.3 s at 1,000,000.
 *
 * Collections are held to a share of the time (`budget`): after one that took d ms, the next
 * waits at least d / budget ms, so pushes that keep coming every second into a large store do not
 * pay a full collection each time. The collection is V8's own (node's `--expose-gc`), exposed to
 * Lethe alone when first needed.
 */
export class IdleCollection {
  #timer: NodeJS.Timeout | undefined;
  #written = false;
  #notBefore = 0;

  constructor(
    private readonly options: { readonly quietMs: number; readonly budget: number; readonly collect: () => void; readonly now: () => number },
  ) {}

  /** A write happened: collect once `quietMs` pass without another. */
  written(): void {
    this.#written = true;
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#fire(), this.options.quietMs).unref();
    else this.#timer.refresh();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    if (!this.#written) return;
    const { now, collect, budget } = this.options;
    const at = now();
    if (at < this.#notBefore) {
      // Over budget: collect once it allows (a write meanwhile puts it off again).
      this.#timer = setTimeout(() => this.#fire(), this.#notBefore - at).unref();
      return;
    }
    this.#written = false;
    collect();
    const took = now() - at;
    this.#notBefore = at + took / budget;
  }
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
