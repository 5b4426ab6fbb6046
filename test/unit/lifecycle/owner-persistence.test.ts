import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, test } from '@jest/globals';
import type { Attribution, OwnerRef } from '../../../src/model/index.js';
import { parseGroupValue, parseOwner } from '../../../src/store/redis/codec.js';
import { family, key } from '../../harness/builders.js';
import { openLocalStore } from '../../harness/stores.js';

/**
 * What the lifecycle records on a group must survive a restart: the owner of a scheduled run
 * (with its schedule, so the "kept until a newer run pushed" rule still applies after the run is
 * gone), of any kind, and the pod's run and schedule in the attribution. Files and Redis values
 * written before owners could be of any kind (a Job's CronJob as `cronJob`, no API group) load
 * unchanged, read as the same owners.
 */
describe('owner and attribution survive a restart of the store', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const openIn = async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-owner-'));
    const file = join(dir, 'store');
    return {
      file,
      open: () => openLocalStore({ maxGroups: 10, persistenceFile: file }),
    };
  };

  test.each<[string, Attribution, OwnerRef]>([
    [
      'a CronJob run',
      {
        source: 'pod-ip',
        namespace: 'team-a',
        namespaceUid: 'ns-uid',
        pod: 'report-1-abc',
        podUid: 'pod-uid',
        run: { group: 'batch', kind: 'Job', name: 'report-1', uid: 'job-uid' },
        schedule: { group: 'batch', kind: 'CronJob', name: 'report', uid: 'cj-uid' },
      },
      { group: 'batch', kind: 'Job', namespace: 'team-a', name: 'report-1', uid: 'job-uid', schedule: { group: 'batch', kind: 'CronJob', name: 'report', uid: 'cj-uid' }, resolvedFor: 1_700_000_000_000 },
    ],
    [
      'a CronWorkflow run',
      {
        source: 'token',
        namespace: 'team-a',
        pod: 'nightly-1796090400-main-1',
        podUid: 'pod-uid',
        run: { group: 'argoproj.io', kind: 'Workflow', name: 'nightly-1796090400', uid: 'wf-uid' },
        schedule: { group: 'argoproj.io', kind: 'CronWorkflow', name: 'nightly', uid: 'cwf-uid' },
      },
      {
        group: 'argoproj.io',
        kind: 'Workflow',
        namespace: 'team-a',
        name: 'nightly-1796090400',
        uid: 'wf-uid',
        schedule: { group: 'argoproj.io', kind: 'CronWorkflow', name: 'nightly', uid: 'cwf-uid' },
      },
    ],
    [
      'a bare pod with a schedule key, its chain incomplete',
      {
        source: 'pod-ip',
        namespace: 'team-a',
        pod: 'load-x1',
        podUid: 'pod-uid',
        run: { group: '', kind: 'Pod', name: 'load-x1', uid: 'pod-uid' },
        scheduleKey: 'etl.load',
        chainIncomplete: true,
      },
      { group: '', kind: 'Pod', namespace: 'team-a', name: 'load-x1', uid: 'pod-uid', scheduleKey: 'etl.load' },
    ],
  ])('%s: its owner and attribution are read back from the persistence file and from Redis values', async (_name, attribution, owner) => {
    const { open } = await openIn();
    const first = await open();
    await first.push({ key: key('report'), method: 'PUT', families: [family('x')], attribution });
    await first.setOwner(key('report'), owner);
    await first.close();

    const second = await open();
    const group = second.get(key('report'));
    expect(group?.owner).toEqual(owner);
    expect(group?.attribution).toEqual(attribution);
    await second.close();

    expect(parseOwner(JSON.stringify(owner))).toEqual(owner);
    expect(parseGroupValue(JSON.stringify({ k: [['job', 'report']], attr: attribution })).attribution).toEqual(attribution);
  });

  /** What a Lethe of before owners of any kind wrote: no API group, a Job's CronJob as `cronJob`, the pod's Job and CronJob as `job` and `cronJob`. */
  const legacyOwner = { kind: 'Job', namespace: 'team-a', name: 'report-1', uid: 'job-uid', cronJob: { name: 'report', uid: 'cj-uid' }, resolvedFor: 1_700_000_000_000 };
  const legacyAttribution = { source: 'pod-ip', namespace: 'team-a', pod: 'report-1-abc', podUid: 'pod-uid', job: { name: 'report-1', uid: 'job-uid' }, cronJob: { name: 'report', uid: 'cj-uid' } };
  const asNow = {
    owner: { group: 'batch', kind: 'Job', namespace: 'team-a', name: 'report-1', uid: 'job-uid', schedule: { group: 'batch', kind: 'CronJob', name: 'report', uid: 'cj-uid' }, resolvedFor: 1_700_000_000_000 },
    attribution: {
      source: 'pod-ip',
      namespace: 'team-a',
      pod: 'report-1-abc',
      podUid: 'pod-uid',
      run: { group: 'batch', kind: 'Job', name: 'report-1', uid: 'job-uid' },
      schedule: { group: 'batch', kind: 'CronJob', name: 'report', uid: 'cj-uid' },
    },
  };

  test('a persistence file written before owners of any kind loads: its Job and CronJob are the run and its schedule', async () => {
    const { file, open } = await openIn();
    const line = (record: unknown): string => {
      const json = JSON.stringify(record);
      return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
    };
    const namespaceOwner = { kind: 'Namespace', namespace: 'team-a', name: 'team-a', uid: 'ns-uid' };
    const mgOwner = { kind: 'MetricsGroup', namespace: 'team-a', name: 'scans', uid: 'mg-uid' };
    await writeFile(
      file,
      '{"format":"lethe-store","version":1}\n' +
        line({ t: 'g', k: [['job', 'report']], f: [], push: 1, fail: 0, attr: legacyAttribution, owner: legacyOwner }) +
        line({ t: 'g', k: [['job', 'adhoc']], f: [], push: 1, fail: 0, attr: { source: 'pod-ip', namespace: 'team-a' }, owner: namespaceOwner }) +
        line({ t: 'g', k: [['job', 'scan']], f: [], push: 1, fail: 0, attr: { source: 'pod-ip', namespace: 'team-a' }, owner: mgOwner }),
    );
    const store = await open();
    expect(store.get(key('report'))?.owner).toEqual(asNow.owner);
    expect(store.get(key('report'))?.attribution).toEqual(asNow.attribution);
    expect(store.get(key('adhoc'))?.owner).toEqual({ ...namespaceOwner, group: '' });
    expect(store.get(key('scan'))?.owner).toEqual({ ...mgOwner, group: 'lethe.dev' });
    await store.close();
  });

  test('Redis values written before owners of any kind read as the same owners', () => {
    expect(parseOwner(JSON.stringify(legacyOwner))).toEqual(asNow.owner);
    expect(parseGroupValue(JSON.stringify({ k: [['job', 'report']], attr: legacyAttribution })).attribution).toEqual(asNow.attribution);
  });

  test('an owner of another kind without its API group is damage, not a guess', () => {
    expect(() => parseOwner(JSON.stringify({ kind: 'Workflow', namespace: 'team-a', name: 'w', uid: 'u' }))).toThrow(/needs its API group/);
  });

  const held: OwnerRef = {
    group: 'batch',
    kind: 'Job',
    namespace: 'team-a',
    name: 'migrate',
    uid: 'job-uid',
    resolvedFor: 1_700_000_000_000,
    policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan', maxGraceMs: 60_000 }, invalid: 'lethe.dev/ttl="2 days": expected a duration such as 30m or 24h' },
  };

  test("the owner's resolved policy is read back from the persistence file (a restart decides the same way)", async () => {
    const { open } = await openIn();
    const first = await open();
    await first.push({ key: key('migrate'), method: 'PUT', families: [family('x')], attribution: { source: 'pod-ip', namespace: 'team-a' } });
    await first.setOwner(key('migrate'), held);
    await first.close();
    const second = await open();
    expect(second.get(key('migrate'))?.owner).toEqual(held);
    await second.close();
  });

  test('a journal written before owners carried a policy still loads', async () => {
    const { file, open } = await openIn();
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
