import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ErrorCode } from '../../../src/errors.js';
import { PlainFamily, type MetricType } from '../../../src/model/index.js';
import type { LocalGroupStore, LocalStoreOptions } from '../../../src/store/index.js';
import { FakeClock, family, key, labels, post, put, sample } from '../../harness/builders.js';
import { openLocalStore } from '../../harness/stores.js';

const clock = new FakeClock();
const own = new Map<string, MetricType>([['lethe_groups', 'gauge']]);

const open = (extra: Partial<LocalStoreOptions> = {}): Promise<LocalGroupStore> => openLocalStore({ clock, ownType: (n) => own.get(n), ...extra });

// Writes, the consistency check and scrapes are the GroupStore contract (test/harness/store-contract.ts), run for
// this store in local-contract.test.ts; this file keeps what only the file store does.

describe('LocalGroupStore persistence', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-store-'));
    file = join(dir, 'lethe.data');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('restart restores groups, families, times and failures exactly', async () => {
    const store = await open({ persistenceFile: file });
    clock.ms = 1_700_000_000_000;
    await store.push(put(key('a', '/x/y'), family('m', 'counter', [sample(3, { l: 'v' })], 'help "text"\n')));
    clock.advance(1000);
    await store.push(post(key('a', '/x/y'), family('n', 'untyped', [sample(Number.NaN)])));
    await store.push(put(key('b'), family('m', 'gauge')));
    await store.push(put(key('c'), family('gone')));
    await store.delete(key('c'));
    const before = store.scrapeText([]);
    await store.close();

    const restored = await open({ persistenceFile: file });
    expect(restored.scrapeText([])).toBe(before);
    expect(restored.groupCount).toBe(2);
    expect(restored.get(key('a', '/x/y'))?.families.get('m')?.pushedAt).toBe(1_700_000_000_000);
    expect(restored.get(key('a', '/x/y'))?.families.get('n')?.pushedAt).toBe(1_700_000_001_000);
    expect(restored.get(key('b'))?.lastFailureAt).toBeGreaterThan(0);
    await restored.close();
  });

  // Start-up reads the file and links the restored groups (consistency index, render cache,
  // namespace usage) afterwards, a few at a time: every request in between sees them all.
  test.each([
    ['a scrape', (s: LocalGroupStore) => Promise.resolve(s.scrapeText([]))],
    ['a push of the same name with another type', async (s: LocalGroupStore) => s.push(put(key('z'), family('m', 'gauge'))).then(String, (e: unknown) => String(e))],
    ['namespace usage, exclusions and the groups no scrape confirmed', (s: LocalGroupStore) => Promise.resolve(JSON.stringify([s.namespaceUsage('ns'), s.excludedCount, s.scrapeToken().groups.length]))],
    ['a delete', async (s: LocalGroupStore) => [await s.delete(key('g7')), s.groupCount, s.scrapeText([]).includes('g7')].join()],
  ])('right after start-up, %s sees every restored group as linked', async (_name, request) => {
    const store = await open({ persistenceFile: file });
    for (let i = 0; i < 600; i++) {
      await store.push({ ...put(key(`g${i}`), family('m', 'counter', [sample(i, { code: String(i % 3) })])), attribution: { source: 'token', namespace: 'ns' } });
    }
    const series = store.seriesCount;
    await store.close();
    const copy = join(dir, 'copy.data');
    await writeFile(copy, await readFile(file));

    // What the request sees once every group is linked: after enough turns of the event loop
    // for the linking in the background (256 groups a turn).
    const linked = await open({ persistenceFile: file });
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
    const expected = await request(linked);
    await linked.close();

    const restored = await open({ persistenceFile: copy });
    // Counted before any is linked.
    expect(restored.seriesCount).toBe(series);
    expect(restored.groupCount).toBe(600);
    expect(await request(restored)).toBe(expected);
    await restored.close();
  });

  test('restoreFits is told as the restored groups are linked, up to all their series; when it throws, the use that was linking fails with its error', async () => {
    const store = await open({ persistenceFile: file });
    for (let i = 0; i < 100; i++) await store.push(put(key(`g${i}`), family('m', 'counter', [sample(i, { code: String(i % 3) })])));
    const series = store.seriesCount;
    await store.close();

    const told: Array<[number, number]> = [];
    const restored = await open({ persistenceFile: file, restoreFits: (linked, total) => told.push([linked, total]) });
    restored.scrapeText([]);
    // Every 16 groups (3 series each, meta included), and once at the end.
    expect(told).toHaveLength(7);
    expect(told.every(([, total]) => total === series)).toBe(true);
    expect(told.map(([linked]) => linked)).toEqual([48, 96, 144, 192, 240, 288, 300]);
    await restored.close();

    // Armed for the scrape alone (the linking in the background starts a turn after open).
    const stop = new ConfigError(ErrorCode.heapFull, 'the stored groups do not fit');
    let armed = false;
    const refused = await open({
      persistenceFile: file,
      restoreFits: (linked) => {
        if (armed && linked > 100) throw stop;
      },
    });
    armed = true;
    expect(() => refused.scrapeText([])).toThrow(stop);
    armed = false;
    await refused.close();
  });

  test('a conflicting group read back is kept out of the scrape once linked, as it was before the restart', async () => {
    const store = await open({ persistenceFile: file, consistencyCheck: false });
    await store.push(put(key('a'), family('m', 'counter')));
    await store.push(put(key('b'), family('m', 'gauge')));
    expect(store.excludedCount).toBe(1);
    const before = store.scrapeText([]);
    await store.close();
    const restored = await open({ persistenceFile: file, consistencyCheck: false });
    expect(restored.excludedCount).toBe(1);
    expect(restored.scrapeText([])).toBe(before);
    await restored.close();
  });

  // Found by the fuzz properties: a pushed push_failure_time_seconds of NaN or ±Inf went into the
  // journal as null, and the next start-up refused the file.
  test.each([Number.NaN, Infinity, -Infinity])('a pushed push_failure_time_seconds of %p keeps the stored time and the file loads', async (value) => {
    const store = await open({ persistenceFile: file });
    await store.push(put(key('a'), family('m')));
    const failedAt = store.get(key('a'))?.lastFailureAt;
    await store.push(post(key('a'), family('push_failure_time_seconds', 'gauge', [sample(value)])));
    expect(store.get(key('a'))?.lastFailureAt).toBe(failedAt);
    await store.close();
    const restored = await open({ persistenceFile: file });
    expect(restored.get(key('a'))?.lastFailureAt).toBe(failedAt);
    await restored.close();
  });

  test.each([
    ['an incomplete last line', (good: string) => `${good}0badc0de {"t":"g","k":[["job","half`, 'incomplete last line'],
    ['a bad checksum on the last line', (good: string) => `${good}${good.split('\n')[1]?.replace('"a"', '"Z"') ?? ''}\n`, 'checksum mismatch on the last line'],
  ])('a torn tail (%s) is kept beside the file, reported, and dropped', async (_name, tear, why) => {
    const store = await open({ persistenceFile: file });
    await store.push(put(key('a'), family('m')));
    await store.close();
    const good = await readFile(file, 'utf8');
    const torn = tear(good);
    await writeFile(file, torn);
    const dropped: unknown[] = [];
    clock.ms = Date.UTC(2026, 11, 2, 18, 16, 34, 123);
    const restored = await open({ persistenceFile: file, events: { onDropped: (tail, keptAt, keepError) => dropped.push({ tail, keptAt, keepError }) } });
    const keptAt = `${file}.dropped-20261202T181634.123Z`;
    expect(dropped).toEqual([{ tail: { offset: Buffer.byteLength(good), bytes: Buffer.byteLength(torn) - Buffer.byteLength(good), why }, keptAt, keepError: undefined }]);
    expect(await readFile(keptAt, 'utf8')).toBe(torn.slice(good.length));
    expect(await readFile(file, 'utf8')).toBe(good);
    expect(restored.groupCount).toBe(1);
    await restored.push(put(key('b'), family('m')));
    await restored.close();
    const again = await open({ persistenceFile: file });
    expect(again.groupCount).toBe(2);
    await again.close();
  });

  test('a push is not visible to settled() readers before it is durable, and visible once it is', async () => {
    const store = await open({ persistenceFile: file });
    const pushed = store.push(put(key('a'), family('m')));
    let durable = false;
    void pushed.then(() => (durable = true));
    // The reader waits for the push in flight: when it reads, the push is on disk.
    const seen = await store.settled(() => ({ groups: store.groupCount, fileHasIt: readFileSync(file, 'utf8').includes('"a"') }));
    expect(seen).toEqual({ groups: 1, fileHasIt: true });
    await pushed;
    expect(durable).toBe(true);
    await store.close();
  });

  test('damage in the middle of the file stops start-up with an error naming the line', async () => {
    const store = await open({ persistenceFile: file });
    await store.push(put(key('a'), family('m')));
    await store.push(put(key('b'), family('m')));
    await store.close();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[1] = (lines[1] ?? '').replace('"a"', '"X"');
    await writeFile(file, lines.join('\n'));
    await expect(open({ persistenceFile: file })).rejects.toThrow(ConfigError);
    await expect(open({ persistenceFile: file })).rejects.toThrow(/damaged at byte offset 37 \(line 2\): checksum mismatch/);
    // The file is left as it was: never silently wiped.
    expect((await readFile(file, 'utf8')).split('\n')[1]).toContain('"X"');
  });

  test('a file that is not a Lethe store is refused', async () => {
    await writeFile(file, 'something else\n');
    await expect(open({ persistenceFile: file })).rejects.toThrow(/not a Lethe store file/);
  });
});

