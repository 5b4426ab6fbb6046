import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, PayloadTooLargeError } from '../../../src/errors.js';
import type { MetricType } from '../../../src/model/index.js';
import { unattributed } from '../../../src/model/index.js';
import { LocalGroupStore, type LocalStoreOptions, type PushRequest } from '../../../src/store/index.js';
import { FakeClock, family, key, sample } from '../../harness/builders.js';

const clock = new FakeClock();
const own = new Map<string, MetricType>([['lethe_groups', 'gauge']]);

function options(extra: Partial<LocalStoreOptions> = {}): LocalStoreOptions {
  return { clock, ownType: (n) => own.get(n), consistencyCheck: true, maxGroups: 1000, persistenceFile: '', ...extra };
}

function put(k: ReturnType<typeof key>, ...families: PushRequest['families'][number][]): PushRequest {
  return { key: k, method: 'PUT', families, attribution: unattributed };
}

function post(k: ReturnType<typeof key>, ...families: PushRequest['families'][number][]): PushRequest {
  return { key: k, method: 'POST', families, attribution: unattributed };
}

/** The scraped sample lines, without HELP/TYPE and meta series. */
function samples(store: LocalGroupStore): string[] {
  return store
    .scrapeText([], clock.now())
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('push_'));
}

describe('LocalGroupStore writes', () => {
  test('PUT stores sanitised series: grouping labels forced, instance added, sorted', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(key('j', '/a/1'), family('m', 'gauge', [sample(5, { z: 'z', job: 'other', a: 'x' })])));
    expect(samples(store)).toEqual(['m{a="1",instance="",job="j",z="z"} 5']);
  });

  test('PUT replaces the whole group, POST only same-name families', async () => {
    const store = await LocalGroupStore.open(options());
    const k = key('j');
    await store.push(put(k, family('a'), family('b')));
    await store.push(post(k, family('b', 'gauge', [sample(2)]), family('c')));
    expect(samples(store)).toEqual(['a{instance="",job="j"} 1', 'b{instance="",job="j"} 2', 'c{instance="",job="j"} 1']);
    await store.push(put(k, family('d')));
    expect(samples(store)).toEqual(['d{instance="",job="j"} 1']);
  });

  test('meta gauges carry the push and failure times', async () => {
    const store = await LocalGroupStore.open(options());
    clock.ms = 1_700_000_000_500;
    await store.push(put(key('j'), family('a')));
    const text = store.scrapeText([], clock.now());
    expect(text).toContain('push_time_seconds{instance="",job="j"} 1.7000000005e+09');
    expect(text).toContain('push_failure_time_seconds{instance="",job="j"} 0');
  });

  test('DELETE removes exactly the group and is a no-op when missing', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(key('a'), family('m')));
    await store.push(put(key('a', '/instance/i'), family('m')));
    expect(await store.delete(key('a'))).toBe(true);
    expect(await store.delete(key('a'))).toBe(false);
    expect(samples(store)).toEqual(['m{instance="i",job="a"} 1']);
  });

  test('wipe deletes every group', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(key('a'), family('m')));
    await store.push(put(key('b'), family('m')));
    expect(await store.wipe()).toBe(2);
    expect(store.groupCount).toBe(0);
    expect(store.scrapeText([], 0)).toBe('');
  });

  test('the group limit refuses a new group but not a push to an existing one', async () => {
    const store = await LocalGroupStore.open(options({ maxGroups: 1 }));
    await store.push(put(key('a'), family('m')));
    await expect(store.push(put(key('b'), family('m')))).rejects.toThrow(PayloadTooLargeError);
    await expect(store.push(put(key('a'), family('m')))).resolves.toEqual({ ok: true });
  });
});

