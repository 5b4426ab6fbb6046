import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../harness/eventually.js';
import { Ledger, fiuCtrl, mountTmpfs, ownSamples, push, requireRoot, scrape, seeded, startLethe, status, unmount, type Lethe } from './support.js';

/**
 * Syscalls that really fail: Lethe runs under libfiu's fiu-run, and fiu-ctrl switches failure
 * points on and off while pushes and scrapes run — EIO and short writes on pwrite, EIO on
 * fdatasync and fsync, a failed rename while compacting (the compaction threshold is tiny so it
 * runs often). Each round is killed with SIGKILL at a random moment and restarted without faults.
 * The rounds come from a printed seed (FAULT_SEED=<n> replays the schedule; FAULT_ROUNDS sets
 * how many). Per round and in all: acknowledged ⊆ restored, refused ∩ restored = ∅, refused
 * never served, and the restart always comes up (never a crash loop).
 */

interface Fault {
  readonly name: string;
  /** fiu-ctrl commands that switch it on, given a probability. */
  on(p: number): string[];
  readonly points: readonly string[];
}

const EIO = 5;
const ENOSPC = 28;

const FAULTS: readonly Fault[] = [
  {
    name: 'pwrite EIO',
    points: ['posix/io/rw/pwrite'],
    on: (p) => [`enable_random name=posix/io/rw/pwrite,probability=${p},failinfo=${EIO}`],
  },
  {
    name: 'short pwrite, some ending in ENOSPC',
    points: ['posix/io/rw/pwrite/reduce', 'posix/io/rw/pwrite'],
    on: (p) => [`enable_random name=posix/io/rw/pwrite/reduce,probability=${Math.min(1, p * 3)}`, `enable_random name=posix/io/rw/pwrite,probability=${p / 2},failinfo=${ENOSPC}`],
  },
  {
    name: 'fdatasync EIO',
    points: ['posix/io/sync/fdatasync'],
    on: (p) => [`enable_random name=posix/io/sync/fdatasync,probability=${p},failinfo=${EIO}`],
  },
  {
    name: 'rename and directory fsync EIO (compaction)',
    points: ['posix/io/dir/rename', 'posix/io/sync/fsync'],
    on: (p) => [`enable_random name=posix/io/dir/rename,probability=${Math.min(1, p * 4)},failinfo=${EIO}`, `enable_random name=posix/io/sync/fsync,probability=${p},failinfo=${EIO}`],
  },
  {
    name: 'all of them',
    points: ['posix/io/rw/pwrite', 'posix/io/rw/pwrite/reduce', 'posix/io/sync/fdatasync', 'posix/io/dir/rename', 'posix/io/sync/fsync'],
    on: (p) => [
      `enable_random name=posix/io/rw/pwrite,probability=${p / 2},failinfo=${EIO}`,
      `enable_random name=posix/io/rw/pwrite/reduce,probability=${p}`,
      `enable_random name=posix/io/sync/fdatasync,probability=${p / 2},failinfo=${EIO}`,
      `enable_random name=posix/io/dir/rename,probability=${p},failinfo=${EIO}`,
      `enable_random name=posix/io/sync/fsync,probability=${p / 2},failinfo=${EIO}`,
    ],
  },
];

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface RoundFigures {
  readonly round: number;
  readonly fault: string;
  readonly acknowledged: number;
  readonly refused: number;
  readonly unknown: number;
  readonly restored: number;
  readonly lost: string[];
  readonly refusedRestored: string[];
  readonly servedWhileRefused: string[];
  readonly healedWithoutPushes: boolean | undefined;
  readonly errors: string;
  readonly unexpected: string[];
}

