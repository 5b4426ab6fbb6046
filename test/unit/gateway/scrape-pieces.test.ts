/**
 * The uncompressed scrape written as the store's pieces (routes/scrape.ts sendPieces): the body
 * is the store's text byte for byte, with its length as Content-Length, however the pieces are
 * sized.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendPieces } from '../../../src/gateway/routes/scrape.js';
import { groupingKeyOf, unattributed, type MetricFamily } from '../../../src/model/index.js';
import type { TextRendering } from '../../../src/store/index.js';
import { buildApp } from '../../harness/app.js';
import { family, sample } from '../../harness/builders.js';

interface Raw {
  readonly body: Buffer;
  readonly length: string | undefined;
  readonly chunked: boolean;
}

function fetchRaw(port: number, method: string, accept?: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', method, headers: accept === undefined ? {} : { accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), length: res.headers['content-length'], chunked: res.headers['transfer-encoding'] === 'chunked' }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('sendPieces', () => {
  const pieces = [
    Buffer.alloc(0),
    Buffer.from('a{x="é"} 1\n'),
    Buffer.alloc(70_000, 'b'),
    ...Array.from({ length: 3_000 }, (_, i) => Buffer.from(`small_${i} ${i}\n`)),
    Buffer.alloc(0),
    Buffer.alloc(64 * 1024, 'c'),
    Buffer.from('last 1\n'),
  ];
  let server: Server;
  let port: number;
  beforeAll(async () => {
    const app = express();
    app.all('/metrics', (_req, res) => sendPieces(res, pieces));
    server = await listen(app);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => close(server));

  test('the body is the pieces in order, with their length as Content-Length', async () => {
    const expected = Buffer.concat(pieces);
    const got = await fetchRaw(port, 'GET');
    expect(got.body.equals(expected)).toBe(true);
    expect(got.length).toBe(String(expected.length));
    expect(got.chunked).toBe(false);
  });

  test('HEAD: the length, no body', async () => {
    const got = await fetchRaw(port, 'HEAD');
    expect(got.length).toBe(String(Buffer.concat(pieces).length));
    expect(got.body.length).toBe(0);
  });
});

describe('GET /metrics without compression is the store’s text byte for byte', () => {
  const own: MetricFamily[] = [family('lethe_groups', 'gauge', [sample(2)], 'Groups stored.')];
  let server: Server;
  let port: number;
  let scrapeText: (rendering: TextRendering) => string;
  beforeAll(async () => {
    const { app, store } = await buildApp({ argv: ['--push.enable-utf8-names'], deps: { ownFamilies: () => Promise.resolve(own) } });
    // Many small names (written together) and one large one, with UTF-8 label values and names.
    const many = Array.from({ length: 2_000 }, (_, i) => family(`name_${String(i).padStart(4, '0')}`, 'gauge', [sample(i, { v: 'é😀' })]));
    const large = family('large_total', 'counter', Array.from({ length: 5_000 }, (_, i) => sample(i, { i: String(i), v: 'ü' })), 'A large family.');
    for (const [job, families] of [['a', [...many, large]], ['b', [family('my.temp', 'gauge', [sample(21.5, { 'my.label': 'ß' })])]]] as const) {
      const result = await store.push({ key: groupingKeyOf({ job }), method: 'PUT', families, attribution: unattributed });
      expect(result).toEqual({ ok: true });
    }
    scrapeText = (rendering) => store.scrapeText(own, rendering);
    server = await listen(app);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => close(server));

  test.each([
    ['text 0.0.4', 'text/plain;version=0.0.4', { openMetrics: false, escaping: 'underscores' }],
    ['text 1.0.0 with UTF-8 names', 'text/plain;version=1.0.0;escaping=allow-utf-8', { openMetrics: false, escaping: 'allow-utf-8' }],
    ['OpenMetrics 1.0.0, dots', 'application/openmetrics-text;version=1.0.0;escaping=dots', { openMetrics: true, escaping: 'dots' }],
  ] as const)('%s, twice (cold, then from the cache)', async (_name, accept, rendering) => {
    for (let i = 0; i < 2; i++) {
      const got = await fetchRaw(port, 'GET', accept);
      const expected = scrapeText(rendering);
      expect(got.body.toString('utf8')).toBe(expected);
      expect(got.length).toBe(String(Buffer.byteLength(expected)));
      expect(got.chunked).toBe(false);
    }
  });
});