describe('LocalGroupStore consistency check', () => {
  const k1 = key('j1');
  const k2 = key('j2');
  test.each([
    ['a timestamp', [], [family('m', 'gauge', [sample(1, {}, { timestampMs: 5 })])], /must not have timestamps/],
    ['a type conflict across groups', [family('m', 'counter')], [family('m', 'gauge')], /has type GAUGE, but other stored metrics of that name have type COUNTER/],
    ['a type conflict with an own metric', [], [family('lethe_groups', 'counter')], /type COUNTER.*GAUGE/],
    ['a duplicate series within the push', [], [family('m', 'gauge', [sample(1, { a: '1' }), sample(2, { a: '1' })])], /duplicate series.*in this push/],
    ['a reserved label name', [], [family('m', 'gauge', [sample(1, { __x: '1' })])], /invalid name: "__x"/],
    ['a label value that is not valid UTF-8 (protobuf)', [], [family('m', 'gauge', [sample(1, { a: 'x\udcff' })])], /not valid UTF-8/],
    ['a quantile label on a summary', [], [family('s', 'summary', [{ labels: [{ name: 'quantile', value: '1' }], summary: { sampleCount: 1, sampleSum: 1, quantiles: [] } }])], /reserved/],
    ['a suffix collision with a histogram', [family('h', 'histogram', [{ labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [] } }])], [family('h_bucket')], /collides with the histogram "h"/],
    ['a histogram over an existing _count', [family('h_count')], [family('h', 'histogram', [{ labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [] } }])], /collides/],
    ['a value that does not match the family type', [], [family('s', 'summary', [sample(1)])], /no value of its family's type SUMMARY/],
  ])('rejects %s, records the failure, keeps the data', async (_name, first, second, message) => {
    const store = await LocalGroupStore.open(options());
    if (first.length > 0) expect(await store.push(put(k1, ...first))).toEqual({ ok: true });
    // a group that already has data keeps it when a push is refused
    await store.push(put(k2, family('keep')));
    clock.advance(1000);
    const result = await store.push(post(k2, ...second));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(message);
    const group = store.get(k2);
    expect(group?.lastFailureAt).toBe(clock.now());
    expect(group?.families.has('keep')).toBe(true);
  });

  test('a refused push to a new group creates it with push time 0 and the failure time', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(k1, family('m', 'counter')));
    const result = await store.push(put(k2, family('m', 'gauge')));
    expect(result.ok).toBe(false);
    const text = store.scrapeText([], 0);
    expect(text).toContain('push_time_seconds{instance="",job="j2"} 0');
    expect(text).toMatch(/push_failure_time_seconds\{instance="",job="j2"\} [1-9]/);
  });

  test('a body label that recreates another group\'s series is refused', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(key('j', '/a/1'), family('m')));
    const result = await store.push(put(key('j'), family('m', 'gauge', [sample(1, { a: '1' })])));
    expect(result.ok).toBe(false);
  });

  test('a PUT may change a family type when no other group uses the name', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(k1, family('m', 'counter')));
    expect(await store.push(put(k1, family('m', 'gauge')))).toEqual({ ok: true });
  });

  test('a deleted group frees its names and series', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(k1, family('m', 'counter')));
    await store.delete(k1);
    expect(await store.push(put(k2, family('m', 'gauge')))).toEqual({ ok: true });
  });

  test('with the check disabled a conflicting group is stored but left out of the scrape', async () => {
    const store = await LocalGroupStore.open(options({ consistencyCheck: false }));
    await store.push(put(k1, family('m', 'counter')));
    await store.push(put(k2, family('m', 'gauge')));
    expect(store.get(k2)?.excludedReason).toMatch(/has type GAUGE/);
    expect(samples(store)).toEqual(['m{instance="",job="j1"} 1']);
    await store.delete(k1);
    expect(store.get(k2)?.excludedReason).toBeUndefined();
    expect(samples(store)).toEqual(['m{instance="",job="j2"} 1']);
  });
});

