import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import {
  LifecycleLoop,
  type ClusterSnapshot,
  type ClusterView,
  type DeletionBatch,
  type Presence,
  type ViewGates,
} from '../../../src/lifecycle/index.js';
import type { Leadership } from '../../../src/leadership/index.js';
import { defaultPolicy, type DeletionReason } from '../../../src/model/index.js';
import { createLifecycleMetrics } from '../../../src/observability/index.js';
import { FakeClock, family, key } from '../../harness/builders.js';
import { quietLogger } from '../../harness/logger.js';
import { openLocalStore } from '../../harness/stores.js';
import { NS, NS_UID, T0, job, refTo, snapshot } from './builders.js';

/** A ClusterView the test sets by hand (a fake of our own port, never of the Kubernetes API). */
class FakeView implements ClusterView {
  gatesNow: ViewGates = { synced: true, healthy: true, problems: [] };
  snap: ClusterSnapshot = snapshot();
  presence: Presence = 'absent';
  confirmed: string[] = [];
  snapshot(): ClusterSnapshot {
    return this.snap;
  }
  gates(): ViewGates {
    return this.gatesNow;
  }
  confirmAbsent(owner: { kind: string; name: string }): Promise<Presence> {
    this.confirmed.push(`${owner.kind}/${owner.name}`);
    return Promise.resolve(this.presence);
  }
  onChange(): () => void {
    return () => undefined;
  }
}

async function setup() {
  const clock = new FakeClock(T0);
  const store = await openLocalStore({ clock, maxGroups: 100 });
  const view = new FakeView();
  const leader = { leading: true };
  const leadership: Leadership = { isLeader: () => leader.leading, onChange: () => () => undefined };
  const deleted: DeletionReason[] = [];
  const batches: DeletionBatch[] = [];
  const loop = new LifecycleLoop({
    store,
    view,
    leadership,
    reporter: {
      deletions: (b) => {
        batches.push(...b);
        return Promise.resolve();
      },
      metricsGroups: () => Promise.resolve(),
    },
    clock,
    logger: quietLogger(),
    metrics: createLifecycleMetrics(new Registry()),
    groupsDeleted: { inc: ({ reason }) => deleted.push(reason) },
    options: { defaults: defaultPolicy, resyncIntervalMs: 60_000, debounceMs: 10, scrapePollMs: 100 },
  });
  // A group pushed from a pod of Job b-1 (gone from the view), already scraped.
  const attribution = { source: 'pod-ip' as const, namespace: NS, namespaceUid: NS_UID, run: refTo('Job', 'b-1') };
  await store.push({ key: key('backup'), method: 'PUT', families: [family('x')], attribution });
  await store.confirmScraped(store.scrapeToken(), T0);
  return { clock, store, view, leader, loop, deleted, batches, attribution };
}

describe('lifecycle loop', () => {
  test('deletes what decide() says once the owner is confirmed gone, and reports it once', async () => {
    const { loop, store, deleted, batches, view } = await setup();
    const result = await loop.runOnce();
    expect(result.deleted).toBe(1);
    expect(store.groupCount).toBe(0);
    expect(deleted).toEqual(['job-deleted']);
    expect(batches).toEqual([{ reason: 'job-deleted', subject: expect.objectContaining({ kind: 'Job', name: 'b-1' }), groups: [key('backup')] }]);
    expect(view.confirmed).toEqual(['Job/b-1']);
  });

  test.each([
    ['not synced', (s: Awaited<ReturnType<typeof setup>>) => (s.view.gatesNow = { synced: false, healthy: false, problems: ['Job: not synced'] }), ['sync', 'health']],
    ['a watch unhealthy', (s: Awaited<ReturnType<typeof setup>>) => (s.view.gatesNow = { synced: true, healthy: false, problems: ['Pod: unhealthy'] }), ['health']],
    ['not the leader', (s: Awaited<ReturnType<typeof setup>>) => (s.leader.leading = false), ['leader']],
  ])('a closed gate (%s) blocks every deletion', async (_name, close, gates) => {
    const s = await setup();
    close(s);
    const result = await s.loop.runOnce();
    expect(result.blockedBy).toEqual(gates);
    expect(s.store.groupCount).toBe(1);
    expect(s.deleted).toEqual([]);
  });

  test.each([
    ['the API server still has the owner (the cache lags)', 'present'],
    ['the API server cannot be asked', 'unknown'],
  ] as const)('no deletion when %s', async (_name, presence) => {
    const s = await setup();
    s.view.presence = presence;
    const result = await s.loop.runOnce();
    expect(result.deleted).toBe(0);
    expect(s.store.groupCount).toBe(1);
  });

  test("a pass stores the owner's policy with the group; after it, the owner's deletion decides by it even when nothing remembers the owner", async () => {
    const s = await setup();
    s.view.snap = snapshot({ jobs: [job('b-1', (j) => ({ ...j, policy: { deletionPolicy: 'Orphan' } }))] });
    await s.loop.runOnce();
    expect(s.store.get(key('backup'))?.owner).toMatchObject({ kind: 'Job', uid: 'b-1-uid', policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan' } } });
    // The Job is gone and no tombstone remembers it (as after a restart).
    s.view.snap = snapshot();
    expect((await s.loop.runOnce()).deleted).toBe(0);
    expect(s.store.get(key('backup'))?.owner).toMatchObject({ kind: 'Namespace', name: NS });
    expect(s.deleted).toEqual([]);
  });

  test('a Job whose annotation cannot be read: its deletion orphans the group', async () => {
    const s = await setup();
    s.view.snap = snapshot({ jobs: [job('b-1', (j) => ({ ...j, invalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan' }))] });
    await s.loop.runOnce();
    s.view.snap = snapshot();
    expect((await s.loop.runOnce()).deleted).toBe(0);
    expect(s.store.groupCount).toBe(1);
    expect(s.deleted).toEqual([]);
  });

  test('a deletion waits for the scrape of the latest push', async () => {
    const s = await setup();
    s.view.snap = snapshot({ jobs: [job('b-1')] });
    await s.loop.runOnce();
    s.clock.advance(1000);
    await s.store.push({ key: key('backup'), method: 'PUT', families: [family('x')], attribution: s.attribution });
    s.view.snap = snapshot();
    expect((await s.loop.runOnce()).deleted).toBe(0);
    await s.store.confirmScraped(s.store.scrapeToken(), s.clock.now());
    expect((await s.loop.runOnce()).deleted).toBe(1);
  });
});
