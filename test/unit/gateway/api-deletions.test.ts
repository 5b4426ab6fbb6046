/**
 * Deletions through the HTTP API are explained as the lifecycle's are (log line and counter), and
 * a wipe the store fails part way is answered 503 with the reason.
 */
import { describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { ErrorCode, UnavailableError } from '../../../src/errors.js';
import type { GroupingKey } from '../../../src/model/index.js';
import type { GroupStore, LocalGroupStore, WipeListener } from '../../../src/store/index.js';
import { buildApp } from '../../harness/app.js';
import { FakeClock } from '../../harness/builders.js';
import { capturingLogger } from '../../harness/logger.js';

const T0 = 1_700_000_000_000;

interface Made {
  readonly app: Express;
  readonly store: LocalGroupStore;
  readonly registry: Registry;
  readonly logs: Record<string, unknown>[];
}

async function makeApp(argv: string[] = [], wrap: (store: LocalGroupStore) => GroupStore = (s) => s): Promise<Made> {
  const logs = capturingLogger('info');
  const { app, store, registry } = await buildApp({ argv, clock: new FakeClock(T0), logger: logs.logger, wrapStore: wrap });
  return { app, store, registry, logs: logs.lines };
}

async function deletedCount(registry: Registry, reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('lethe_groups_deleted_total')?.get();
  return metric?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('deletions through the HTTP API are explained', () => {
  test('DELETE of a stored group logs "Deleted metric group" and counts reason api-delete; of a missing one, neither', async () => {
    const { app, registry, logs } = await makeApp();
    await request(app).put('/metrics/job/backup/instance/db1').send('x 1\n').expect(200);
    await request(app).delete('/metrics/job/backup/instance/db1').expect(202);
    await request(app).delete('/metrics/job/backup/instance/db1').expect(202);
    expect(await deletedCount(registry, 'api-delete')).toBe(1);
    const lines = logs.filter((l) => l['message'] === 'Deleted metric group');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', component: 'gateway', reason: 'api-delete', groupingKey: 'instance="db1",job="backup"', job: 'backup', remote: expect.any(String) }),
    ]);
  });

  test('a wipe logs and counts each group with reason wipe, and answers 202 when done', async () => {
    const { app, store, registry, logs } = await makeApp(['--web.enable-admin-api']);
    await request(app).put('/metrics/job/a').send('x 1\n').expect(200);
    await request(app).put('/metrics/job/b').send('y 1\n').expect(200);
    await request(app).put('/api/v1/admin/wipe').expect(202);
    expect(store.groupCount).toBe(0);
    expect(await deletedCount(registry, 'wipe')).toBe(2);
    expect(logs.filter((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'wipe').map((l) => l['job'])).toEqual(
      expect.arrayContaining(['a', 'b']),
    );
    expect(logs).toContainEqual(expect.objectContaining({ message: 'Wiped metric groups', groups: 2 }));
  });

  test('a wipe the store fails part way answers 503 with the reason, after explaining what it did delete', async () => {
    // The store port, failing after one deletion as the Redis store does when the connection drops.
    const failing = (inner: LocalGroupStore): GroupStore =>
      Object.assign(Object.create(inner) as GroupStore, {
        wipe: async (onDeleted?: WipeListener): Promise<number> => {
          const first: GroupingKey | undefined = [...inner.groups()][0]?.key;
          if (first !== undefined && (await inner.delete(first))) onDeleted?.(first, undefined);
          throw new UnavailableError(ErrorCode.storeUnavailable, 'store unavailable: Redis at redis://x failed during the wipe (not connected) after 1 of 2 groups were deleted');
        },
      });
    const { app, registry, logs } = await makeApp(['--web.enable-admin-api'], failing);
    await request(app).put('/metrics/job/a').send('x 1\n').expect(200);
    await request(app).put('/metrics/job/b').send('y 1\n').expect(200);
    const res = await request(app).put('/api/v1/admin/wipe').expect(503);
    expect(res.body).toEqual({ status: 'error', errorType: 'internal', error: expect.stringContaining('after 1 of 2 groups were deleted') });
    expect(await deletedCount(registry, 'wipe')).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'Failed to wipe metric groups' }));
  });
});