describe('LocalGroupStore scrape', () => {
  test('families are sorted by name and series by label count, then values', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(key('b'), family('z'), family('a')));
    await store.push(put(key('a', '/x/1'), family('a')));
    await store.push(put(key('a'), family('a')));
    expect(samples(store)).toEqual([
      'a{instance="",job="a"} 1',
      'a{instance="",job="b"} 1',
      'a{instance="",job="a",x="1"} 1',
      'z{instance="",job="b"} 1',
    ]);
  });

  test('own families come first in a shared name and lend it their help', async () => {
    const store = await LocalGroupStore.open(options());
    await store.push(put(key('j'), family('lethe_groups', 'gauge', [sample(7)], 'pushed help')));
    const text = store.scrapeText([family('lethe_groups', 'gauge', [sample(3)], 'own help')], 0);
    expect(text).toContain('# HELP lethe_groups own help\n# TYPE lethe_groups gauge\nlethe_groups 3\nlethe_groups{instance="",job="j"} 7\n');
  });

  test('a scrape marks groups as scraped, and a push clears the mark', async () => {
    const store = await LocalGroupStore.open(options());
    const k = key('j');
    await store.push(put(k, family('m')));
    expect(store.get(k)?.scrapedAt).toBeUndefined();
    store.scrapeText([], 42);
    expect(store.get(k)?.scrapedAt).toBe(42);
    await store.push(put(k, family('m')));
    expect(store.get(k)?.scrapedAt).toBeUndefined();
  });
});

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
    const store = await LocalGroupStore.open(options({ persistenceFile: file }));
    clock.ms = 1_700_000_000_000;
    await store.push(put(key('a', '/x/y'), family('m', 'counter', [sample(3, { l: 'v' })], 'help "text"\n')));
    clock.advance(1000);
    await store.push(post(key('a', '/x/y'), family('n', 'untyped', [sample(Number.NaN)])));
    await store.push(put(key('b'), family('m', 'gauge')));
    await store.push(put(key('c'), family('gone')));
    await store.delete(key('c'));
    const before = store.scrapeText([], 0);
    await store.close();

    const restored = await LocalGroupStore.open(options({ persistenceFile: file }));
    expect(restored.scrapeText([], 0)).toBe(before);
    expect(restored.groupCount).toBe(2);
    expect(restored.get(key('a', '/x/y'))?.families.get('m')?.pushedAt).toBe(1_700_000_000_000);
    expect(restored.get(key('a', '/x/y'))?.families.get('n')?.pushedAt).toBe(1_700_000_001_000);
    expect(restored.get(key('b'))?.lastFailureAt).toBeGreaterThan(0);
    await restored.close();
  });

  // Found by the fuzz properties: a pushed push_failure_time_seconds of NaN or ±Inf went into the
  // journal as null, and the next start-up refused the file.
  test.each([Number.NaN, Infinity, -Infinity])('a pushed push_failure_time_seconds of %p keeps the stored time and the file loads', async (value) => {
    const store = await LocalGroupStore.open(options({ persistenceFile: file }));
    await store.push(put(key('a'), family('m')));
    const failedAt = store.get(key('a'))?.lastFailureAt;
    await store.push(post(key('a'), family('push_failure_time_seconds', 'gauge', [sample(value)])));
    expect(store.get(key('a'))?.lastFailureAt).toBe(failedAt);
    await store.close();
    const restored = await LocalGroupStore.open(options({ persistenceFile: file }));
    expect(restored.get(key('a'))?.lastFailureAt).toBe(failedAt);
    await restored.close();
  });

  test('a torn last line (a write cut short by a crash) is dropped', async () => {
    const store = await LocalGroupStore.open(options({ persistenceFile: file }));
    await store.push(put(key('a'), family('m')));
    await store.close();
    await appendFile(file, '0badc0de {"t":"g","k":[["job","half');
    const restored = await LocalGroupStore.open(options({ persistenceFile: file }));
    expect(restored.groupCount).toBe(1);
    await restored.push(put(key('b'), family('m')));
    await restored.close();
    const again = await LocalGroupStore.open(options({ persistenceFile: file }));
    expect(again.groupCount).toBe(2);
    await again.close();
  });

  test('damage in the middle of the file stops start-up with an error naming the line', async () => {
    const store = await LocalGroupStore.open(options({ persistenceFile: file }));
    await store.push(put(key('a'), family('m')));
    await store.push(put(key('b'), family('m')));
    await store.close();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines[1] = (lines[1] ?? '').replace('"a"', '"X"');
    await writeFile(file, lines.join('\n'));
    await expect(LocalGroupStore.open(options({ persistenceFile: file }))).rejects.toThrow(ConfigError);
    await expect(LocalGroupStore.open(options({ persistenceFile: file }))).rejects.toThrow(/damaged at line 2: checksum mismatch/);
    // The file is left as it was: never silently wiped.
    expect((await readFile(file, 'utf8')).split('\n')[1]).toContain('"X"');
  });

  test('a file that is not a Lethe store is refused', async () => {
    await writeFile(file, 'something else\n');
    await expect(LocalGroupStore.open(options({ persistenceFile: file }))).rejects.toThrow(/not a Lethe store file/);
  });
});
