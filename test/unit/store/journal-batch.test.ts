import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../../src/store/journal.js';

/** Group commit: records appended in the same turn of the event loop are written and synced together. */
describe('Journal: group commit', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-journal-batch-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a burst of appends is one write and one fsync, not the first alone and then the rest', async () => {
    const batches: number[] = [];
    const file = join(dir, 'data');
    const journal = await Journal.open({ file, validBytes: 0, now: () => 0, retryMs: 1000, hooks: { onFlush: (records) => batches.push(records) } });
    const deleted = (i: number) => ({ t: 'd' as const, k: [['job', 'burst'], ['instance', `i${i}`]] as [string, string][] });
    await Promise.all(Array.from({ length: 16 }, (_, i) => journal.append(deleted(i))));
    expect(batches).toEqual([16]);
    // One append alone is written at once, as before.
    await journal.append(deleted(16));
    expect(batches).toEqual([16, 1]);
    await journal.close();
    expect((await readFile(file, 'utf8')).split('\n').filter((line) => line.includes('burst'))).toHaveLength(17);
  });
});
