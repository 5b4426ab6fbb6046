import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation small. V8 doubles each semi-space whenever much of it survives a
 * scavenge, up to 64 MiB on a machine with several GiB: a store's data survives by nature, so
 * after a fill the young generation alone held 128 MiB of resident memory (half of Lethe's at
 * 100,000 series) that stored nothing. `--max-semi-space-size` is read only when the heap is made,
 * which a program cannot reach, but the growth factor is read at each growth (so on Node 24; a
 * V8 that read it only at start would just leave the young generation as it was).
 * docs/operations.md, "Memory", has the figures.
 *
 * Left alone when node was started with a semi-space flag (its own arguments or NODE_OPTIONS,
 * the only process state read outside main.ts): whoever set it chose.
 *
 * main.ts imports this module first, for its one effect at import: the young generation is held
 * at its smallest (1 MiB semi-spaces) while the other modules load (ES modules are evaluated in
 * import order, before main.ts's own code runs), then `youngGeneration.started()` lets it grow
 * again and stops it at the first growth a collection sees past 4 MiB (so at 4 or 8 MiB per
 * semi-space).
 */

function capYoungGeneration(semiSpaceMiB: number, execArgv: readonly string[], nodeOptions: string): { started(): void } | undefined {
  if ([...execArgv, nodeOptions].some((arg) => arg.includes('semi-space'))) return undefined;
  setFlagsFromString('--semi-space-growth-factor=1');
  const cap = 2 * semiSpaceMiB * 1024 * 1024;
  const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  return {
    started: () => {
      if (newSpace() >= cap) return;
      setFlagsFromString('--semi-space-growth-factor=2');
      const observer = new PerformanceObserver(() => {
        if (newSpace() < cap) return;
        setFlagsFromString('--semi-space-growth-factor=1');
        observer.disconnect();
      });
      observer.observe({ entryTypes: ['gc'] });
    },
  };
}

export const youngGeneration = capYoungGeneration(4, process.execArgv, process.env['NODE_OPTIONS'] ?? '');
