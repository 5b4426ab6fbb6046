import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OwnerRef } from '../../src/model/index.js';
import { RedisGroupStore } from '../../src/store/redis/index.js';
import { FakeClock, family, key, put } from '../harness/builders.js';
import { eventually } from '../harness/eventually.js';
import { RedisServer } from '../harness/redis.js';

// Level-triggered policy on the Redis store (real redis-server): the policy the lifecycle resolved
// for a group's owner is kept with the group in Redis, so another replica, or a replica started
// after a restart, decides by the same policy.

let dir: string;
let redis: RedisServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lethe-redis-policy-'));
  redis = await RedisServer.start({ dir });
});

afterAll(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("RedisGroupStore: the owner's policy is stored with the group", () => {
  const open = (): Promise<RedisGroupStore> =>
    RedisGroupStore.open({
      url: redis.url,
      keyPrefix: 'policy:',
      timeoutMs: 3_000,
      minReplicas: 0,
      clock: new FakeClock(),
      ownType: () => undefined,
      consistencyCheck: true,
      maxGroups: 100,
    });

  test('another replica sees it, and a replica opened later reads it back', async () => {
    const owner: OwnerRef = {
      group: 'batch',
      kind: 'Job',
      namespace: 'team-a',
      name: 'migrate',
      uid: 'job-uid',
      resolvedFor: 1_700_000_000_000,
      policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan' }, invalid: 'lethe.dev/ttl="2 days": expected a duration such as 30m or 24h' },
    };
    const a = await open();
    const b = await open();
    try {
      await a.push(put(key('migrate'), family('m')));
      await a.setOwner(key('migrate'), owner);
      await eventually(() => expect(b.get(key('migrate'))?.owner).toEqual(owner));
    } finally {
      await a.close();
      await b.close();
    }
    const later = await open();
    try {
      expect(later.get(key('migrate'))?.owner).toEqual(owner);
    } finally {
      await later.close();
    }
  });
});
