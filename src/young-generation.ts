import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { YoungGenerationCap } from './young-generation-cap.js';

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
 * semi-space), which is what restoring the store needs.
 *
 * A collection that reduces memory (Lethe's own once writes stop, idle-collection.ts, or V8's
 * memory reducer) gives the young generation back, down to 0.5-1 MiB semi-spaces, and with the
 * growth factor at 1 it stayed there for good: every later push ran with it, scavenged several
 * times per push of 5,000 series and promoting what would have died young. So a write that finds
 * it below 8 MiB semi-spaces lets it grow (`written()`) until the next collections are seen: pushes
 * bring it to 8 (or 16) MiB semi-spaces, while scrapes and an idle Lethe leave it small, and the
 * next idle collection gives it back. 5,000-series PUTs one at a time, fresh and after a second
 * idle, in turns with the build before: 56-69 -> 74-89 req/s; resident memory after the fills and
 * scrapes and after a restart unchanged. Growth is not allowed between writes because
 * collections are reported after the fact, in batches: with the factor left at 2, a scrape of
 * 100,000 series grew it to its 64 MiB maximum before one was seen.
 */

/** What main.ts and the HTTP server see of the cap. */
export interface YoungGeneration {
  /** Everything is loaded: the young generation may grow to its cap (before the store is read). */
  started(): void;
  /** A write is about to run (a push, delete or wipe over HTTP). */
  written(): void;
}

function capYoungGeneration(semiSpaceMiB: { start: number; writes: number }, execArgv: readonly string[], nodeOptions: string): YoungGeneration | undefined {
  if ([...execArgv, nodeOptions].some((arg) => arg.includes('semi-space'))) return undefined;
  const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  const bytes = (mib: number): number => 2 * mib * 1024 * 1024;
  const cap = new YoungGenerationCap({ start: bytes(semiSpaceMiB.start), writes: bytes(semiSpaceMiB.writes) }, newSpace, (factor) => setFlagsFromString(`--semi-space-growth-factor=${factor}`));
  return {
    started: () => {
      cap.started();
      // Entries come in batches after the collections: one look per batch.
      new PerformanceObserver(() => cap.collected()).observe({ entryTypes: ['gc'] });
    },
    // main.ts calls started() before the server exists, so every write comes after it.
    written: () => cap.written(),
  };
}

export const youngGeneration = capYoungGeneration({ start: 4, writes: 8 }, process.execArgv, process.env['NODE_OPTIONS'] ?? '');
