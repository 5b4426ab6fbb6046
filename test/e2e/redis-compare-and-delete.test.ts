import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupingKeyOf, type GroupingKey } from '../../src/model/index.js';
import type { RedisStoreOptions } from '../../src/store/index.js';
import { RedisGroupStore } from '../../src/store/redis/index.js';
import { FakeClock, family, put, sample } from '../harness/builders.js';
import { eventually } from '../harness/eventually.js';
import { RedisServer } from '../harness/redis.js';
import { TcpProxy } from '../harness/tcp-proxy.js';

/**
 * Compare-and-delete on the Redis store, against a real redis-server: two replicas, the deciding
 * one (A) reaching Redis through a TCP proxy that holds back its change feed, so its view still
 * shows the state its decision saw, while the other (B) takes pushes. A deletes each group on the
 * generation its view shows, racing B's pushes (a push acknowledged before the delete is sent, or
 * both at once). Every push B acknowledged must survive: the generation is compared in Redis,
 * atomically with the deletion, not in A's stale view.
 */

const GROUPS = 60;
const ROUNDS = 8;

type Plan = 'push-then-delete' | 'together' | 'delete-only';

/** A small seeded generator (mulberry32), so a failing round can be replayed from the printed seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Redis compare-and-delete: a push acknowledged on another replica after the decision is never deleted', () => {
  let dir: string;
  let redis: RedisServer;
  let proxy: TcpProxy;
  const opened: RedisGroupStore[] = [];
  const clock = new FakeClock();

  const open = async (url: string, extra: Partial<RedisStoreOptions> = {}): Promise<RedisGroupStore> => {
    const store = await RedisGroupStore.open({
      url,
      keyPrefix: 'cad:',
      timeoutMs: 1_000,
      minReplicas: 0,
      clock,
      ownType: () => undefined,
      consistencyCheck: true,
      maxGroups: 100_000,
      ...extra,
    });
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-cad-'));
    redis = await RedisServer.start({ dir });
    proxy = await TcpProxy.start(redis.port);
  });

  afterAll(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await proxy.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('pushes racing deletions decided on a held-back view: 0 acknowledged pushes deleted', async () => {
    const seed = Number(process.env['LETHE_RACE_SEED'] ?? Date.now() % 1_000_000);
    const next = random(seed);
    const deciding = await open(`redis://127.0.0.1:${proxy.port}`);
    const pushing = await open(redis.url);
    const keys: GroupingKey[] = Array.from({ length: GROUPS }, (_, i) => groupingKeyOf({ job: 'race', instance: `g${i}` }));
    const barrier = groupingKeyOf({ job: 'barrier' });
    let value = 0;
    const pushValue = async (k: GroupingKey): Promise<number | undefined> => {
      const v = ++value;
      const result = await pushing.push(put(k, family('race_value', 'gauge', [sample(v)])));
      return result.ok ? v : undefined;
    };
    const stored = (k: GroupingKey): number | undefined => pushing.get(k)?.families.get('race_value')?.family.metrics[0]?.value;
    const totals = { acknowledged: 0, attempted: 0, applied: 0, lost: 0, deleteOnlyKept: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      // Every group exists, and the deciding replica's view shows each at its current generation.
      for (const k of keys) if (pushing.get(k) === undefined) await pushValue(k);
      await eventually(() => expect(keys.every((k) => deciding.get(k)?.generation === pushing.get(k)?.generation)).toBe(true), {
        timeout: 20_000,
      });
      const seen = new Map(keys.map((k) => [k.id, deciding.get(k)?.generation ?? -1]));
      expect(proxy.hold('lethe-feed')).toBe(1);

      const acked = new Map<string, number>();
      const plans = new Map<string, Plan>();
      const outcomes = await Promise.all(
        keys.map(async (k) => {
          const r = next();
          const plan: Plan = r < 0.45 ? 'push-then-delete' : r < 0.85 ? 'together' : 'delete-only';
          plans.set(k.id, plan);
          const del = (): Promise<boolean> => deciding.delete(k, { ifGeneration: seen.get(k.id) ?? -1 });
          let deleted: boolean;
          if (plan === 'push-then-delete') {
            const v = await pushValue(k);
            if (v !== undefined) acked.set(k.id, v);
            deleted = await del();
          } else if (plan === 'together') {
            const [v, d] = await Promise.all([pushValue(k), del()]);
            if (v !== undefined) acked.set(k.id, v);
            deleted = d;
          } else {
            deleted = await del();
          }
          return deleted;
        }),
      );
      proxy.release();

      // A push through B after everything else: once acknowledged, B's view shows every earlier change.
      await pushValue(barrier);
      totals.acknowledged += acked.size;
      totals.attempted += outcomes.length;
      totals.applied += outcomes.filter(Boolean).length;
      for (const k of keys) {
        const want = acked.get(k.id);
        if (want !== undefined && stored(k) !== want) totals.lost++;
        if (plans.get(k.id) === 'delete-only' && pushing.get(k) !== undefined) totals.deleteOnlyKept++;
      }
    }

    console.log(
      `redis compare-and-delete (seed ${seed}): ${ROUNDS} rounds of ${GROUPS} groups; pushes acknowledged ${totals.acknowledged}, ` +
        `deletions attempted ${totals.attempted}, deletions applied ${totals.applied}, acknowledged pushes deleted ${totals.lost}`,
    );
    expect(totals.acknowledged).toBeGreaterThan(0);
    // Deletions do happen: every group no push raced was deleted on the generation the view saw.
    expect(totals.applied).toBeGreaterThan(0);
    expect(totals.deleteOnlyKept).toBe(0);
    expect(totals.lost).toBe(0);
  }, 180_000);
});
