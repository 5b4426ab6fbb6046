import { afterEach, describe, expect, test } from '@jest/globals';
import { getHeapStatistics } from 'node:v8';
import { startLethe, type RunningLethe } from '../../../src/wiring/index.js';
import { configOf } from '../../harness/app.js';
import { quietLogger } from '../../harness/logger.js';

// startLethe as main.ts runs it (standalone, memory-only file store, a loopback port): what
// wiring/ adds to the gateway's own tests.
let lethe: RunningLethe | undefined;
afterEach(async () => {
  await lethe?.stop();
  lethe = undefined;
});

const sampleOf = (text: string, name: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);

describe('Lethe started in-process', () => {
  test("its own metrics on /metrics follow the store at every scrape (gauges set in collect, no text round trip)", async () => {
    lethe = await startLethe(configOf(['--web.listen-address=127.0.0.1:0']), { logger: quietLogger(), version: 'test', replica: { name: 'r', namespace: undefined } });
    const url = `http://127.0.0.1:${lethe.port}`;
    const scrape = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
    expect(sampleOf(await scrape(), 'lethe_groups')).toBe('0');
    for (const job of ['a', 'b']) expect((await fetch(`${url}/metrics/job/${job}`, { method: 'PUT', body: 'x{l="1"} 1\nx{l="2"} 2\n' })).status).toBe(200);
    let text = await scrape();
    expect([sampleOf(text, 'lethe_groups'), sampleOf(text, 'lethe_series')]).toEqual(['2', String(lethe.store.seriesCount)]);
    expect(lethe.store.seriesCount).toBeGreaterThan(0);
    expect((await fetch(`${url}/metrics/job/a`, { method: 'DELETE' })).status).toBe(202);
    text = await scrape();
    expect(sampleOf(text, 'lethe_groups')).toBe('1');
    expect(text).toMatch(/^lethe_build_info\{version="test",nodejs_version="[^"]+"\} 1$/m);
  });

  test.each([
    [[], 0.7],
    [['--limits.heap-share=0.5'], 0.5],
    [['--limits.heap-share=0'], undefined],
  ])("V8's heap limit and the heap guard's line (flags %j)", async (flags, share) => {
    lethe = await startLethe(configOf(['--web.listen-address=127.0.0.1:0', ...flags]), { logger: quietLogger(), version: 'test', replica: { name: 'r', namespace: undefined } });
    const text = await (await fetch(`http://127.0.0.1:${lethe.port}/metrics`)).text();
    const limit = getHeapStatistics().heap_size_limit;
    expect(Number(sampleOf(text, 'lethe_heap_limit_bytes'))).toBe(limit);
    const guard = sampleOf(text, 'lethe_heap_guard_bytes');
    expect(guard === undefined ? undefined : Number(guard)).toBe(share === undefined ? undefined : share * limit);
  });
});
