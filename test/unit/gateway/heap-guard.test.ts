/**
 * The heap guard at the push route (--limits.heap-share): while the guard finds the heap full, a
 * push that would add a group or series is refused (503 with the reason and Retry-After, counted,
 * nothing written); one that leaves its group no larger, and deletions, go through. The heap is a
 * fake here (memory-guard.test.ts has the guard's own rules; the fault tier fills a real heap).
 */
import { describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { MemoryGuard } from '../../../src/memory-guard.js';
import { buildApp, type TestApp } from '../../harness/app.js';
import { counter } from './auth-app.js';

const MiB = 1024 * 1024;
const series = (n: number, name = 'm'): string => Array.from({ length: n }, (_, i) => `${name}{i="${i}"} 1\n`).join('');

async function guardedApp(): Promise<TestApp & { heap: { used: number } }> {
  const heap = { used: 10 * MiB };
  const made = await buildApp({
    argv: ['--limits.heap-share=0.5'],
    deps: ({ config }) => ({
      memoryGuard: new MemoryGuard({
        share: config.limits.heapShare,
        heap: () => ({ used: heap.used, limit: 100 * MiB }),
        collect: () => undefined,
        budget: 0.05,
        now: () => performance.now(),
      }),
    }),
  });
  return { ...made, heap };
}

describe('--limits.heap-share at the push route', () => {
  test('a full heap refuses new groups and growth, takes replacements no larger, POSTs of known families and deletions', async () => {
    const { app, store, registry, heap } = await guardedApp();
    await request(app).put('/metrics/job/a').send(series(3)).expect(200);
    heap.used = 60 * MiB;

    const refused = await request(app).put('/metrics/job/b').send(series(1)).expect(503);
    expect(refused.text).toBe(
      "memory exhausted: V8's heap holds 60 MiB after a full collection, more than 0.5 of its limit of 100 MiB (--limits.heap-share); pushes that add series are refused until groups are deleted or Lethe is given more memory\n",
    );
    expect(refused.headers['retry-after']).toBe('30');
    expect(store.groupCount).toBe(1);

    await request(app).put('/metrics/job/a').send(series(4)).expect(503);
    await request(app).post('/metrics/job/a').send(series(1, 'other')).expect(503);
    await request(app).put('/metrics/job/a').send(series(3)).expect(200);
    await request(app).put('/metrics/job/a').send(series(2)).expect(200);
    await request(app).post('/metrics/job/a').send(series(2)).expect(200);
    expect(await counter(registry, 'lethe_limit_rejections_total', { limit: 'heap' })).toBe(3);

    await request(app).delete('/metrics/job/a').expect(202);
    expect(store.groupCount).toBe(0);
    heap.used = 40 * MiB;
    await request(app).put('/metrics/job/b').send(series(1)).expect(200);
  });
});
