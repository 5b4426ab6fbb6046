/**
 * How many inputs each property gets, and from which seed. The same properties run in two
 * sizes: a reduced one in the unit tier (about 2,000 inputs in all, seconds) and the full one
 * in `make fuzz` (FUZZ_RUNS inputs in all, 120,000 by default). The seed is fixed, printed, and
 * can be changed with FUZZ_SEED; each property derives its own stream from it and its name, so a
 * failure is reproduced by running that property alone with the same seed.
 */

/** Observes every input a property feeds to the code under test (the runner's hang watchdog). */
export interface Probe {
  tick(input: Uint8Array | string): void;
}

export const noProbe: Probe = { tick: () => undefined };

export interface FuzzRun {
  readonly runs: number;
  readonly seed: number;
  readonly probe: Probe;
}

export interface FuzzProperty {
  readonly name: string;
  /** Share of the total inputs (relative to the other properties). */
  readonly weight: number;
  /**
   * Runs the property; throws (fast-check's report, with the shrunk counterexample) on failure.
   * May resolve with a note for the report (e.g. how the answers were spread).
   */
  run(fuzz: FuzzRun): Promise<string | void>;
}

export const DEFAULT_SEED = 20261125;
export const DEFAULT_FULL_RUNS = 120_000;
export const UNIT_RUNS = 2_000;

/** A positive integer from the environment, or the default. */
export function positiveIntegerFrom(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** The base seed: FUZZ_SEED, else the fixed default. */
export function baseSeed(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntegerFrom(env['FUZZ_SEED'], DEFAULT_SEED);
}

/** A property's own seed: the base seed mixed with its name (FNV-1a), as a 31-bit integer. */
export function propertySeed(base: number, name: string): number {
  let h = 0x811c9dc5 ^ base;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 1) & 0x7fffffff;
}

/** Splits `total` inputs over the properties by weight; every property gets at least `min`. */
export function shareOf(total: number, property: FuzzProperty, all: readonly FuzzProperty[], min = 10): number {
  const sum = all.reduce((s, p) => s + p.weight, 0);
  return Math.max(min, Math.ceil((total * property.weight) / sum));
}