describe('LocalGroupStore as a view fed with changes (the Redis store keeps one per replica)', () => {
  test('plain families are kept packed, as a push keeps them; others as they came; the scrape is the same as a push\'s', async () => {
    const view = await open();
    const pushed = await open();
    // As a writer stores them: sanitised, the grouping labels in each series.
    const families = [
      family('m_total', 'counter', [sample(3, { instance: '', job: 'j', l: 'a' }), sample(4, { instance: '', job: 'j', l: 'b' })], 'Help.'),
      family('nan', 'gauge', [sample(Number.NaN, { instance: '', job: 'j' })]),
      family('s', 'summary', [{ labels: labels({ instance: '', job: 'j' }), summary: { sampleCount: 2, sampleSum: 3, quantiles: [{ quantile: 0.5, value: 1 }] } }]),
    ];
    clock.ms = 1_700_000_000_000;
    await pushed.push(put(key('j'), ...families));
    const meta = { attribution: { source: 'none' as const }, lastPushAt: clock.ms, lastFailureAt: 0, owner: undefined, generation: 1 };
    view.apply({ op: 'push', method: 'PUT', key: key('j'), families: families.map((f) => ({ family: f, pushedAt: clock.ms })), meta });
    const stored = view.get(key('j'))?.families;
    expect(stored?.get('m_total')?.family).toBeInstanceOf(PlainFamily);
    // NaN and summaries stay objects (PlainFamily.of refuses them).
    expect(stored?.get('nan')?.family).toBe(families[1]);
    expect(stored?.get('s')?.family).toBe(families[2]);
    expect(view.scrapeText([])).toBe(pushed.scrapeText([]));
  });
});
