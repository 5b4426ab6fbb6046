import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../harness/eventually.js';
import { groupBody, startLethe, type Lethe } from './support.js';

/**
 * A V8 heap that really runs short: Lethe under a heap limit (node's --max-old-space-size) that
 * holds its store with room to spare, but not twice over, filled over HTTP until its persistence
 * file is rewritten (compacted). The rewrite must not hold a second copy of the store in memory
 * (it did: the records of every group, then their text, then that text joined, about as much again
 * as the store, and Lethe died of it, "JavaScript heap out of memory"). Lethe stays up, the file is
 * compacted, and a restart under the same limit restores every group. (A scrape of the whole
 * store is not part of it: its first rendering of 400,000 series needs more than this heap has.)
 */

/** 40,000 groups of ten series (two families, with help): a journal of about 26 MB. */
const GROUPS = 40_000;
/** Calibrated on a 2-core machine: a rewrite that holds a second copy of the store died at 150-210 MiB, one a chunk at a time lived at 150. */
const HEAP_MIB = 180;
const COMPACT_BYTES = 24_000_000;

describe('a heap limit', () => {
  let dir = '';
  let lethe: Lethe | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(process.env['TMPDIR'] ?? '/tmp', 'lethe-heap-'));
  });
  afterAll(async () => {
    await lethe?.proc.kill();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('compacting a store that fills most of the heap keeps Lethe up; a restart under the same limit restores every group', async () => {
    const file = join(dir, 'lethe.data');
    const options = { file, nodeFlags: [`--max-old-space-size=${HEAP_MIB}`], flags: [`--persistence.compact-bytes=${COMPACT_BYTES}`], name: 'heap-limit' };
    lethe = await startLethe(options);
    const target = lethe;
    let next = 0;
    const refused: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let g = next++; g < GROUPS && target.proc.running; g = next++) {
          const res = await fetch(`${target.url}/metrics/job/heap/instance/i${g}`, { method: 'PUT', body: groupBody(g), signal: AbortSignal.timeout(30_000) }).catch((err: unknown) => err);
          if (!(res instanceof Response)) refused.push(String(res));
          else if (res.status !== 200) refused.push(`${res.status} ${await res.text()}`);
          else await res.arrayBuffer();
        }
      }),
    );
    expect(refused.slice(0, 3)).toEqual([]);
    await eventually(() => expect(target.logLines().some((l) => l['message'] === 'Compacted persistence file')).toBe(true), { timeout: 30_000 });
    expect(target.proc.running).toBe(true);

    // Restarted under the same limit (the store as it was, read back from the compacted file and the
    // pushes after it): every group, every series (ten each and two meta series).
    await target.proc.kill();
    lethe = await startLethe(options);
    const restarted = lethe;
    const opened = await eventually(() => {
      const line = restarted.logLines().find((l) => l['message'] === 'Opened store');
      expect(line).toBeDefined();
      return line ?? {};
    });
    expect(opened).toMatchObject({ groups: GROUPS, series: GROUPS * 12 });
    await eventually(async () => expect((await fetch(`${restarted.url}/-/ready`)).status).toBe(200), { timeout: 30_000 });
    expect(restarted.proc.running).toBe(true);
  });
});
