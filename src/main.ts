// First: holds V8's young generation small while the rest loads (see the module).
import { youngGeneration } from './young-generation.js';
import { readFileSync } from 'node:fs';
import { enableCompileCache } from 'node:module';

/**
 * Lethe's entry point: what must happen before the rest of Lethe is compiled, then root.ts.
 *
 * V8's compile cache keeps the compiled code of Lethe and its dependencies in the temporary
 * directory (`NODE_COMPILE_CACHE` chooses another; the chart's /tmp is an emptyDir, so a
 * restarted container finds it), so a restart skips compiling them. It must be on before the
 * modules are loaded, and static imports are loaded before any code of the module that imports
 * them runs: root.ts and everything it imports are loaded below, dynamically. Without a
 * writable directory Lethe starts as fast as without the cache.
 */

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Fall through: a missing package.json only loses the version label.
  }
  return 'unknown';
}

enableCompileCache();
const root = await import('./root.js');
// Everything is loaded: the young generation may grow again, to its cap, before the store is read.
youngGeneration?.started();
// Writes over HTTP let it grow back after a collection gave it back (see the module).
root.main(readVersion(), () => youngGeneration?.written());
