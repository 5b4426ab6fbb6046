/**
 * PURE: when V8's young generation may grow (young-generation.ts applies it to the process: the
 * growth factor is the one knob a running program has). Kept apart so that tests can use it
 * without changing the collector of the process they run in.
 */
/** Lets V8's young generation grow at start (to `caps.start` bytes) and on writes (to `caps.writes`), and stops it. */
export class YoungGenerationCap {
  /** The size growing stops at; undefined: not growing. */
  #until: number | undefined;
  /** Growing since start-up: until the cap, across collections (restoring the store grows it as writes do). */
  #acrossCollections = false;

  constructor(
    private readonly caps: { readonly start: number; readonly writes: number },
    private readonly newSpaceBytes: () => number,
    private readonly setGrowthFactor: (factor: 1 | 2) => void,
  ) {
    setGrowthFactor(1);
  }

  /** Everything is loaded: grow to the start cap. */
  started(): void {
    this.#acrossCollections = true;
    this.#grow(this.caps.start);
  }

  /** A write is about to run: it may grow the young generation, until collections are seen. */
  written(): void {
    if (this.#until === undefined) this.#grow(this.caps.writes);
  }

  /** Collections were seen: stop growing at the cap, and after a write's growth whatever the size. */
  collected(): void {
    if (this.#until === undefined || (this.#acrossCollections && this.newSpaceBytes() < this.#until)) return;
    this.#until = undefined;
    this.#acrossCollections = false;
    this.setGrowthFactor(1);
  }

  #grow(cap: number): void {
    if (this.newSpaceBytes() >= cap) return;
    this.#until = cap;
    this.setGrowthFactor(2);
  }
}