describe('a refused write is cut back before it is answered', () => {
  let dir = '';
  const running: Lethe[] = [];
  beforeAll(async () => {
    requireRoot();
    dir = await mountTmpfs('64m');
  });
  afterAll(async () => {
    for (const lethe of running) await lethe.proc.kill();
    if (dir !== '') await unmount(dir);
  });

  // The retry timer is slowed down so that nothing but the cut-back can remove the refused
  // records before the kill.
  const flags = ['--persistence.retry-interval=10m'];

  test.each([
    ['a failed fdatasync (the records are complete in the file)', ['enable name=posix/io/sync/fdatasync,failinfo=5']],
    ['short writes that end in ENOSPC (complete records before the failure)', ['enable name=posix/io/rw/pwrite/reduce', 'enable_random name=posix/io/rw/pwrite,probability=0.5,failinfo=28']],
  ])('%s: refused pushes killed right after their 503 are not restored', async (_name, commands) => {
    const file = join(dir, `cut-${running.length}.data`);
    const control = join(dir, `fiu-cut-${running.length}`);
    const lethe = await startLethe({ file, flags, fiuControl: control, name: 'cut-back' });
    running.push(lethe);
    const ledger = new Ledger();
    for (let g = 0; g < 8; g++) ledger.record(`g${g}`, g, (await push(lethe, `g${g}`, g, 20)).outcome);
    expect(ledger.count('acknowledged')).toBe(8);
    await fiuCtrl(lethe, control, ...commands);
    // Eight pushes at once, so that a batch holds several records.
    const answers = await Promise.all(Array.from({ length: 8 }, (_, g) => push(lethe, `g${g}`, 100 + g, 20)));
    answers.forEach((answer, g) => ledger.record(`g${g}`, 100 + g, answer.outcome));
    await lethe.proc.kill();
    const restarted = await startLethe({ file, flags, name: 'cut-back-restart' });
    running.push(restarted);
    const check = ledger.checkRestored((await scrape(restarted)) ?? new Map<string, number>());
    console.log(
      `cut-back (${_name}): acknowledged ${ledger.count('acknowledged')}, refused ${ledger.count('refused')}, ` +
        `refused-but-restored ${check.refusedRestored.length}, acknowledged-but-lost ${check.lost.length}`,
    );
    expect(check.refusedRestored).toEqual([]);
    expect(check.lost).toEqual([]);
    // The fault did bite (a write that ended in an error was not taken for a short success).
    expect(ledger.count('refused')).toBeGreaterThan(0);
    await restarted.proc.stop();
  }, 120_000);
});

