/**
 * fast-check's assert, fed by the budget (runs, seed) and the probe, with failure reports cut to
 * a readable size (a counterexample can be a 64 KiB body); the seed and path in the report
 * reproduce it in full.
 */

import fc from 'fast-check';
import type { FuzzRun } from './budget.js';

const REPORT_LIMIT = 6000;

/** The report with its cause (what failed, which fast-check keeps apart), cut to a readable size. */
function shortened(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const cut = (m: string): string => (m.length <= REPORT_LIMIT ? m : `${m.slice(0, REPORT_LIMIT / 2)}\n[… ${m.length - REPORT_LIMIT} characters …]\n${m.slice(-REPORT_LIMIT / 2)}`);
  const cause = err.cause instanceof Error ? `\nCause: ${cut(err.cause.message)}` : '';
  return new Error(`${cut(err.message)}${cause}`);
}

export function assertProperty<T>(
  fuzz: FuzzRun,
  arb: fc.Arbitrary<T>,
  input: (t: T) => Uint8Array | string,
  predicate: (t: T) => void,
): Promise<void> {
  try {
    fc.assert(
      fc.property(arb, (t) => {
        fuzz.probe.tick(input(t));
        predicate(t);
      }),
      { numRuns: fuzz.runs, seed: fuzz.seed },
    );
  } catch (err) {
    return Promise.reject(shortened(err));
  }
  return Promise.resolve();
}

/**
 * The async variant. `shrink: false` reports the first failing input as it is: for properties
 * over a shared, stateful server, where a failure leaves state behind and every later input would
 * "fail" too, shrinking would only mislead.
 */
export async function assertAsyncProperty<T>(
  fuzz: FuzzRun,
  arb: fc.Arbitrary<T>,
  input: (t: T) => Uint8Array | string,
  predicate: (t: T) => Promise<void>,
  options: { readonly shrink?: boolean } = {},
): Promise<void> {
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (t) => {
        fuzz.probe.tick(input(t));
        await predicate(t);
      }),
      { numRuns: fuzz.runs, seed: fuzz.seed, endOnFailure: options.shrink === false },
    );
  } catch (err) {
    throw shortened(err);
  }
}
