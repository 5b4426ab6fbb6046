import { open, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { messageOf } from '../errors.js';

/**
 * The steps of writing the persistence file (journal.ts), each failure carrying the step it
 * happened in, and the file-system operations the journal needs beyond reads and writes.
 */

/** A step of writing the file that can fail; the `op` label of lethe_persistence_errors_total. */
export type PersistenceOp = 'open' | 'write' | 'sync' | 'dirsync' | 'truncate' | 'verify' | 'compact' | 'rename';

export class StepError extends Error {
  constructor(
    readonly op: PersistenceOp,
    readonly original: unknown,
  ) {
    super(messageOf(original));
  }
}

/** The step a failure happened in (`fallback` for anything not thrown by step()). */
export function stepOf(err: unknown, fallback: PersistenceOp): { readonly op: PersistenceOp; readonly original: unknown } {
  return err instanceof StepError ? err : { op: fallback, original: err };
}

/** Runs one step; a failure carries the step's name. */
export async function step<T>(op: PersistenceOp, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof StepError ? err : new StepError(op, err);
  }
}

export function mismatch(file: string, actual: number, expected: number): Error {
  return Object.assign(new Error(`${file} holds ${actual} bytes where ${expected} were acknowledged`), { code: 'EMISMATCH' });
}

export function tempPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.compact-${process.pid}`);
}

/** Removes compaction temp files a killed process left behind. */
export async function removeStaleTemps(file: string): Promise<void> {
  const prefix = `.${basename(file)}.compact-`;
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith(prefix)) await unlink(join(dirname(file), name)).catch(() => undefined);
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
