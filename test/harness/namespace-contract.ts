/**
 * The GroupStore contract for namespaces, run against every backend: a guarded push or delete
 * never changes a group of another namespace (not even its failure time), and of two namespaces
 * creating one group at once exactly one wins; per-namespace usage follows every write.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { ErrorCode, ForbiddenError } from '../../src/errors.js';
import type { Attribution, GroupingKey, MetricFamily } from '../../src/model/index.js';
import type { GroupStore, PushRequest } from '../../src/store/index.js';
import { FakeClock, family, key, sample } from './builders.js';
import type { OpenStore } from './store-contract.js';

const inNs = (namespace: string): Attribution => ({ source: 'token', namespace });

function pushIn(namespace: string | undefined, k: GroupingKey, method: 'PUT' | 'POST', ...families: MetricFamily[]): PushRequest {
  return { key: k, method, families, attribution: namespace === undefined ? { source: 'none' } : inNs(namespace) };
}

const guarded = (request: PushRequest, namespace: string): PushRequest => ({ ...request, guard: { namespace } });

const isForbidden = (err: unknown): boolean => err instanceof ForbiddenError && err.code === ErrorCode.otherNamespace;

/** 'forbidden' when the write was refused as another namespace's, else what happened. */
const outcome = (write: Promise<unknown>): Promise<string> =>
  write.then(
    () => 'written',
    (err: unknown) => (isForbidden(err) ? 'forbidden' : `failed: ${String(err)}`),
  );

export function describeNamespaceContract(backend: string, openStore: OpenStore): void {
  describe(`GroupStore namespace contract: ${backend}`, () => {
    const clock = new FakeClock();
    const opened: GroupStore[] = [];
    const open = async (): Promise<GroupStore> => {
      const store = await openStore({ clock, ownType: () => undefined, consistencyCheck: true, maxGroups: 1000 });
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });
    const values = (store: GroupStore, k: GroupingKey): unknown => {
      const g = store.get(k);
      return g === undefined ? undefined : { ns: g.attribution.namespace, fail: g.lastFailureAt, push: g.lastPushAt, m: g.families.get('m')?.family.metrics.map((x) => x.value) };
    };

    test('a guarded push creates a missing group and changes its own namespace\'s group', async () => {
      const store = await open();
      const k = key('backup');
      expect(await store.push(guarded(pushIn('a', k, 'PUT', family('m', 'gauge', [sample(1)])), 'a'))).toEqual({ ok: true });
      expect(await store.push(guarded(pushIn('a', k, 'POST', family('m', 'gauge', [sample(2)])), 'a'))).toEqual({ ok: true });
      expect(values(store, k)).toMatchObject({ ns: 'a', m: [2] });
    });

    test('a guarded push to another namespace\'s group is refused and changes nothing, not even the failure time', async () => {
      const store = await open();
      const k = key('backup');
      await store.push(pushIn('a', k, 'PUT', family('m', 'gauge', [sample(1)])));
      const before = values(store, k);
      clock.advance(1_000);
      for (const request of [
        pushIn('b', k, 'PUT', family('m', 'gauge', [sample(2)])),
        pushIn('b', k, 'POST', family('m', 'gauge', [sample(2)])),
        // What the consistency check would refuse records a failure time: refused before that.
        pushIn('b', k, 'PUT', family('m', 'gauge', [sample(2, {}, { timestampMs: 5 })])),
        pushIn('b', k, 'PUT', family('m', 'counter', [sample(2)]), family('m_total', 'gauge', [sample(1)])),
      ]) {
        expect(await outcome(store.push(guarded(request, 'b')))).toBe('forbidden');
      }
      expect(values(store, k)).toEqual(before);
    });

    test('a group with no namespace is nobody\'s: a guarded push is refused, an unguarded one re-attributes it', async () => {
      const store = await open();
      const k = key('old');
      await store.push(pushIn(undefined, k, 'PUT', family('m')));
      expect(await outcome(store.push(guarded(pushIn('a', k, 'PUT', family('m')), 'a')))).toBe('forbidden');
      await store.push(pushIn('b', k, 'PUT', family('m')));
      expect(store.get(k)?.attribution.namespace).toBe('b');
    });

    test('a guarded delete removes only its own namespace\'s group', async () => {
      const store = await open();
      const k = key('backup');
      await store.push(pushIn('a', k, 'PUT', family('m')));
      expect(await outcome(store.delete(k, { guard: { namespace: 'b' } }))).toBe('forbidden');
      expect(store.get(k)).toBeDefined();
      expect(await store.delete(key('missing'), { guard: { namespace: 'b' } })).toBe(false);
      expect(await store.delete(k, { guard: { namespace: 'a' } })).toBe(true);
      expect(store.get(k)).toBeUndefined();
    });

    test('of two namespaces creating one group at once, exactly one wins', async () => {
      const store = await open();
      const k = key('race');
      const results = await Promise.allSettled(
        ['a', 'b', 'a', 'b', 'a', 'b'].map((ns, i) => store.push(guarded(pushIn(ns, k, 'PUT', family('m', 'gauge', [sample(i)])), ns))),
      );
      const winner = store.get(k)?.attribution.namespace;
      expect(results.map((r, i) => (i % 2 === (winner === 'a' ? 0 : 1) ? r.status === 'fulfilled' : r.status === 'rejected' && isForbidden(r.reason)))).toEqual(
        Array(6).fill(true),
      );
    });

    test('usage per namespace follows pushes, deletes and re-attribution; meta series and unattributed groups count nowhere', async () => {
      const store = await open();
      expect(store.namespaceUsage('a')).toEqual({ groups: 0, series: 0 });
      await store.push(pushIn('a', key('j1'), 'PUT', family('m', 'gauge', [sample(1, { i: '1' }), sample(1, { i: '2' })])));
      await store.push(pushIn('a', key('j2'), 'PUT', family('m', 'gauge', [sample(1, { i: '3' })])));
      await store.push(pushIn(undefined, key('j3'), 'PUT', family('m', 'gauge', [sample(1, { i: '4' })])));
      expect(store.namespaceUsage('a')).toEqual({ groups: 2, series: 3 });
      await store.push(pushIn('a', key('j1'), 'POST', family('n', 'gauge', [sample(1)])));
      expect(store.namespaceUsage('a')).toEqual({ groups: 2, series: 4 });
      await store.push(pushIn('b', key('j2'), 'PUT', family('m', 'gauge', [sample(1, { i: '3' })])));
      expect([store.namespaceUsage('a'), store.namespaceUsage('b')]).toEqual([{ groups: 1, series: 3 }, { groups: 1, series: 1 }]);
      await store.delete(key('j1'));
      expect(store.namespaceUsage('a')).toEqual({ groups: 0, series: 0 });
      await store.wipe();
      expect(store.namespaceUsage('b')).toEqual({ groups: 0, series: 0 });
    });
  });
}
