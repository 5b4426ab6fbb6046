/** Waiting helpers instead of sleeps (STYLE.md "No sleeps"). */

export interface WaitOptions {
  readonly timeout?: number;
  readonly interval?: number;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries `fn` until it returns without throwing (and, when it returns a boolean, returns true).
 * Resolves with fn's value; rejects with the last error when the timeout passes.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: WaitOptions = {}): Promise<T> {
  const timeout = options.timeout ?? 10_000;
  const interval = options.interval ?? 100;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== false) return value;
      lastError = new Error('condition returned false');
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`eventually: gave up after ${timeout} ms: ${String(lastError)}`, { cause: lastError });
    }
    await pause(interval);
  }
}

/** Checks that `fn` keeps holding (does not throw, does not return false) for `duration` ms. */
export async function consistently(
  fn: () => unknown,
  options: { readonly duration?: number; readonly interval?: number } = {},
): Promise<void> {
  const duration = options.duration ?? 3_000;
  const interval = options.interval ?? 200;
  const deadline = Date.now() + duration;
  for (;;) {
    const value = await fn();
    if (value === false) throw new Error('consistently: condition returned false');
    if (Date.now() >= deadline) return;
    await pause(interval);
  }
}
