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
import { MIN, NS, NS_UID, T0, cronJob, job, metricsGroup, refTo, runOf, selector, snapshot } from './builders.js';

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
  const writes = { count: 0 };
  const metrics = createLifecycleMetrics(new Registry());
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
    metrics,
    groupsDeleted: { inc: ({ reason }) => deleted.push(reason) },
    wrote: () => writes.count++,
    options: { defaults: defaultPolicy, resyncIntervalMs: 60_000, debounceMs: 10, scrapePollMs: 100 },
  });
  // A group pushed from a pod of Job b-1 (gone from the view), already scraped.
  const attribution = { source: 'pod-ip' as const, namespace: NS, namespaceUid: NS_UID, run: refTo('Job', 'b-1') };
  await store.push({ key: key('backup'), method: 'PUT', families: [family('x')], attribution });
  await store.confirmScraped(store.scrapeToken(), T0);
  return { clock, store, view, leader, loop, deleted, batches, attribution, metrics, writes };
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

  test('the overdue gauges follow the groups that run on a schedule, pass by pass: set, changed, relabelled, removed', async () => {
    const s = await setup();
    const lines = async (gauge: 'groupOverdue' | 'groupLastPush'): Promise<string[]> =>
      (await s.metrics[gauge].get()).values.map((v) => `${v.labels['owner_kind']}/${v.labels['owner_name']} ${v.labels['grouping_key']} ${v.value}`);
    const series = async (): Promise<{ groupOverdue: string[]; groupLastPush: string[] }> => ({
      groupOverdue: await lines('groupOverdue'),
      groupLastPush: await lines('groupLastPush'),
    });
    const nightly = { source: 'pod-ip' as const, namespace: NS, namespaceUid: NS_UID, run: refTo('Job', 'n-1'), schedule: refTo('CronJob', 'nightly') };
    await s.store.push({ key: key('nightly'), method: 'PUT', families: [family('x')], attribution: nightly });
    const cronJobs = [cronJob('nightly')];
    const jobs = [job('b-1'), job('n-1', runOf('nightly'))];
    s.view.snap = snapshot({ jobs, cronJobs });
    await s.loop.runOnce();
    expect(await series()).toEqual({ groupOverdue: ['CronJob/nightly job="nightly" 0'], groupLastPush: [`CronJob/nightly job="nightly" ${T0 / 1000}`] });

    // Hours without a push: overdue.
    s.clock.advance(3 * 60 * MIN);
    await s.loop.runOnce();
    expect(await series()).toEqual({ groupOverdue: ['CronJob/nightly job="nightly" 1'], groupLastPush: [`CronJob/nightly job="nightly" ${T0 / 1000}`] });

    // A push: on time again, and its time.
    await s.store.push({ key: key('nightly'), method: 'PUT', families: [family('x')], attribution: nightly });
    await s.loop.runOnce();
    const pushed = (T0 + 3 * 60 * MIN) / 1000;
    expect(await series()).toEqual({ groupOverdue: ['CronJob/nightly job="nightly" 0'], groupLastPush: [`CronJob/nightly job="nightly" ${pushed}`] });

    // A MetricsGroup with its own schedule adopts the group: one series, under its name.
    const mg = metricsGroup('nightly-mg', (m) => ({ ...m, selector: selector({ job: 'nightly' }), schedule: { schedule: '0 * * * *' } }));
    s.view.snap = snapshot({ jobs, cronJobs, metricsGroups: [mg] });
    await s.loop.runOnce();
    expect(await series()).toEqual({ groupOverdue: ['MetricsGroup/nightly-mg job="nightly" 0'], groupLastPush: [`MetricsGroup/nightly-mg job="nightly" ${pushed}`] });

    // Its schedule dropped: the group runs on none, and its series go.
    const { schedule: _dropped, ...unscheduled } = mg;
    s.view.snap = snapshot({ jobs, cronJobs, metricsGroups: [unscheduled] });
    await s.loop.runOnce();
    expect(await series()).toEqual({ groupOverdue: [], groupLastPush: [] });
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

  test('tells of each write it makes to the store (an owner recorded, an orphaning, a deletion) and of nothing else', async () => {
    const s = await setup();
    s.view.snap = snapshot({ jobs: [job('b-1')] });
    await s.loop.runOnce();
    expect(s.writes.count).toBe(1);
    await s.loop.runOnce();
    expect(s.writes.count).toBe(1);
    s.view.snap = snapshot();
    expect((await s.loop.runOnce()).deleted).toBe(1);
    expect(s.writes.count).toBe(2);

    const o = await setup();
    o.view.snap = snapshot({ jobs: [job('b-1', (j) => ({ ...j, policy: { deletionPolicy: 'Orphan' } }))] });
    await o.loop.runOnce();
    o.view.snap = snapshot();
    await o.loop.runOnce();
    expect(o.store.get(key('backup'))?.owner).toMatchObject({ kind: 'Namespace' });
    expect(o.writes.count).toBe(2);
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
