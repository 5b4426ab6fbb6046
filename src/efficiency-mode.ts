import { setFlagsFromString } from 'node:v8';

/**
 * V8's efficiency mode, for how it tiers code up: a function is optimised by TurboFan, V8's top
 * compiler, only once it has been called 15,000 times (by default, after a few hundred calls);
 * until then it runs as Maglev compiled it. TurboFan's compilations are what a long-running Lethe
 * paid for in memory it never gave back: their working memory is taken from the C heap by V8's
 * compiler threads and stays with the process (glibc keeps it for reuse), and its code is larger.
 * An empty Lethe, filled as `make bench` fills it to 40,000 series (1,000 groups of 10 series,
 * eleven scrapes, 3,000 groups more), held 97-110 MiB two seconds later, 91 MiB with efficiency
 * mode (five runs each); docs/operations.md, "Memory", and docs/benchmarks.md have the rest.
 *
 * Efficiency mode also makes V8 collect garbage without its helper threads; that part saves no
 * memory here and lengthens the pauses of a large heap, so it is turned back off
 * (`--no-single-threaded-gc-in-background`).
 *
 * V8 reads both flags when it decides, so they are set at start, before the rest of Lethe is
 * loaded (main.ts). Left alone when node was started with `--efficiency-mode` or
 * `--no-efficiency-mode` itself: whoever set it chose.
 */

const FLAGS = ['--efficiency-mode', '--no-single-threaded-gc-in-background'];

/** Whether node's own arguments already choose efficiency mode, on or off. */
export function efficiencyModeChosen(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--(no-)?efficiency[-_]mode(=|$)/.test(arg));
}

/** Turns efficiency mode on unless node's arguments chose; returns whether it did. */
export function useEfficiencyMode(execArgv: readonly string[], setFlags: (flag: string) => void = setFlagsFromString): boolean {
  if (efficiencyModeChosen(execArgv)) return false;
  for (const flag of FLAGS) setFlags(flag);
  return true;
}
