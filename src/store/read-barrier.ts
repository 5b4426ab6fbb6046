/**
 * The read barrier of a store that applies writes in memory before they are durable (group
 * commit): a reader sees only writes that are durable, never one that may still be refused.
 *
 * `read(fn)` runs fn once nothing applied so far is waiting for the disk (every such write is
 * durable or undone). While a reader waits, new writes are held and applied in call order right
 * after the readers ran, so a reader waits for at most the writes in flight when it came (about
 * two fsyncs) and cannot be starved by a stream of pushes. fn runs synchronously at that moment:
 * a promise resolving first would let a push slip in (in a microtask) before the reader's
 * continuation renders.
 */
export class ReadBarrier {
  private readers: (() => void)[] = [];
  private held: (() => void)[] = [];

  /** `unsettled`: how many applied writes are not yet durable or undone. */
  constructor(private readonly unsettled: () => number) {}

  /** Applies a write now, or after the waiting readers. `apply` changes memory synchronously. */
  write<T>(apply: () => Promise<T>): Promise<T> {
    if (this.readers.length === 0) return call(apply);
    return new Promise<T>((resolve, reject) => {
      this.held.push(() => {
        call(apply).then(resolve, reject);
      });
    });
  }

  /** Runs `read` once every write applied so far is durable or undone. */
  read<T>(read: () => T): Promise<T> {
    if (this.readers.length === 0 && this.unsettled() === 0) return call(() => read());
    return new Promise<T>((resolve, reject) => {
      this.readers.push(() => {
        call(() => read()).then(resolve, reject);
      });
    });
  }

  /** Call whenever writes became durable or were undone: runs the readers, then the held writes. */
  settled(): void {
    if (this.readers.length === 0 || this.unsettled() > 0) return;
    const readers = this.readers;
    this.readers = [];
    for (const reader of readers) reader();
    const held = this.held;
    this.held = [];
    for (const write of held) write();
  }
}

/** Calls fn; a synchronous throw becomes a rejection. */
function call<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
