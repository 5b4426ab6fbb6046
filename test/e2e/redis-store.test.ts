import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { UnavailableError } from '../../src/errors.js';
import { decodeProtobufDelimited, parseText, type EscapingScheme } from '../../src/exposition/index.js';
import { LeaderElector, leaseTimingsOf } from '../../src/leadership/index.js';
import { systemClock, type MetricType } from '../../src/model/index.js';
import { createLeaderMetrics } from '../../src/observability/index.js';
import type { RedisStoreOptions } from '../../src/store/index.js';
import { RedisGroupStore, RedisLease } from '../../src/store/redis/index.js';
import { delimited } from '../fixtures/requests/protobuf.js';
import { FakeClock, family, key, post, put, sample } from '../harness/builders.js';
import { eventually } from '../harness/eventually.js';
import { RedisServer } from '../harness/redis.js';
import { quietLogger } from '../harness/logger.js';
import { describeStoreContract } from '../harness/store-contract.js';
import { TcpProxy } from '../harness/tcp-proxy.js';

// The store contract and the multi-replica behaviour of the Redis backend, against a real
// redis-server (append-only, fsync always). Each store gets its own key prefix.

let dir: string;
let redis: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lethe-redis-store-'));
  redis = await RedisServer.start({ dir });
});

afterAll(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

describeStoreContract('RedisGroupStore', (options) =>
  RedisGroupStore.open({ ...options, url: redis.url, keyPrefix: `contract${++prefixes}:`, timeoutMs: 3_000, minReplicas: 0 }),
);

describe('RedisGroupStore with several replicas', () => {
  const clock = new FakeClock();
  const own = new Map<string, MetricType>();
  const opened: RedisGroupStore[] = [];
  const open = async (prefix: string, extra: Partial<RedisStoreOptions> = {}): Promise<RedisGroupStore> => {
    const store = await RedisGroupStore.open({
      url: redis.url,
      keyPrefix: prefix,
      timeoutMs: 3_000,
      minReplicas: 0,
      clock,
      ownType: (n) => own.get(n),
      consistencyCheck: true,
      maxGroups: 100_000,
      ...extra,
    });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  test('a push to one replica shows in the other\'s view and scrape', async () => {
    const a = await open('replicas1:');
    const b = await open('replicas1:');
    await a.push(put(key('j', '/instance/i'), family('m', 'counter', [sample(3)])));
    await eventually(() => expect(b.get(key('j', '/instance/i'))?.families.get('m')?.family.metrics[0]?.value).toBe(3));
    expect(b.scrapeText([])).toBe(a.scrapeText([]));
    await b.delete(key('j', '/instance/i'));
    await eventually(() => expect(a.groupCount).toBe(0));
  });

  test('the replica that took the pushes shows them exactly as one that decoded them from the log: text, OpenMetrics, protobuf', async () => {
    // The replica that pushes applies its own log entries from what it sent (codec.ts, SentPush).
    const a = await open('replicas-same:');
    const b = await open('replicas-same:');
    const text = (body: string): ReturnType<typeof parseText> => parseText(new TextEncoder().encode(body));
    await a.push(
      put(
        key('j', '/instance/text'),
        ...text(
          '# HELP a_total A "counter"\\n.\n# TYPE a_total counter\na_total{x="1"} 3\na_total{x="2"} NaN\na_total{x="3"} -Inf\n' +
            '# TYPE h histogram\nh_bucket{le="0.5"} 2\nh_bucket{le="+Inf"} 3\nh_sum 4.5\nh_count 3\n' +
            '# TYPE s summary\ns{quantile="0.5"} 1e-7\ns_sum 2\ns_count 1\nu{v="é \\" \\n",w=""} -0\nbig 1.5e300\n',
        ),
      ),
    );
    await a.push(
      post(
        key('j', '/instance/protobuf'),
        ...decodeProtobufDelimited(
          delimited([
            { name: 'ex_total', type: 'COUNTER', metrics: [{ counter: 7, exemplar: { labels: { trace_id: 'abc' }, value: 1, timestamp: { seconds: 1_700_000_000 } }, created: { seconds: 1_600_000_000 } }] },
            {
              name: 'nh',
              type: 'HISTOGRAM',
              metrics: [{ histogram: { count: 7, sum: 3, buckets: [], native: { schema: 3, zeroThreshold: 1e-9, zeroCount: 1, positiveSpans: [[-1, 2]], positiveDeltas: [2, 1], negativeSpans: [[0, 1]], negativeDeltas: [1] } } }],
            },
          ]),
        ),
      ),
    );
    // The same series again with other values (the render cache patches), and a PUT that drops families.
    await a.push(post(key('j', '/instance/text'), ...text('# TYPE a_total counter\na_total{x="1"} 4\na_total{x="2"} 5\na_total{x="3"} 6\n')));
    await a.push(put(key('j', '/instance/protobuf'), family('g', 'gauge', [sample(2, { k: 'v' })])));
    await eventually(() => expect(b.get(key('j', '/instance/protobuf'))?.families.has('g')).toBe(true));
    const escapings: readonly EscapingScheme[] = ['allow-utf-8', 'underscores'];
    for (const openMetrics of [false, true]) {
      for (const escaping of escapings) expect(b.scrapeText([], { openMetrics, escaping })).toBe(a.scrapeText([], { openMetrics, escaping }));
    }
    expect(Buffer.concat(b.scrapeProtobuf([]))).toEqual(Buffer.concat(a.scrapeProtobuf([])));
    expect(a.scrapeText([])).toContain('a_total{instance="text",job="j",x="3"} 6\n');
  });

  test('pushes of thousands of series: a series held by another group is found and named in any of them; a PUT with fewer series frees the others', async () => {
    // The script reads and writes series hashes in lists of at most 1000 (Lua's stack).
    const a = await open('replicas-many:');
    const b = await open('replicas-many:');
    const many = (n: number, from = 0): ReturnType<typeof sample>[] => Array.from({ length: n }, (_, i) => sample(i, { s: String(from + i) }));
    // Group x=1 holds m{job="j", x="1", s="0"} … s="4999" (more than one command can take through unpack at once); group j (no x) can name the same series with a body label x="1".
    expect((await a.push(put(key('j', '/x/1'), family('m', 'gauge', many(5_000))))).ok).toBe(true);
    // The clashing series is the push's 2,401st: in its third list of hashes.
    const clash = await b.push(put(key('j'), family('m', 'gauge', [...many(2_400, 10_000), sample(1, { s: '2345', x: '1' })])));
    expect(clash).toEqual({ ok: false, reason: 'duplicate series: m{instance="", job="j", s="2345", x="1"} is already stored in another group' });
    expect((await a.push(put(key('j', '/x/1'), family('m', 'gauge', many(1_200))))).ok).toBe(true);
    expect((await b.push(put(key('j'), family('m', 'gauge', [sample(1, { s: '2345', x: '1' }), sample(1, { s: '1199', x: '2' })])))).ok).toBe(true);
    // Series 1,199 is still held.
    expect(await b.push(put(key('j'), family('m', 'gauge', [sample(1, { s: '1199', x: '1' })])))).toEqual({
      ok: false,
      reason: 'duplicate series: m{instance="", job="j", s="1199", x="1"} is already stored in another group',
    });
    await eventually(() => expect(a.get(key('j'))?.families.get('m')?.family.metrics).toHaveLength(2));
    expect(a.seriesCount).toBe(b.seriesCount);
  });

  test('a replica opened later reads everything already stored', async () => {
    const a = await open('replicas2:');
    for (let i = 0; i < 450; i++) await a.push(put(key('j', `/instance/${i}`), family('m', 'gauge', [sample(i)])));
    await a.push(post(key('j', '/instance/7'), family('n')));
    await a.setOwner(key('j', '/instance/8'), { group: 'batch', kind: 'Job', namespace: 'ns', name: 'x', uid: 'u' });
    const b = await open('replicas2:');
    expect(b.groupCount).toBe(450);
    expect(b.scrapeText([])).toBe(a.scrapeText([]));
    expect(b.get(key('j', '/instance/8'))?.owner?.uid).toBe('u');
  });

  test('conflicting pushes to two replicas at the same moment: exactly one wins', async () => {
    const a = await open('replicas3:');
    const b = await open('replicas3:');
    for (let round = 0; round < 50; round++) {
      const name = `m${round}`;
      const [ra, rb] = await Promise.all([
        a.push(put(key('ja', `/r/${round}`), family(name, 'counter'))),
        b.push(put(key('jb', `/r/${round}`), family(name, 'gauge'))),
      ]);
      expect([ra.ok, rb.ok].filter(Boolean)).toHaveLength(1);
      // and the same series through a body label, from two groups
      const [sa, sb] = await Promise.all([
        a.push(put(key('js', `/r/${round}`), family(`s${round}`, 'gauge', [sample(1, { x: '1' })]))),
        b.push(put(key('js', `/r/${round}/x/1`), family(`s${round}`, 'gauge', [sample(1)]))),
      ]);
      expect([sa.ok, sb.ok].filter(Boolean)).toHaveLength(1);
    }
    // Both views agree, and every stored name has one type.
    await eventually(() => expect(b.scrapeText([])).toBe(a.scrapeText([])));
    const types = new Map<string, Set<string>>();
    for (const line of a.scrapeText([]).split('\n')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, (types.get(m[1]!) ?? new Set()).add(m[2]!));
    }
    expect([...types.values()].every((t) => t.size === 1)).toBe(true);
  });

  test('a refused push records the failure time in every replica', async () => {
    const a = await open('replicas4:');
    const b = await open('replicas4:');
    await a.push(put(key('j1'), family('m', 'counter')));
    clock.advance(1000);
    const result = await b.push(put(key('j2'), family('m', 'gauge')));
    expect(result.ok).toBe(false);
    await eventually(() => expect(a.get(key('j2'))?.lastFailureAt).toBe(clock.now()));
  });

  test('only the lease holder serves pushed groups; another takes over when it stops', async () => {
    const leaders = [0, 1, 2].map((i) => {
      const backend = RedisLease.connect({ url: redis.url, keyPrefix: 'replicas5:', timeoutMs: 3_000, identity: `r${i}`, leaseDurationMs: 1_500 });
      const elector = new LeaderElector({ backend, timings: leaseTimingsOf(1_500), clock: systemClock, logger: quietLogger(), metrics: createLeaderMetrics(new Registry()) });
      return { backend, elector };
    });
    try {
      const stores = await Promise.all(leaders.map(({ elector }) => open('replicas5:', { leadership: elector })));
      for (const { elector } of leaders) elector.start();
      await stores[0]!.push(put(key('j'), family('served')));
      const serving = (): RedisGroupStore[] => stores.filter((s) => s.scrapeText([]).includes('served{'));
      await eventually(() => expect(serving()).toHaveLength(1), { timeout: 10_000 });
      const holder = serving()[0]!;
      const holding = leaders[stores.indexOf(holder)]!;
      expect(holding.elector.isLeader()).toBe(true);
      // Non-holders still render Lethe's own metrics.
      const other = stores.find((s) => s !== holder)!;
      expect(other.scrapeText([family('lethe_up', 'gauge', [sample(1)])])).toBe('# TYPE lethe_up gauge\nlethe_up 1\n');
      await holding.elector.stop();
      const rest = stores.filter((s) => s !== holder);
      await eventually(() => expect(rest.filter((s) => s.scrapeText([]).includes('served{'))).toHaveLength(1), { timeout: 10_000 });
    } finally {
      for (const { elector, backend } of leaders) {
        await elector.stop();
        await backend.close();
      }
    }
  });

  test('a confirmed scrape is shared: every replica, and one opened later, sees the mark; a push ends it everywhere', async () => {
    const a = await open('replicas7:');
    const b = await open('replicas7:');
    const k = key('j', '/instance/i');
    await a.push(put(k, family('m')));
    await eventually(() => expect(b.get(k)).toBeDefined());
    const token = a.scrapeToken();
    expect(token.groups.map((g) => g.key.id)).toEqual([k.id]);
    await a.confirmScraped(token, 4242);
    expect(a.get(k)?.scrapedAt).toBe(4242);
    await eventually(() => expect(b.get(k)?.scrapedAt).toBe(4242));
    // A new leader (here: a replica started now) does not wait for a scrape again.
    const c = await open('replicas7:');
    expect(c.get(k)?.scrapedAt).toBe(4242);
    expect(c.scrapeToken().groups).toEqual([]);
    // An owner change keeps the mark; a push on any replica ends it on all.
    await b.setOwner(k, { group: 'batch', kind: 'Job', namespace: 'ns', name: 'x', uid: 'u' });
    await eventually(() => expect(c.get(k)?.owner?.uid).toBe('u'));
    expect(c.get(k)?.scrapedAt).toBe(4242);
    await b.push(put(k, family('m')));
    await eventually(() => expect([a, b, c].map((s) => s.get(k)?.scrapedAt)).toEqual([undefined, undefined, undefined]));
  });

  test('data written before generations and scrape marks (no gen, no scraped) reads as generation 0, unscraped', async () => {
    const raw = redis.client();
    try {
      const a = await open('replicas8:');
      const k = key('old');
      await a.push(put(k, family('m')));
      await a.confirmScraped(a.scrapeToken(), 7);
      await raw.del('replicas8:gen', 'replicas8:scraped');
      const b = await open('replicas8:');
      expect(b.get(k)?.generation).toBe(0);
      expect(b.get(k)?.scrapedAt).toBeUndefined();
      // A push takes a generation; a deletion on 0 then keeps the group, one on the new generation removes it.
      await b.push(put(k, family('m')));
      const now = b.get(k)?.generation ?? -1;
      expect(now).toBeGreaterThan(0);
      expect(await b.delete(k, { ifGeneration: 0 })).toBe(false);
      expect(await b.delete(k, { ifGeneration: now })).toBe(true);
      // And a group without a generation is deleted on 0, as its view shows it.
      await b.push(put(key('old2'), family('m2')));
      await raw.hdel('replicas8:gen', key('old2').id);
      const c = await open('replicas8:');
      expect(c.get(key('old2'))?.generation).toBe(0);
      expect(await c.delete(key('old2'), { ifGeneration: 0 })).toBe(true);
    } finally {
      raw.disconnect();
    }
  });

  test('a wipe that loses Redis part way rejects with a 503 naming how many groups it deleted', async () => {
    // Through a proxy that lets the wipe's commands trickle, so that the kill lands in its middle.
    const proxy = await TcpProxy.start(redis.port);
    const raw = redis.client();
    try {
      const a = await open('replicas9:', { url: `redis://127.0.0.1:${proxy.port}` });
      const total = 300;
      for (let i = 0; i < total; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => a.push(put(key('w', `/instance/${i + j}`), family('m')))));
      }
      expect(await a.delete(key('none'))).toBe(false); // loads the delete script: the wipe sends only its hash
      expect(proxy.throttle('$5\r\nlethe\r\n', 10)).toBe(1);
      const deleted: string[] = [];
      const wiping = a.wipe((k) => deleted.push(k.id));
      await eventually(async () => expect(Number(await raw.hlen('replicas9:groups'))).toBeLessThan(total), { timeout: 10_000, interval: 5 });
      await redis.kill();
      const err = await wiping.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toMatch(new RegExp(`failed during the wipe \\(not connected\\) after ${deleted.length} of ${total} groups were deleted`));
      expect(deleted.length).toBeGreaterThan(0);
      expect(deleted.length).toBeLessThan(total);
    } finally {
      raw.disconnect();
      await proxy.stop();
      if (!redis.running) await redis.restart();
    }
  });

  test('pushes while Redis is down get a 503 error; the view recovers when it returns', async () => {
    const a = await open('replicas6:');
    await a.push(put(key('before'), family('m')));
    await redis.kill();
    await expect(a.push(put(key('during'), family('m')))).rejects.toThrow(UnavailableError);
    await expect(a.push(put(key('during'), family('m')))).rejects.toThrow(/store unavailable: Redis at redis:\/\/127\.0\.0\.1:\d+ did not take the write/);
    // Reads go on from the local view.
    expect(a.get(key('before'))).toBeDefined();
    await redis.restart();
    await eventually(async () => expect(await a.push(put(key('after'), family('m')))).toEqual({ ok: true }), { timeout: 20_000, interval: 200 });
    expect(a.get(key('before'))).toBeDefined();
    expect(a.get(key('during'))).toBeUndefined();
    const b = await open('replicas6:');
    expect(b.groupCount).toBe(2);
  });
});
