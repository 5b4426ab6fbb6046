import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TestProcess } from '../harness/processes.js';
import { groupBody, ownSamples, repoRoot, startLethe, type Lethe } from './support.js';

/**
 * A store that no longer fits: filled under a large heap with the heap guard off, then started
 * again under a heap too small to hold it (a container given less memory). V8 used to abort while
 * the restored groups were read back ("JavaScript heap out of memory"), at every restart alike.
 * Now Lethe stops by itself with a message that says so and about how much heap the store needs,
 * exit code 2, the file untouched; given the memory again, it restores every group.
 */

const GROUPS = 600;
const PER_FAMILY = 500;

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

describe('a restored store larger than the heap', () => {
  let dir = '';
  let lethe: Lethe | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(process.env['TMPDIR'] ?? '/tmp', 'lethe-restore-heap-'));
  });
  afterAll(async () => {
    await lethe?.proc.kill();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('stops Lethe with the reason and the heap it needs, leaves the file as it is, and restores everything with more memory', async () => {
    const file = join(dir, 'store.data');
    const big = ['--max-old-space-size=160', '--max-semi-space-size=1'];
    lethe = await startLethe({ file, nodeFlags: big, flags: ['--limits.heap-share=0'], name: 'restore-heap-fill' });
    const filling = lethe;
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < GROUPS) {
          const g = next++;
          const res = await fetch(`${filling.url}/metrics/job/heap/instance/i${g}`, { method: 'PUT', body: groupBody(g, { perFamily: PER_FAMILY, ownLabel: true }), signal: AbortSignal.timeout(30_000) });
          expect(res.status).toBe(200);
        }
      }),
    );
    await lethe.proc.stop();
    const before = await sha256(file);

    // 36 MiB of heap: the groups' families need about 42 MiB once read back.
    const log = join(dir, 'small.log');
    const small = new TestProcess({
      name: 'lethe',
      command: process.execPath,
      args: ['--max-old-space-size=36', '--max-semi-space-size=1', join(repoRoot, 'dist', 'main.js'), '--web.listen-address=127.0.0.1:0', `--persistence.file=${file}`],
      cwd: repoRoot,
      logFile: log,
    });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([small.wait(), new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running after 60 s'), 60_000)))]);
    clearTimeout(timer);
    await small.kill();
    const stderr = (await readFile(log, 'utf8')).split('\n').filter((line) => line.startsWith('lethe: '));
    expect({ code, stderr }).toEqual({
      code: 2,
      stderr: [
        expect.stringMatching(
          /^lethe: the stored groups do not fit in V8's heap: with \d+ of their 601200 series read back, the heap holds \d+ MiB after a full collection, of its limit of \d+ MiB, and the whole store needs about \d+ MiB\. Give Lethe more memory .*the persistence file is left as it is$/,
        ),
      ],
    });
    expect(await sha256(file)).toBe(before);

    // Given the memory again: every group, every series.
    lethe = await startLethe({ file, nodeFlags: big, name: 'restore-heap-again' });
    const res = await fetch(`${lethe.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
    expect(res.status).toBe(200);
    const instances = new Set([...(await res.text()).matchAll(/^jobs_done_total\{[^}]*instance="(i\d+)"[^}]*\} /gm)].map((m) => m[1]));
    expect(instances.size).toBe(GROUPS);
    expect((await ownSamples(lethe, 'lethe_series')).get('lethe_series')).toBe(601_200);
  });
});
