/**
 * The GroupStore contract: what every backend (the embedded file store, the Redis store) must do
 * behind the one port. Each backend's test file calls `describeStoreContract` with a factory;
 * the same rows run against both, so the gateway and the lifecycle cannot tell them apart.
 *
 * (About 440 lines: one contract, read as one list of rows; a backend must pass all of them.)
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { PayloadTooLargeError } from '../../src/errors.js';
import { decodeProtobufDelimited } from '../../src/exposition/index.js';
import type { MetricFamily, MetricType, OwnerRef } from '../../src/model/index.js';
import type { GroupStore } from '../../src/store/index.js';
import { FakeClock, family, key, post, put, sample } from './builders.js';
import { delimited } from '../fixtures/requests/protobuf.js';

export interface ContractOptions {
  readonly clock: FakeClock;
  readonly ownType: (name: string) => MetricType | undefined;
  readonly consistencyCheck: boolean;
  readonly maxGroups: number;
}

/** Opens a fresh, empty store of the backend under test. */
export type OpenStore = (options: ContractOptions) => Promise<GroupStore>;

const own = new Map<string, MetricType>([['lethe_groups', 'gauge']]);

const histogram = (name: string): MetricFamily =>
  family(name, 'histogram', [{ labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [] } }]);

export function describeStoreContract(backend: string, openStore: OpenStore): void {
  describe(`GroupStore contract: ${backend}`, () => {
    const clock = new FakeClock();
    const opened: GroupStore[] = [];
    const open = async (extra: Partial<ContractOptions> = {}): Promise<GroupStore> => {
      const store = await openStore({ clock, ownType: (n) => own.get(n), consistencyCheck: true, maxGroups: 1000, ...extra });
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    /** The scraped sample lines, without HELP/TYPE and meta series. */
    const samples = (store: GroupStore): string[] =>
      store
        .scrapeText([])
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('push_'));

    describe('writes', () => {
      test('PUT stores sanitised series: grouping labels forced, instance added, sorted', async () => {
        const store = await open();
        await store.push(put(key('j', '/a/1'), family('m', 'gauge', [sample(5, { z: 'z', job: 'other', a: 'x' })])));
        expect(samples(store)).toEqual(['m{a="1",instance="",job="j",z="z"} 5']);
      });

      test('PUT replaces the whole group, POST only same-name families', async () => {
        const store = await open();
        const k = key('j');
        await store.push(put(k, family('a'), family('b')));
        await store.push(post(k, family('b', 'gauge', [sample(2)]), family('c')));
        expect(samples(store)).toEqual(['a{instance="",job="j"} 1', 'b{instance="",job="j"} 2', 'c{instance="",job="j"} 1']);
        await store.push(put(k, family('d')));
        expect(samples(store)).toEqual(['d{instance="",job="j"} 1']);
      });

      test('a push is visible through get() and groups() as soon as it resolves', async () => {
        const store = await open();
        clock.ms = 1_700_000_000_500;
        await store.push(put(key('j', '/instance/i'), family('m', 'counter', [sample(3, { l: 'v' })], 'help "text"\n')));
        const group = store.get(key('j', '/instance/i'));
        expect(group?.lastPushAt).toBe(1_700_000_000_500);
        expect(group?.families.get('m')?.pushedAt).toBe(1_700_000_000_500);
        expect(group?.families.get('m')?.family.help).toBe('help "text"\n');
        expect([...group!.families.keys()].sort()).toEqual(['m', 'push_failure_time_seconds', 'push_time_seconds']);
        expect([...store.groups()].map((g) => g.key.id)).toEqual([key('j', '/instance/i').id]);
        expect(store.groupCount).toBe(1);
        expect(store.seriesCount).toBe(3);
      });

      test('meta gauges carry the push and failure times', async () => {
        const store = await open();
        clock.ms = 1_700_000_000_500;
        await store.push(put(key('j'), family('a')));
        const text = store.scrapeText([]);
        expect(text).toContain('push_time_seconds{instance="",job="j"} 1.7000000005e+09');
        expect(text).toContain('push_failure_time_seconds{instance="",job="j"} 0');
      });

      test('a pushed push_failure_time_seconds sets the failure time of an existing group', async () => {
        const store = await open();
        const k = key('j');
        await store.push(put(k, family('a')));
        await store.push(post(k, family('push_failure_time_seconds', 'gauge', [sample(1234)])));
        expect(store.get(k)?.lastFailureAt).toBe(1_234_000);
        expect(store.get(k)?.families.has('a')).toBe(true);
      });

      // Found by the fuzz properties: NaN or ±Inf became a failure time that the file store's
      // journal could not load and the Redis store read back as damaged.
      test.each([Number.NaN, Infinity, -Infinity])('a pushed push_failure_time_seconds of %p keeps the stored failure time', async (value) => {
        const store = await open();
        const k = key('j');
        await store.push(put(k, family('a')));
        await store.push(post(k, family('push_failure_time_seconds', 'gauge', [sample(value)])));
        expect(store.get(k)?.lastFailureAt).toBe(0);
        expect(store.get(k)?.families.has('a')).toBe(true);
      });

      test('special and non-ASCII values survive unchanged', async () => {
        const store = await open();
        const k = key('j', '/path@base64/L3Zhci90bXA');
        await store.push(put(k, family('m', 'untyped', [sample(Number.NaN, { v: 'ünïcødé "q" \\ \n' }), sample(-Infinity, { v: 'x' })])));
        expect(samples(store)).toEqual([
          'm{instance="",job="j",path="/var/tmp",v="x"} -Inf',
          'm{instance="",job="j",path="/var/tmp",v="ünïcødé \\"q\\" \\\\ \\n"} NaN',
        ]);
      });

      test('DELETE removes exactly the group and is a no-op when missing', async () => {
        const store = await open();
        await store.push(put(key('a'), family('m')));
        await store.push(put(key('a', '/instance/i'), family('m')));
        expect(await store.delete(key('a'))).toBe(true);
        expect(await store.delete(key('a'))).toBe(false);
        expect(samples(store)).toEqual(['m{instance="i",job="a"} 1']);
        expect(store.get(key('a'))).toBeUndefined();
      });

      test('a delete on a generation removes the group only while no push came since', async () => {
        const store = await open();
        await store.push(put(key('a'), family('m')));
        const seen = store.get(key('a'))?.generation;
        if (seen === undefined) throw new Error('no group');
        await store.setOwner(key('a'), { group: 'batch', kind: 'Job', namespace: 'ns', name: 'j', uid: 'u' });
        expect(store.get(key('a'))?.generation).toBe(seen);
        await store.push(post(key('a'), family('n')));
        expect(store.get(key('a'))?.generation).not.toBe(seen);
        expect(await store.delete(key('a'), { ifGeneration: seen })).toBe(false);
        expect(store.get(key('a'))).toBeDefined();
        const now = store.get(key('a'))?.generation;
        expect(await store.delete(key('a'), { ifGeneration: now ?? -1 })).toBe(true);
        expect(store.get(key('a'))).toBeUndefined();
      });

      test('the generation of a deleted group does not delete the group pushed again under its key', async () => {
        const store = await open();
        await store.push(put(key('a'), family('m')));
        const seen = store.get(key('a'))?.generation ?? -1;
        expect(await store.delete(key('a'))).toBe(true);
        await store.push(put(key('a'), family('m')));
        expect(await store.delete(key('a'), { ifGeneration: seen })).toBe(false);
        expect(store.get(key('a'))).toBeDefined();
      });

      test('a refused push is a new generation too', async () => {
        const store = await open();
        await store.push(put(key('a'), family('m')));
        const seen = store.get(key('a'))?.generation;
        await store.push(put(key('a'), family('m', 'gauge', [sample(1, {}, { timestampMs: 5 })])));
        expect(store.get(key('a'))?.generation).not.toBe(seen);
      });

      test('wipe deletes every group and names each one it deleted, with its owner', async () => {
        const store = await open();
        const owner: OwnerRef = { group: 'batch', kind: 'Job', namespace: 'ns', name: 'j', uid: 'u' };
        await store.push(put(key('a'), family('m')));
        await store.push(put(key('b'), family('m')));
        await store.setOwner(key('b'), owner);
        const deleted: [string, OwnerRef | undefined][] = [];
        expect(await store.wipe((k, o) => deleted.push([k.id, o]))).toBe(2);
        expect(deleted.sort()).toEqual([
          [key('a').id, undefined],
          [key('b').id, owner],
        ]);
        expect(store.groupCount).toBe(0);
        expect(store.scrapeText([])).toBe('');
      });

      test('the group limit refuses a new group but not a push to an existing one', async () => {
        const store = await open({ maxGroups: 1 });
        await store.push(put(key('a'), family('m')));
        await expect(store.push(put(key('b'), family('m')))).rejects.toThrow(PayloadTooLargeError);
        await expect(store.push(put(key('a'), family('m')))).resolves.toEqual({ ok: true });
      });

      test('setOwner records the owner, keeps it across pushes, and ignores missing groups', async () => {
        const store = await open();
        const owner: OwnerRef = { group: 'batch', kind: 'Job', namespace: 'ns', name: 'backup-1', uid: 'u1', schedule: { group: 'batch', kind: 'CronJob', name: 'backup', uid: 'c1' }, resolvedFor: 5 };
        await store.push(put(key('j'), family('m')));
        await store.setOwner(key('j'), owner);
        expect(store.get(key('j'))?.owner).toEqual(owner);
        await store.push(post(key('j'), family('n')));
        expect(store.get(key('j'))?.owner).toEqual(owner);
        await store.setOwner(key('j'), undefined);
        expect(store.get(key('j'))?.owner).toBeUndefined();
        await store.setOwner(key('gone'), owner);
        expect(store.get(key('gone'))).toBeUndefined();
      });

      test('attribution is the latest push\'s', async () => {
        const store = await open();
        await store.push(put(key('j'), family('m')));
        await store.push({ ...post(key('j'), family('n')), attribution: { source: 'pod-ip', namespace: 'team-a', pod: 'p-1' } });
        expect(store.get(key('j'))?.attribution).toEqual({ source: 'pod-ip', namespace: 'team-a', pod: 'p-1' });
      });
    });

    describe('consistency check', () => {
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
        ['a suffix collision with a histogram in another group', [histogram('h')], [family('h_bucket')], /collides with the histogram "h"/],
        ['a suffix collision with a summary in another group', [family('s', 'summary', [{ labels: [], summary: { sampleCount: 1, sampleSum: 1, quantiles: [] } }])], [family('s_count')], /collides with the summary "s"/],
        ['a histogram over an existing _count', [family('h_count')], [histogram('h')], /histogram "h" collides with the metric family "h_count"/],
        ['a suffix collision within the push', [], [histogram('h'), family('h_sum')], /collides/],
        ['a value that does not match the family type', [], [family('s', 'summary', [sample(1)])], /no value of its family's type SUMMARY/],
      ])('refuses %s, records the failure, keeps the data', async (_name, first, second, message) => {
        const store = await open();
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

      test.each([
        ['an _bucket family beside a summary of its base name', [family('s', 'summary', [{ labels: [], summary: { sampleCount: 1, sampleSum: 1, quantiles: [] } }])], [family('s_bucket')]],
        ['an _count family beside a gauge of its base name', [family('g', 'gauge')], [family('g_count')]],
        ['a gauge beside an _sum family of its name', [family('g_sum')], [family('g', 'gauge')]],
      ])('stores %s in another group (no collision)', async (_name, first, second) => {
        const store = await open();
        expect(await store.push(put(k1, ...first))).toEqual({ ok: true });
        expect(await store.push(put(k2, ...second))).toEqual({ ok: true });
      });

      test('a body label that recreates another group\'s series is refused', async () => {
        const store = await open();
        await store.push(put(key('j', '/a/1'), family('m')));
        const result = await store.push(put(key('j'), family('m', 'gauge', [sample(1, { a: '1' })])));
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.reason).toMatch(/duplicate series: m\{a="1", instance="", job="j"\} is already stored in another group/);
      });

      test('a refused push to a new group creates it with push time 0 and the failure time', async () => {
        const store = await open();
        await store.push(put(k1, family('m', 'counter')));
        const result = await store.push(put(k2, family('m', 'gauge')));
        expect(result.ok).toBe(false);
        expect(store.get(k2)?.lastPushAt).toBe(0);
        const text = store.scrapeText([]);
        expect(text).toContain('push_time_seconds{instance="",job="j2"} 0');
        expect(text).toMatch(/push_failure_time_seconds\{instance="",job="j2"\} [1-9]/);
      });

      test('a PUT may change a family type when no other group uses the name', async () => {
        const store = await open();
        await store.push(put(k1, family('m', 'counter')));
        expect(await store.push(put(k1, family('m', 'gauge')))).toEqual({ ok: true });
      });

      test('a POST keeps the group\'s other families in the check', async () => {
        const store = await open();
        await store.push(put(k1, histogram('h')));
        const result = await store.push(post(k1, family('h_count')));
        expect(result.ok).toBe(false);
        expect(await store.push(put(k1, family('h_count')))).toEqual({ ok: true });
      });

      test('a group may re-push its own series, and a name shared by groups keeps its type', async () => {
        const store = await open();
        await store.push(put(k1, family('m', 'counter', [sample(1, { a: '1' })])));
        await store.push(put(k2, family('m', 'counter', [sample(1, { a: '2' })])));
        expect(await store.push(put(k1, family('m', 'counter', [sample(5, { a: '1' })])))).toEqual({ ok: true });
        expect((await store.push(put(k1, family('m', 'gauge')))).ok).toBe(false);
      });

      test('a deleted group frees its names and series', async () => {
        const store = await open();
        await store.push(put(k1, family('m', 'counter')));
        await store.delete(k1);
        expect(await store.push(put(k2, family('m', 'gauge')))).toEqual({ ok: true });
      });

      test('families a PUT drops free their names and series', async () => {
        const store = await open();
        await store.push(put(k1, family('m', 'counter'), family('n', 'gauge', [sample(1, { a: '1' })])));
        await store.push(put(k1, family('other')));
        expect(await store.push(put(k2, family('m', 'gauge')))).toEqual({ ok: true });
        expect(await store.push(put(key('j1'), family('n', 'gauge', [sample(1, { a: '1' })])))).toEqual({ ok: true });
      });

      test('with the check disabled a conflicting group is stored but left out of the scrape', async () => {
        const store = await open({ consistencyCheck: false });
        await store.push(put(k1, family('m', 'counter')));
        await store.push(put(k2, family('m', 'gauge')));
        expect(store.get(k2)?.excludedReason).toMatch(/has type GAUGE/);
        expect(samples(store)).toEqual(['m{instance="",job="j1"} 1']);
        await store.delete(k1);
        expect(store.get(k2)?.excludedReason).toBeUndefined();
        expect(samples(store)).toEqual(['m{instance="",job="j2"} 1']);
      });
    });

    describe('scrape', () => {
      test('families are sorted by name and series by label count, then values', async () => {
        const store = await open();
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
        const store = await open();
        await store.push(put(key('j'), family('lethe_groups', 'gauge', [sample(7)], 'pushed help')));
        const text = store.scrapeText([family('lethe_groups', 'gauge', [sample(3)], 'own help')]);
        expect(text).toContain('# HELP lethe_groups own help\n# TYPE lethe_groups gauge\nlethe_groups 3\nlethe_groups{instance="",job="j"} 7\n');
      });

      test('text and protobuf scrapes carry the same families', async () => {
        const store = await open();
        await store.push(put(key('j'), family('a'), histogram('h')));
        const text = store.scrapeText([family('lethe_groups', 'gauge', [sample(3)])]);
        const proto = store.scrapeProtobuf([family('lethe_groups', 'gauge', [sample(3)])]);
        expect(text).toContain('h_bucket{instance="",job="j",le="+Inf"} 1');
        expect(proto).toHaveLength(5);
      });

      test('OpenMetrics: exemplars and created timestamps of a protobuf push, and # EOF', async () => {
        const store = await open();
        const [counter] = decodeProtobufDelimited(
          delimited([{ name: 'jobs_total', type: 'COUNTER', metrics: [{ counter: 2, exemplar: { labels: { trace_id: 't1' }, value: 1 }, created: { seconds: 1700000000 } }] }]),
        );
        if (counter === undefined) throw new Error('not decoded');
        await store.push(put(key('j'), counter));
        const om = store.scrapeText([], { openMetrics: true, escaping: 'allow-utf-8' });
        expect(om).toContain('# TYPE jobs counter\njobs_total{instance="",job="j"} 2.0 # {trace_id="t1"} 1.0\njobs_created{instance="",job="j"} 1.7e+09\n');
        expect(om.endsWith('# EOF\n')).toBe(true);
        expect(store.scrapeText([])).toContain('jobs_total{instance="",job="j"} 2\n');
      });

      test('UTF-8 names are stored as pushed and escaped as each scrape asks', async () => {
        const store = await open();
        await store.push(put(key('j'), family('app.jobs', 'gauge', [sample(1, { 'my.label': 'v' })])));
        expect(store.scrapeText([])).toContain('app_jobs{instance="",job="j",my_label="v"} 1\n');
        expect(store.scrapeText([], { openMetrics: false, escaping: 'allow-utf-8' })).toContain('{"app.jobs",instance="",job="j","my.label"="v"} 1\n');
        expect(store.scrapeText([], { openMetrics: true, escaping: 'dots' })).toContain('app_dot_jobs{instance="",job="j",my_dot_label="v"} 1.0\n');
        expect(Buffer.concat(store.scrapeProtobuf([])).toString('latin1')).toContain('app_jobs');
        expect(Buffer.concat(store.scrapeProtobuf([], 'allow-utf-8')).toString('latin1')).toContain('app.jobs');
      });

      test('rendering marks nothing; a confirmed token marks the rendered groups, and a push clears the mark', async () => {
        const store = await open();
        const k = key('j');
        await store.push(put(k, family('m')));
        store.scrapeText([]);
        store.scrapeProtobuf([]);
        expect(store.get(k)?.scrapedAt).toBeUndefined();
        const token = store.scrapeToken();
        expect(token.groups.map((g) => g.key.id)).toEqual([k.id]);
        await store.confirmScraped(token, 42);
        expect(store.get(k)?.scrapedAt).toBe(42);
        // Confirmed groups are not in the next token, and a second confirmation keeps the first time.
        expect(store.scrapeToken().groups).toEqual([]);
        await store.confirmScraped(token, 50);
        expect(store.get(k)?.scrapedAt).toBe(42);
        await store.push(put(k, family('m')));
        expect(store.get(k)?.scrapedAt).toBeUndefined();
        expect(store.scrapeToken().groups.map((g) => g.key.id)).toEqual([k.id]);
      });

      test('a push that comes between the rendering and its confirmation is not marked', async () => {
        const store = await open();
        const [a, b] = [key('a'), key('b')];
        await store.push(put(a, family('m')));
        await store.push(put(b, family('m')));
        const token = store.scrapeToken();
        await store.push(post(a, family('n')));
        await store.confirmScraped(token, 42);
        expect(store.get(a)?.scrapedAt).toBeUndefined();
        expect(store.get(b)?.scrapedAt).toBe(42);
        expect(store.scrapeToken().groups.map((g) => g.key.id)).toEqual([a.id]);
      });

      test('a refused push keeps the scrape mark of the stored push', async () => {
        const store = await open();
        const k = key('j');
        await store.push(put(k, family('m')));
        await store.confirmScraped(store.scrapeToken(), 42);
        clock.advance(1000);
        expect((await store.push(put(k, family('m', 'gauge', [sample(1, {}, { timestampMs: 5 })])))).ok).toBe(false);
        expect(store.get(k)?.scrapedAt).toBe(42);
      });

      test('a deleted group in a token is ignored; a group pushed again under its key is not marked by the old token', async () => {
        const store = await open();
        const k = key('j');
        await store.push(put(k, family('m')));
        const token = store.scrapeToken();
        await store.delete(k);
        await store.confirmScraped(token, 42);
        expect(store.get(k)).toBeUndefined();
        await store.push(put(k, family('m')));
        await store.confirmScraped(token, 43);
        expect(store.get(k)?.scrapedAt).toBeUndefined();
      });

      test('the store is healthy while it can take writes', async () => {
        const store = await open();
        expect(store.health()).toEqual({ writable: true });
      });

      test('settled() sees every acknowledged push, and no push made after it was called', async () => {
        const store = await open();
        await store.push(put(key('j', '/instance/acked'), family('m')));
        const seen = store.settled(() => [...store.groups()].map((g) => g.key.id));
        const later = store.push(put(key('j', '/instance/later'), family('m')));
        expect(await seen).toEqual([key('j', '/instance/acked').id]);
        await later;
        expect(await store.settled(() => store.groupCount)).toBe(2);
      });

      test('settled() passes on what the read throws', async () => {
        const store = await open();
        await expect(
          store.settled(() => {
            throw new Error('render failed');
          }),
        ).rejects.toThrow('render failed');
      });
    });
  });
}
