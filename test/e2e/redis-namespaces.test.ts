import { afterAll, beforeAll } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisGroupStore } from '../../src/store/redis/index.js';
import { RedisServer } from '../harness/redis.js';
import { describeNamespaceContract } from '../harness/namespace-contract.js';

// The namespace guard (checked inside the write script, atomically) and the per-namespace usage
// of the Redis backend, against a real redis-server: the same rows as the embedded store's.

let dir: string;
let redis: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lethe-redis-ns-'));
  redis = await RedisServer.start({ dir });
});

afterAll(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

describeNamespaceContract('RedisGroupStore', (options) =>
  RedisGroupStore.open({ ...options, url: redis.url, keyPrefix: `ns${++prefixes}:`, timeoutMs: 3_000, minReplicas: 0 }),
);
