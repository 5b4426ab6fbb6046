import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { bodyText, rawRequest, startGateway, type Gateway } from './gateways.js';

/**
 * V8's young generation in the running Lethe (src/young-generation.ts), read from its own
 * /metrics: the idle collection gives it back once writes stop; pushes bring it back to its cap,
 * scrapes do not.
 */

const MiB = 1024 * 1024;
/** The cap writes may grow it to: two semi-spaces of 8 MiB. */
const WRITE_CAP = 16 * MiB;

function series(group: number, count: number): string {
  const lines = ['# TYPE young_generation_probe gauge'];
  for (let i = 0; i < count; i++) lines.push(`young_generation_probe{series="${i}",code="200"} ${group * count + i}`);
  return `${lines.join('\n')}\n`;
}

describe('the young generation', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway('lethe');
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const newSpace = async (): Promise<number> => {
    const text = bodyText(await rawRequest(gateway, { method: 'GET', path: '/metrics' }));
    const match = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\S+)$/m.exec(text);
    if (match?.[1] === undefined) throw new Error('/metrics has no nodejs_heap_space_size_total_bytes for the new space');
    return Number(match[1]);
  };
  const push = async (job: string, group: number, count: number): Promise<void> => {
    const res = await rawRequest(gateway, { method: 'PUT', path: `/metrics/job/${job}/instance/i${group}`, body: Buffer.from(series(group, count)) });
    expect(res.status).toBe(200);
  };
  const until = async (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  test('grows back on pushes after the idle collection gave it back, and not on scrapes', async () => {
    // 100,000 series in 10,000 groups (a scrape of many small groups is what grew it when it could).
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < 10_000) await push('young', next++, 10);
    }));
    // One second after the last write, the idle collection gives the young generation back.
    await until('the idle collection gives the young generation back', async () => (await newSpace()) < WRITE_CAP / 2, 20_000);

    // Scrapes of 100,000 series (as Prometheus sends them) write nothing: the young generation stays small.
    for (let i = 0; i < 10; i++) {
      const scrape = await rawRequest(gateway, { method: 'GET', path: '/metrics', headers: { 'Accept-Encoding': 'gzip' } });
      expect(scrape.status).toBe(200);
    }
    expect(await newSpace()).toBeLessThan(WRITE_CAP);

    // Pushes bring it back to its cap (a young generation left at its smallest made every later push slower).
    let pushes = 0;
    while ((await newSpace()) < WRITE_CAP && pushes < 40) await push('young_big', pushes++ % 10, 5_000);
    expect(await newSpace()).toBeGreaterThanOrEqual(WRITE_CAP);
  });
});
