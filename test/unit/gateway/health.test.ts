import { describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { ErrorCode, UnavailableError } from '../../../src/errors.js';
import type { GroupStore, StoreHealth } from '../../../src/store/index.js';
import { buildApp } from '../../harness/app.js';

/**
 * How the gateway shows a store that cannot write (the file store's persistence failing; the
 * real fault is in test/fault): readiness fails with the reason, liveness does not, status says
 * why, and a refused push is a 503 with Retry-After. The store is a real one whose health and
 * push answer as a failing one does (a fake of our own port).
 */
const failing: StoreHealth = {
  writable: false,
  problem: 'cannot persist to /data/lethe.data: ENOSPC (no space left on device)',
  since: Date.UTC(2026, 11, 2, 18, 0, 0),
  op: 'write',
  code: 'ENOSPC',
};

async function makeApp(health: StoreHealth) {
  const { app } = await buildApp({
    wrapStore: (real) =>
      Object.assign(Object.create(real) as GroupStore, {
        health: () => health,
        push: () =>
          health.writable
            ? Promise.resolve({ ok: true as const })
            : Promise.reject(new UnavailableError(ErrorCode.storeUnavailable, `${health.problem ?? ''}; nothing was stored, retry later`, { details: { retryAfterSeconds: 2 } })),
      }),
  });
  return app;
}

describe('health of a store that cannot write', () => {
  test('/-/ready fails with the reason while /-/healthy stays 200 (a restart would not fix a full disk)', async () => {
    const app = await makeApp(failing);
    await request(app).get('/-/ready').expect(503, `not ready: ${failing.problem ?? ''}\n`);
    await request(app).get('/-/healthy').expect(200, 'OK');
  });

  test('/api/v1/status shows why the store cannot write, and since when', async () => {
    const app = await makeApp(failing);
    const res = await request(app).get('/api/v1/status').expect(200);
    expect(res.body.data.store).toEqual({
      writable: false,
      problem: failing.problem,
      since: '2026-12-02T18:00:00Z',
      op: 'write',
      code: 'ENOSPC',
    });
  });

  test('a refused push is a 503 with Retry-After and the reason', async () => {
    const app = await makeApp(failing);
    const res = await request(app).put('/metrics/job/j').send('m 1\n').expect(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.text).toBe(`${failing.problem ?? ''}; nothing was stored, retry later\n`);
  });

  test('a store that can write is ready and says so in status', async () => {
    const app = await makeApp({ writable: true });
    await request(app).get('/-/ready').expect(200, 'OK');
    const res = await request(app).get('/api/v1/status').expect(200);
    expect(res.body.data.store).toEqual({ writable: true, problem: null, since: null, op: null, code: null });
  });
});
