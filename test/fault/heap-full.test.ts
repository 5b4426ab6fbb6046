import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../harness/eventually.js';
import { groupBody, ownSamples, startLethe, type Lethe } from './support.js';

/**
 * A V8 heap that really fills: Lethe under a heap limit (node's --max-old-space-size) small enough
 * for its store to reach it, pushed to by eight clients while a Prometheus-like scraper asks for
 * OpenMetrics with gzip every second. Without the heap guard (--limits.heap-share) V8 aborts the
 * process ("JavaScript heap out of memory"). With it, pushes that would add series are refused
 * with 503 and a reason, while every acknowledged group stays served (its first rendering in the
 * text format included), replacing a group still works, deletions make room again, and a restart
 * under the same limit restores everything. Two shapes: many groups of ten series, and groups of
 * a thousand series in two names, whose store is small per series next to what a scrape's
 * rendering needs (a rendering that kept more than it needed outgrew the room the guard leaves).
 */

const HEAP_MIB = 80;

interface Shape {
  readonly name: string;
  /** Series per family (two families per group). */
  readonly perFamily: number;
  /** More groups than the heap holds: the guard must refuse before the last of them. */
  readonly groups: number;
  /** At least this many must be taken before the guard refuses. */
  readonly atLeast: number;
}

const SHAPES: readonly Shape[] = [
  { name: 'ten-series groups', perFamily: 5, groups: 60_000, atLeast: 5_000 },
  { name: '1,000-series groups', perFamily: 500, groups: 5_000, atLeast: 200 },
];

async function put(lethe: Lethe, shape: Shape, g: number, value = g): Promise<{ status: number; body: string; retryAfter: string | null }> {
  const res = await fetch(`${lethe.url}/metrics/job/heap/instance/i${g}`, { method: 'PUT', body: groupBody(g, { perFamily: shape.perFamily, value }), signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after') };
}

/** The value of jobs_done_total{path="/api/v1/items/0"} per instance, from a whole scrape. */
async function served(lethe: Lethe): Promise<Map<string, number>> {
  const res = await fetch(`${lethe.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
  expect(res.status).toBe(200);
  const values = new Map<string, number>();
  for (const match of (await res.text()).matchAll(/^jobs_done_total\{code="500",instance="(i\d+)",job="heap",path="\/api\/v1\/items\/0"\} (\S+)$/gm)) {
    values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}

describe.each(SHAPES.map((shape) => [shape.name, shape] as const))('a heap that fills up with %s', (_name, shape) => {
  let dir = '';
  let lethe: Lethe | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(process.env['TMPDIR'] ?? '/tmp', 'lethe-heap-full-'));
  });
  afterAll(async () => {
    await lethe?.proc.kill();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('pushes that add series are refused with 503 before V8 runs out; what was acknowledged stays served, deletions make room, a restart restores it', async () => {
    const { groups: GROUPS } = shape;
    const file = join(dir, `${shape.perFamily}.data`);
    // The young generation pinned small, so V8's heap limit is the old generation's (plus 3 MiB).
    const options = { file, nodeFlags: [`--max-old-space-size=${HEAP_MIB}`, '--max-semi-space-size=1'], name: `heap-full-${shape.perFamily}` };
    lethe = await startLethe(options);
    const target = lethe;

    let filling = true;
    const scrapes: number[] = [];
    const scraper = (async () => {
      while (filling && target.proc.running) {
        const res = await fetch(`${target.url}/metrics`, {
          headers: { accept: 'application/openmetrics-text;version=1.0.0', 'accept-encoding': 'gzip' },
          signal: AbortSignal.timeout(30_000),
        }).catch(() => undefined);
        if (res !== undefined) {
          scrapes.push(res.status);
          await res.arrayBuffer();
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();

    const acknowledged = new Set<number>();
    const refusals: Array<{ status: number; body: string; retryAfter: string | null }> = [];
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let g = next++; g < GROUPS && refusals.length === 0 && failures.length === 0; g = next++) {
          try {
            const res = await put(target, shape, g);
            if (res.status === 200) acknowledged.add(g);
            else refusals.push(res);
          } catch (err) {
            failures.push(String(err));
          }
        }
      }),
    );
    filling = false;
    await scraper;

    expect(failures.slice(0, 3)).toEqual([]);
    expect(target.proc.running).toBe(true);
    expect(refusals.length).toBeGreaterThan(0);
    expect(acknowledged.size).toBeGreaterThan(shape.atLeast);
    expect(acknowledged.size).toBeLessThan(GROUPS);
    const refusal = refusals[0];
    expect(refusal?.status).toBe(503);
    expect(refusal?.body).toMatch(/^memory exhausted: V8's heap holds \d+ MiB after a full collection, more than 0\.7 of its limit of \d+ MiB \(--limits\.heap-share\)/);
    expect(Number(refusal?.retryAfter)).toBeGreaterThan(0);
    expect(scrapes.length).toBeGreaterThan(0);
    expect(scrapes.every((s) => s === 200)).toBe(true);
    expect(target.logLines().some((l) => l['message'] === 'Refusing pushes that add series: the heap is nearly full (--limits.heap-share)' && l['level'] === 'warn')).toBe(true);
    expect([...(await ownSamples(target, 'lethe_limit_rejections_total'))]).toContainEqual(['lethe_limit_rejections_total{limit="heap"}', expect.any(Number)]);

    // Still full: new groups are refused (some may be taken first: the heap a scrape's rendering
    // held at the refusal may be free again), but replacing one (no more series) goes through.
    let extra = GROUPS;
    let status: number | undefined;
    for (let i = 0; i < shape.atLeast && status === undefined; i++) {
      const res = await put(target, shape, ++extra);
      if (res.status === 200) acknowledged.add(extra);
      else status = res.status;
    }
    expect(status).toBe(503);
    const [first] = acknowledged;
    expect(first).toBeDefined();
    const replaced = first ?? 0;
    expect((await put(target, shape, replaced, 1e9)).status).toBe(200);

    // Every acknowledged group is served, the replaced one with its new value.
    const values = await served(target);
    expect(values.size).toBe(acknowledged.size);
    for (const g of acknowledged) expect(values.get(`i${g}`)).toBe(g === replaced ? 1e9 : g);

    // Deleting a third of the groups makes room: new groups are taken again.
    const deleted = [...acknowledged].slice(0, Math.ceil(acknowledged.size / 3));
    for (let i = 0; i < deleted.length; i += 16) {
      await Promise.all(
        deleted.slice(i, i + 16).map(async (g) => {
          const res = await fetch(`${target.url}/metrics/job/heap/instance/i${g}`, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
          expect(res.status).toBe(202);
          acknowledged.delete(g);
        }),
      );
    }
    const taken = extra + 1;
    await eventually(async () => expect((await put(target, shape, taken)).status).toBe(200), { timeout: 30_000, interval: 500 });
    acknowledged.add(taken);
    await eventually(() => expect(target.logLines().some((l) => l['message'] === 'Taking pushes that add series again: the heap has room')).toBe(true));

    // Restarted under the same limit: every group there is, and served.
    await target.proc.kill();
    lethe = await startLethe(options);
    const restarted = lethe;
    await eventually(async () => expect((await fetch(`${restarted.url}/-/ready`)).status).toBe(200), { timeout: 60_000 });
    const again = await served(restarted);
    expect(new Set(again.keys())).toEqual(new Set([...acknowledged].map((g) => `i${g}`)));
    expect(restarted.proc.running).toBe(true);
  });
});
