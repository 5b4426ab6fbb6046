import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Attribution, OwnerRef } from '../../../src/model/index.js';
import { parseOwner } from '../../../src/store/redis/codec.js';
import { family, key } from '../../harness/builders.js';
import { openLocalStore } from '../../harness/stores.js';

/**
 * What the lifecycle records on a group must survive a restart: the owner of a CronJob run (with
 * its CronJob, so the "kept until a newer run pushed" rule still applies after the Job is gone)
 * and the pod's controller chain in the attribution.
 */
describe('owner and attribution survive a restart of the store', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a CronJob run owner and the controller chain are read back from the persistence file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-owner-'));
    const file = join(dir, 'store');
    const open = () =>
      openLocalStore({ maxGroups: 10, persistenceFile: file });
    const attribution: Attribution = {
      source: 'pod-ip',
      namespace: 'team-a',
      namespaceUid: 'ns-uid',
      pod: 'report-1-abc',
      podUid: 'pod-uid',
      job: { name: 'report-1', uid: 'job-uid' },
      cronJob: { name: 'report', uid: 'cj-uid' },
    };
    const owner: OwnerRef = { kind: 'Job', namespace: 'team-a', name: 'report-1', uid: 'job-uid', cronJob: { name: 'report', uid: 'cj-uid' }, resolvedFor: 1_700_000_000_000 };
    const first = await open();
    await first.push({ key: key('report'), method: 'PUT', families: [family('x')], attribution });
    await first.setOwner(key('report'), owner);
    await first.close();

    const second = await open();
    const group = second.get(key('report'));
    expect(group?.owner).toEqual(owner);
    expect(group?.attribution).toEqual(attribution);
    await second.close();
  });

  const held: OwnerRef = {
    kind: 'Job',
    namespace: 'team-a',
    name: 'migrate',
    uid: 'job-uid',
    resolvedFor: 1_700_000_000_000,
    policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan', maxGraceMs: 60_000 }, invalid: 'lethe.dev/ttl="2 days": expected a duration such as 30m or 24h' },
  };

  test("the owner's resolved policy is read back from the persistence file (a restart decides the same way)", async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-owner-'));
    const file = join(dir, 'store');
    const open = () =>
      openLocalStore({ maxGroups: 10, persistenceFile: file });
    const first = await open();
    await first.push({ key: key('migrate'), method: 'PUT', families: [family('x')], attribution: { source: 'pod-ip', namespace: 'team-a' } });
    await first.setOwner(key('migrate'), held);
    await first.close();
    const second = await open();
    expect(second.get(key('migrate'))?.owner).toEqual(held);
    await second.close();
  });

  test('a journal written before owners carried a policy still loads', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-owner-'));
    const file = join(dir, 'store');
    const open = () =>
      openLocalStore({ maxGroups: 10, persistenceFile: file });
    const first = await open();
    const { policy: _policy, ...withoutPolicy } = held;
    await first.push({ key: key('migrate'), method: 'PUT', families: [family('x')], attribution: { source: 'pod-ip', namespace: 'team-a' } });
    await first.setOwner(key('migrate'), withoutPolicy);
    await first.close();
    expect(await readFile(file, 'utf8')).not.toContain('"policy"');
    const second = await open();
    expect(second.get(key('migrate'))?.owner).toEqual(withoutPolicy);
    await second.close();
  });

  test("the Redis store's owner hash carries the policy too, and an older value without one reads", () => {
    expect(parseOwner(JSON.stringify(held))).toEqual(held);
    const { policy: _policy, ...withoutPolicy } = held;
    expect(parseOwner(JSON.stringify(withoutPolicy))).toEqual(withoutPolicy);
  });
});
