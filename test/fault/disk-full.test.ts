import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runGoPushClient } from '../harness/go-push-client.js';
import { readdir, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../harness/eventually.js';
import { Ledger, fillUp, mountTmpfs, ownSamples, push, requireRoot, resizeTmpfs, scrape, startLethe, status, unmount, type Lethe } from './support.js';

/**
 * A disk that really fills: Lethe's persistence file on a 3 MiB tmpfs, pushed to over HTTP until
 * the disk is full, killed and restarted on the full disk, then the filesystem grows (remount,
 * files kept) and Lethe must heal by itself. Every acknowledged push survives, no refused push
 * is ever served or restored, liveness never fails, readiness says why and comes back.
 */
describe('a full disk', () => {
  let dir = '';
  let lethe: Lethe | undefined;
  beforeAll(async () => {
    requireRoot();
    dir = await mountTmpfs('3m');
  });
  afterAll(async () => {
    await lethe?.proc.kill();
    if (dir !== '') await unmount(dir);
  });

  test('refuses what it cannot store, serves and restores only what it acknowledged, and heals when space returns', async () => {
    const file = join(dir, 'lethe.data');
    // Compactions run while the disk fills (the last ones fail for want of space for the copy).
    const flags = ['--persistence.retry-interval=500ms', '--persistence.compact-bytes=65536'];
    const ledger = new Ledger();
    let seq = 0;
    const unexpected: string[] = [];

    /** Workers push new groups (each about 9 KiB on disk) until `until()`; a scraper watches what is served. */
    const load = async (target: Lethe, until: () => boolean, prefix: string): Promise<void> => {
      let done = false;
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; !done && !until(); i++) {
          const key = `${prefix}${w}-${i}`;
          const value = ++seq;
          const answer = await push(target, key, value, 200);
          if (answer.status !== 200 && answer.status !== 503 && answer.status !== 0) unexpected.push(`${answer.status} ${answer.body}`);
          if (answer.status === 503 && !answer.body.includes('ENOSPC')) unexpected.push(`503 without ENOSPC: ${answer.body}`);
          ledger.record(key, value, answer.outcome);
        }
      };
      const scraper = async (): Promise<void> => {
        while (!done) {
          const served = await scrape(target);
          if (served !== undefined) ledger.sawScrape(served);
        }
      };
      const scraping = scraper();
      await Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
      done = true;
      await scraping;
    };

    // 1. Fill the disk: pushes go on until 30 have been refused.
    lethe = await startLethe({ file, flags, name: 'disk-full' });
    await load(lethe, () => ledger.count('refused') >= 30 || seq > 5_000, 'a');
    // What the refused batches took was cut back; another writer takes it, so the disk stays full.
    await fillUp(dir);
    const ackedWhileFilling = ledger.count('acknowledged');
    expect(ackedWhileFilling).toBeGreaterThan(50);
    expect(ledger.count('refused')).toBeGreaterThanOrEqual(30);

    // While full: not ready, with the reason; alive; the metric, the status and one log line say so.
    await eventually(async () => {
      const ready = await status(lethe!, '/-/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toContain('ENOSPC');
    });
    expect((await status(lethe, '/-/healthy')).status).toBe(200);
    const errors = await ownSamples(lethe, 'lethe_persistence_errors_total');
    expect(errors.get('lethe_persistence_errors_total{op="write",code="ENOSPC"}')).toBeGreaterThan(0);
    const apiStatus = JSON.parse((await status(lethe, '/api/v1/status')).body) as { data: { store: Record<string, unknown> } };
    expect(apiStatus.data.store).toMatchObject({ writable: false, code: 'ENOSPC' });
    const failedLines = lethe.logLines().filter((l) => l['message'] === 'Failed to write persistence file');
    const recoveredLines = lethe.logLines().filter((l) => l['message'] === 'Recovered persistence file');
    // One line per change of state: failing once more than recovered (while the disk was filling,
    // a push that still fitted may have healed it for a moment).
    expect(failedLines.length).toBe(recoveredLines.length + 1);
    expect(failedLines[0]).toMatchObject({ level: 'error', code: 'ENOSPC', file });

    // Every acknowledged push is served now; no refused push was ever served.
    const firstLogs = lethe.logLines();
    const servedNow = (await scrape(lethe)) ?? new Map<string, number>();
    expect(ledger.checkRestored(servedNow).lost).toEqual([]);
    expect(ledger.servedWhileRefused()).toEqual([]);

    // 2. Killed on the full disk (with pushes in flight) and restarted there: it starts (no crash loop).
    let stopKill = false;
    const inFlight = load(lethe, () => stopKill, 'k');
    await eventually(() => ledger.count('refused') >= 40, { timeout: 60_000 });
    stopKill = true;
    await lethe.proc.kill();
    await inFlight;
    lethe = await startLethe({ file, flags, name: 'disk-full-restart' });
    const afterFullRestart = (await scrape(lethe)) ?? new Map<string, number>();
    const full = ledger.checkRestored(afterFullRestart);
    expect(full.lost).toEqual([]);
    expect(full.refusedRestored).toEqual([]);
    // Readiness knows at once that the disk is full (start-up probes it).
    expect((await status(lethe, '/-/ready')).status).toBe(503);
    expect((await status(lethe, '/-/healthy')).status).toBe(200);
    const pushedWhileFull = await push(lethe, 'full-after-restart', ++seq, 200);
    ledger.record('full-after-restart', seq, pushedWhileFull.outcome);
    expect(pushedWhileFull.status).toBe(503);
    // A Go job's push gets the 503 and its reason back through client_golang.
    const goPush = await runGoPushClient(['-url', lethe.url, '-job', 'go-while-full', '-set', 'large']);
    expect(goPush.code).toBe(1);
    expect(goPush.stderr).toContain('unexpected status code 503');
    expect(goPush.stderr).toContain('ENOSPC');
    expect(await (await fetch(`${lethe.url}/metrics`)).text()).not.toContain('job="go-while-full"');
    // A small one may fit in what a cut-back tail freed: whichever answer it got must hold after the kill below.
    const smallGoPush = await runGoPushClient(['-url', lethe.url, '-job', 'go-small-while-full', '-set', 'runs']);
    expect([0, 1]).toContain(smallGoPush.code);

    // 3. Space comes back: ready again by itself, without a push or a restart.
    await resizeTmpfs(dir, '64m');
    await eventually(async () => expect((await status(lethe!, '/-/ready')).status).toBe(200), { timeout: 30_000 });
    expect(lethe.proc.running).toBe(true);
    expect(lethe.logLines().some((l) => l['message'] === 'Recovered persistence file' && l['level'] === 'info')).toBe(true);
    expect((await ownSamples(lethe, 'lethe_persistence_failing')).get('lethe_persistence_failing')).toBe(0);
    const ackedBefore = ledger.count('acknowledged');
    await load(lethe, () => ledger.count('acknowledged') >= ackedBefore + 60, 'b');
    expect(ledger.count('acknowledged')).toBeGreaterThanOrEqual(ackedBefore + 60);

    // 4. Killed and restarted once more: everything acknowledged is there, nothing refused.
    await lethe.proc.kill();
    lethe = await startLethe({ file, flags, name: 'disk-full-final' });
    await eventually(async () => expect((await status(lethe!, '/-/ready')).status).toBe(200));
    const restored = (await scrape(lethe)) ?? new Map<string, number>();
    const final = ledger.checkRestored(restored);
    const finalText = await (await fetch(`${lethe.url}/metrics`)).text();
    expect({ acknowledged: smallGoPush.code === 0, restored: finalText.includes('go_batch_runs_total{instance="",job="go-small-while-full"} 1') }).toEqual({
      acknowledged: smallGoPush.code === 0,
      restored: smallGoPush.code === 0,
    });
    expect(finalText).not.toContain('job="go-while-full"');
    const kept = (await readdir(dir)).filter((name) => name.includes('.dropped-'));
    // A compaction that failed left no temp file behind.
    expect((await readdir(dir)).filter((name) => name.includes('.compact-'))).toEqual([]);
    const compactions = ['Compacted persistence file', 'Failed to compact persistence file'].map(
      (message) => firstLogs.filter((l) => l['message'] === message).length,
    );
    console.log(
      [
        'disk-full figures:',
        `acknowledged ${ledger.count('acknowledged')}`,
        `refused ${ledger.count('refused')}`,
        `unknown (in flight at a kill) ${ledger.count('unknown')}`,
        `restored ${restored.size} groups (${final.restoredAcknowledged} acknowledged)`,
        `acknowledged-but-lost ${final.lost.length}`,
        `refused-but-restored ${final.refusedRestored.length}`,
        `served-while-refused ${ledger.servedWhileRefused().length}`,
        `times it started failing before the first kill ${failedLines.length}`,
        `torn tails kept beside the file ${kept.length}`,
        `compactions ${compactions[0]} done, ${compactions[1]} failed (first process)`,
        `a small Go push while full ${smallGoPush.code === 0 ? 'acknowledged (and restored)' : 'refused'}`,
      ].join(', '),
    );
    expect(final.lost).toEqual([]);
    expect(final.refusedRestored).toEqual([]);
    expect(ledger.servedWhileRefused()).toEqual([]);
    expect(unexpected).toEqual([]);
  }, 300_000);

  test('a batch the full disk took only part of is cut back before its pushes are refused', async () => {
    // Its own small disk, and a retry timer too slow to clean up after the batch: only the
    // cut-back can remove the records the disk took before it filled.
    const small = await mountTmpfs('2m');
    let victim: Lethe | undefined;
    try {
      const file = join(small, 'lethe.data');
      const flags = ['--persistence.retry-interval=10m'];
      victim = await startLethe({ file, flags, name: 'disk-full-cut' });
      const ledger = new Ledger();
      for (let g = 0; g < 8; g++) ledger.record(`g${g}`, g, (await push(victim, `g${g}`, g, 200)).outcome);
      expect(ledger.count('acknowledged')).toBe(8);
      // Leave room for four and a half records: the first push of the next eight is a batch of
      // its own and fits; the second batch (the other seven) writes some complete records, then fails.
      const record = (await stat(file)).size / 8;
      const fs = await statfs(small);
      await writeFile(join(small, 'filler'), Buffer.alloc(Math.max(0, Math.floor(fs.bavail * fs.bsize - 4.5 * record))));
      const answers = await Promise.all(Array.from({ length: 8 }, (_, g) => push(victim!, `g${g}`, 100 + g, 200)));
      answers.forEach((answer, g) => ledger.record(`g${g}`, 100 + g, answer.outcome));
      await victim.proc.kill();
      expect(ledger.count('refused')).toBeGreaterThan(0);
      victim = await startLethe({ file, flags, name: 'disk-full-cut-restart' });
      const check = ledger.checkRestored((await scrape(victim)) ?? new Map<string, number>());
      console.log(`disk-full cut-back: acknowledged ${ledger.count('acknowledged')}, refused ${ledger.count('refused')}, refused-but-restored ${check.refusedRestored.length}, acknowledged-but-lost ${check.lost.length}`);
      expect(check.refusedRestored).toEqual([]);
      expect(check.lost).toEqual([]);
    } finally {
      await victim?.proc.kill();
      await unmount(small);
    }
  }, 120_000);
});
