/**
 * Compressed scrapes built from pieces compressed one by one (routes/scrape-gzip.ts): one gzip
 * member whose text is, byte for byte, the uncompressed answer in every negotiated format, with
 * the compressed pieces kept by the render cache until their text changes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import { parseText } from '../../../src/exposition/index.js';
import { crc32Combine, deflatePiece, gzipPieces } from '../../../src/gateway/routes/scrape-gzip.js';
import type { TextPiece } from '../../../src/store/index.js';
import { groupingKeyOf, unattributed, type MetricFamily } from '../../../src/model/index.js';
import type { LocalGroupStore, TextRendering } from '../../../src/store/index.js';
import { RenderCache, UNUSED_FORMAT_MS } from '../../../src/store/render-cache.js';
import { buildApp } from '../../harness/app.js';
import { family, sample } from '../../harness/builders.js';

const own: MetricFamily[] = [family('lethe_groups', 'gauge', [sample(2)], 'Groups stored.'), family('app_jobs', 'counter', [sample(7, { job: 'own' })])];

describe('crc32Combine', () => {
  test.each([
    ['', ''],
    ['a', ''],
    ['', 'b'],
    ['hello ', 'world'],
    ['x'.repeat(1000), 'é€😀'.repeat(333)],
    ['m 1\n'.repeat(70_000), 'n{a="b"} 2\n'.repeat(123_457)],
  ])('crc32(%#) of A then B from their CRCs and B’s length', (a, b) => {
    const lengthB = Buffer.byteLength(b);
    expect(crc32Combine(crc32(a), crc32(b), lengthB)).toBe(crc32(a + b));
  });
});

describe('gzipPieces', () => {
  test('one gzip member whose text is the pieces in order; cached pieces are used, new ones kept', async () => {
    const texts = ['# TYPE a gauge\na 1\n', '', 'b{x="é"} 2\n'.repeat(5000), '# EOF\n'];
    const cached = await deflatePiece(Buffer.from(texts[0] ?? ''));
    const kept: number[] = [];
    const pieces: TextPiece[] = texts.map((text, i) => ({
      bytes: Buffer.from(text),
      deflated: i === 0 ? cached : undefined,
      keep: i === 2 ? (d) => kept.push(d.length) : undefined,
    }));
    const body = Buffer.concat(await gzipPieces(pieces));
    expect(gunzipSync(body).toString('utf8')).toBe(texts.join(''));
    expect(kept).toEqual([Buffer.byteLength(texts[2] ?? '')]);
    // Each piece alone is byte-aligned deflate without a final block.
    expect(inflateRawSync(cached.bytes, { finishFlush: 2 }).toString()).toBe(texts[0]);
  });

  test('no pieces: the empty text', async () => {
    expect(gunzipSync(Buffer.concat(await gzipPieces([]))).length).toBe(0);
  });
});

describe('the store hands out its text scrape as pieces', () => {
  test('the pieces are the returned text; a second scrape finds them compressed; a push recompresses only its name', async () => {
    const { store } = await buildApp();
    await push(store, 'a', 'req_total 1\nother 2\n');
    await push(store, 'b', 'req_total 3\n');
    const first = piecesOf(store, { openMetrics: false, escaping: 'underscores' });
    expect(textOf(first.pieces)).toBe(first.text);
    expect(first.pieces.every((p) => p.deflated === undefined)).toBe(true);
    await gzipPieces(first.pieces);
    const second = piecesOf(store, { openMetrics: false, escaping: 'underscores' });
    expect(second.text).toBe(first.text);
    const cachedNames = (pieces: readonly TextPiece[]): string[] =>
      pieces.filter((p) => p.deflated !== undefined).map((p) => /\n# TYPE (\S+)/.exec(`\n${textOf([p])}`)?.[1] ?? textOf([p]));
    expect(cachedNames(second.pieces)).toEqual(['other', 'push_failure_time_seconds', 'push_time_seconds', 'req_total']);
    // Group b's push changes req_total and b's push times; only `other` (group a's alone) is still compressed.
    await push(store, 'b', 'req_total 4\n');
    const third = piecesOf(store, { openMetrics: false, escaping: 'underscores' });
    expect(cachedNames(third.pieces)).toEqual(['other']);
    expect(gunzipSync(Buffer.concat(await gzipPieces(third.pieces))).toString()).toBe(third.text);
  });
});

describe('the render cache keeps compressed pieces while compressed scrapes come', () => {
  const T0 = 1_700_000_000_000;
  const cachedCount = (cache: RenderCache, now: number, compressed: boolean): number => {
    const pieces = cache.renderPieces(own, { now, compressed });
    return pieces.filter((p) => p.deflated !== undefined).length;
  };

  test('dropped when the format is scraped uncompressed after UNUSED_FORMAT_MS without compressed scrapes', async () => {
    const cache = new RenderCache();
    cache.set('a', family('req_total', 'counter', [sample(1, { job: 'a' })]));
    await gzipPieces(cache.renderPieces(own, { now: T0, compressed: true }));
    expect(cachedCount(cache, T0 + 1, true)).toBe(1);
    // An uncompressed scrape soon after keeps them.
    expect(cachedCount(cache, T0 + 2, false)).toBe(1);
    expect(cachedCount(cache, T0 + 3, true)).toBe(1);
    cachedCount(cache, T0 + 3 + UNUSED_FORMAT_MS, false);
    expect(cachedCount(cache, T0 + 4 + UNUSED_FORMAT_MS, true)).toBe(0);
  });

  test('a compression that finishes after the text changed is not kept with the new text', async () => {
    const cache = new RenderCache();
    cache.set('a', family('req_total', 'counter', [sample(1, { job: 'a' })]));
    const pieces = cache.renderPieces(own, { now: T0, compressed: true });
    cache.set('a', family('req_total', 'counter', [sample(2, { job: 'a' })]));
    const next = cache.renderPieces(own, { now: T0, compressed: true });
    const text = textOf(next);
    await gzipPieces(pieces);
    const again = cache.renderPieces(own, { now: T0, compressed: true });
    expect(again.filter((p) => p.deflated !== undefined)).toEqual([]);
    expect(gunzipSync(Buffer.concat(await gzipPieces(next))).toString()).toBe(text);
  });
});

describe('GET /metrics with Accept-Encoding: gzip is the uncompressed answer, compressed', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    const { app, store } = await buildApp({ argv: ['--push.enable-utf8-names'], deps: { ownFamilies: () => Promise.resolve(own) } });
    await push(store, 'j', '# HELP req_total Requests.\n# TYPE req_total counter\nreq_total{code="200"} 3\n{"app.jobs"} 1\napp_jobs{x="1"} 5\n');
    await push(store, 'k', '# TYPE req_total counter\nreq_total{code="500"} 1\ntemp 21.5\n{"my.temp"} 2\n');
    server = await listen(app);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test.each([
    ['no Accept (text 0.0.4)', undefined],
    ['text 0.0.4', 'text/plain;version=0.0.4'],
    ['text 1.0.0 with UTF-8 names', 'text/plain;version=1.0.0;escaping=allow-utf-8'],
    ['text 1.0.0, dots', 'text/plain;version=1.0.0;escaping=dots'],
    ['text 1.0.0, values', 'text/plain;version=1.0.0;escaping=values'],
    ['OpenMetrics 0.0.1', 'application/openmetrics-text;version=0.0.1'],
    ['OpenMetrics 1.0.0 with UTF-8 names', 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8'],
    ['OpenMetrics 1.0.0, underscores', 'application/openmetrics-text;version=1.0.0;escaping=underscores'],
    ['protobuf', 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'],
  ])('%s', async (_name, accept) => {
    const plain = await fetchRaw(port, accept, undefined);
    for (let i = 0; i < 2; i++) {
      // The second time from the compressed pieces kept by the first.
      const zipped = await fetchRaw(port, accept, 'gzip');
      expect(zipped.encoding).toBe('gzip');
      expect(zipped.type).toBe(plain.type);
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    }
    expect(plain.body.length).toBeGreaterThan(100);
  });
});

async function push(store: LocalGroupStore, job: string, text: string): Promise<void> {
  const result = await store.push({ key: groupingKeyOf({ job }), method: 'PUT', families: parseText(Buffer.from(text), { utf8Names: true }), attribution: unattributed });
  expect(result).toEqual({ ok: true });
}

function textOf(pieces: readonly TextPiece[]): string {
  return Buffer.concat(pieces.map((p) => p.bytes)).toString('utf8');
}

function piecesOf(store: LocalGroupStore, rendering: TextRendering): { text: string; pieces: TextPiece[] } {
  const compressed: TextRendering = { ...rendering, compressed: true };
  return { text: store.scrapeText(own, compressed), pieces: store.scrapePieces(own, compressed) };
}

function listen(app: Express): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function fetchRaw(port: number, accept: string | undefined, encoding: string | undefined): Promise<{ body: Buffer; type: string; encoding: string | undefined }> {
  const headers: Record<string, string> = {};
  if (accept !== undefined) headers['accept'] = accept;
  if (encoding !== undefined) headers['accept-encoding'] = encoding;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), type: res.headers['content-type'] ?? '', encoding: res.headers['content-encoding'] }));
      res.on('error', reject);
    }).on('error', reject);
  });
}