describe('syscall faults with SIGKILL at random moments', () => {
  const seed = Number(process.env['FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
  const rounds = Number(process.env['FAULT_ROUNDS'] ?? 10);
  let dir = '';
  const running: Lethe[] = [];
  beforeAll(async () => {
    requireRoot();
    // A tmpfs keeps the many fsyncs cheap; the faults come from libfiu, not from the disk.
    dir = await mountTmpfs('256m');
    console.log(`syscall fault rounds: FAULT_SEED=${seed} FAULT_ROUNDS=${rounds} (set both to replay)`);
  });
  afterAll(async () => {
    for (const lethe of running) await lethe.proc.kill();
    if (dir !== '') await unmount(dir);
  });

  test('acknowledged ⊆ restored, refused ∩ restored = ∅, refused never served, never a crash loop', async () => {
    const figures: RoundFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      // The schedule draws from its own stream, so that FAULT_SEED replays it whatever the timing.
      const random = seeded(seed * 1_000 + round);
      const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
      const sizes = seeded(seed * 1_000 + round + 500);
      const fault = FAULTS[round % FAULTS.length] ?? FAULTS[0]!;
      const probability = [0.05, 0.15, 0.3][between(0, 2)] ?? 0.15;
      const file = join(dir, `round-${round}.data`);
      const control = join(dir, `fiu-${round}`);
      const flags = ['--persistence.retry-interval=300ms', '--persistence.compact-bytes=4096'];
      const ledger = new Ledger();
      const unexpected: string[] = [];
      let seq = round * 1_000_000;
      let stop = false;

      const lethe = await startLethe({ file, flags, fiuControl: control, name: `syscall-${round}` });
      running.push(lethe);
      // Four workers, each with its own three groups, pushed in turn with rising values.
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const key = `w${w}-g${i % 3}`;
          const value = ++seq;
          const answer = await push(lethe, key, value, Math.floor(sizes() * 41));
          if (answer.status !== 200 && answer.status !== 503 && answer.status !== 0) unexpected.push(`${answer.status} ${answer.body}`);
          ledger.record(key, value, answer.outcome);
        }
      };
      const scraper = async (): Promise<void> => {
        while (!stop) {
          const served = await scrape(lethe);
          if (served !== undefined) ledger.sawScrape(served);
        }
      };
      const load = [...Array.from({ length: 4 }, (_, w) => worker(w)), scraper()];

      await pause(between(200, 600));
      await fiuCtrl(lethe, control, ...fault.on(probability));
      await pause(between(500, 2_500));
      let healedWithoutPushes: boolean | undefined;
      if (random() < 0.4) {
        // The fault clears and pushes stop: readiness must come back by itself.
        await fiuCtrl(lethe, control, ...fault.points.map((p) => `disable name=${p}`));
        stop = true;
        await Promise.all(load);
        await eventually(async () => expect((await status(lethe, '/-/ready')).status).toBe(200), { timeout: 30_000 });
        healedWithoutPushes = true;
        // One more scrape: every acknowledged push is served.
        const served = (await scrape(lethe)) ?? new Map<string, number>();
        ledger.sawScrape(served);
        expect(ledger.checkRestored(served).lost).toEqual([]);
      }
      const errors = [...(await ownSamples(lethe, 'lethe_persistence_errors_total').catch(() => new Map<string, number>()))]
        .map(([k, v]) => `${k.replace('lethe_persistence_errors_total', '')}=${v}`)
        .join(' ');
      stop = true;
      await lethe.proc.kill();
      await Promise.all(load);

      // Restarted without faults: it must come up on whatever the kill left.
      const restarted = await startLethe({ file, flags, name: `syscall-${round}-restart` });
      running.push(restarted);
      await eventually(async () => expect((await status(restarted, '/-/ready')).status).toBe(200), { timeout: 30_000 });
      const restored = (await scrape(restarted)) ?? new Map<string, number>();
      const check = ledger.checkRestored(restored);
      await restarted.proc.stop();
      await rm(file, { force: true });
      const result: RoundFigures = {
        round,
        fault: `${fault.name} p=${probability}`,
        acknowledged: ledger.count('acknowledged'),
        refused: ledger.count('refused'),
        unknown: ledger.count('unknown'),
        restored: restored.size,
        lost: check.lost,
        refusedRestored: check.refusedRestored,
        servedWhileRefused: ledger.servedWhileRefused(),
        healedWithoutPushes,
        errors,
        unexpected,
      };
      figures.push(result);
      console.log(
        `round ${round} (${result.fault}): acknowledged ${result.acknowledged}, refused ${result.refused}, unknown ${result.unknown}, ` +
          `restored ${result.restored} groups, acknowledged-but-lost ${result.lost.length}, refused-but-restored ${result.refusedRestored.length}, ` +
          `served-while-refused ${result.servedWhileRefused.length}${healedWithoutPushes === true ? ', healed without pushes' : ''}; errors ${errors || 'none'}`,
      );
    }
    const sum = (f: (r: RoundFigures) => number): number => figures.reduce((n, r) => n + f(r), 0);
    console.log(
      `syscall fault totals (FAULT_SEED=${seed}, ${rounds} rounds): acknowledged ${sum((r) => r.acknowledged)}, refused ${sum((r) => r.refused)}, ` +
        `unknown ${sum((r) => r.unknown)}, restored ${sum((r) => r.restored)} groups, acknowledged-but-lost ${sum((r) => r.lost.length)}, ` +
        `refused-but-restored ${sum((r) => r.refusedRestored.length)}, served-while-refused ${sum((r) => r.servedWhileRefused.length)}`,
    );
    expect(figures.flatMap((r) => r.lost.map((x) => `round ${r.round}: lost ${x}`))).toEqual([]);
    expect(figures.flatMap((r) => r.refusedRestored.map((x) => `round ${r.round}: refused but restored ${x}`))).toEqual([]);
    expect(figures.flatMap((r) => r.servedWhileRefused.map((x) => `round ${r.round}: refused but served ${x}`))).toEqual([]);
    expect(figures.flatMap((r) => r.unexpected.map((x) => `round ${r.round}: ${x}`))).toEqual([]);
    // The faults did bite: some pushes were refused.
    expect(sum((r) => r.refused)).toBeGreaterThan(0);
  }, 900_000);
});
