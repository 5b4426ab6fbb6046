/**
 * The listening server on loopback: HTTPS with a certificate reloaded when its files change (a
 * bad pair keeps the old one), the connection limit answered 429 (probes still answered), and
 * the header/request timeouts answered 408 naming the limits, all counted.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { ConfigError } from '../../../src/errors.js';
import { listen, type ListeningServer } from '../../../src/gateway/index.js';
import { eventually } from '../../harness/eventually.js';
import { authApp, counter, type AuthApp } from './auth-app.js';

let dir: string;
const pair = (name: string): { cert: string; key: string } => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lethe-tls-'));
  for (const name of ['first', 'second']) {
    const { cert, key } = pair(name);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let server: ListeningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(argv: readonly string[], tls?: { cert: string; key: string }): Promise<AuthApp & { port: number }> {
  const built = await authApp(argv);
  server = await listen(built.app, '127.0.0.1', 0, {
    headerTimeoutMs: built.config.limits.headerTimeoutMs,
    requestTimeoutMs: built.config.limits.requestTimeoutMs,
    connections: built.connections,
    logger: built.logger,
    metrics: built.metrics,
    ...(tls === undefined ? {} : { tls: { certFile: tls.cert, keyFile: tls.key }, tlsPollMs: 50 }),
  });
  return { ...built, port: server.port };
}

/** The CN of the certificate served on port. */
function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/-/healthy', rejectUnauthorized: false, agent: false }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      res.resume();
      resolve(String(cert.subject.CN));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes on a new connection; resolves with everything received until it closes or `until` matches. */
function raw(port: number, data: string, until?: RegExp): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (until?.test(text) === true) resolve(text);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  socket.write(data);
  return { socket, answer };
}

describe('HTTPS (--web.tls.cert-file, --web.tls.key-file)', () => {
  test('serves the pair, reloads it when the files change, and keeps it when the new pair is bad', async () => {
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(pair('first').cert, live.cert);
    copyFileSync(pair('first').key, live.key);
    const { port, registry } = await serve([], live);
    expect(await servedName(port)).toBe('first');

    copyFileSync(pair('second').cert, live.cert);
    copyFileSync(pair('second').key, live.key);
    await eventually(async () => (await servedName(port)) === 'second', { timeout: 5_000, interval: 50 });
    expect(await counter(registry, 'lethe_file_reloads_total', { file: 'tls', result: 'success' })).toBeGreaterThanOrEqual(1);

    // A certificate with another key's file: refused, the served one stays.
    copyFileSync(pair('first').cert, live.cert);
    await eventually(async () => (await counter(registry, 'lethe_file_reloads_total', { file: 'tls', result: 'error' })) >= 1, { timeout: 5_000, interval: 50 });
    expect(await servedName(port)).toBe('second');
  });

  test('a pair that does not match stops start-up, naming the flags', async () => {
    const err = await serve([], { cert: pair('first').cert, key: pair('second').key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/--web\.tls\.cert-file=.*--web\.tls\.key-file=/);
  });
});

describe('--limits.max-connections', () => {
  test('a request on a connection over the limit gets 429 naming the limit; probes still pass; a freed slot is reused', async () => {
    const { port, registry } = await serve(['--limits.max-connections=1']);
    const first = raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', /# EOF|lethe_build_info.*\n/);
    expect(await first.answer).toMatch(/^HTTP\/1\.1 200/);

    const second = raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    const refused = await second.answer;
    expect(refused).toMatch(/^HTTP\/1\.1 429/);
    expect(refused).toMatch(/Connection: close/i);
    expect(refused).toContain('limit exceeded: more than 1 open connections (--limits.max-connections); retry later');
    expect(await counter(registry, 'lethe_limit_rejections_total', { limit: 'max_connections' })).toBe(1);

    const probe = raw(port, 'GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await probe.answer).toMatch(/^HTTP\/1\.1 200/);

    first.socket.destroy();
    await eventually(async () => (await raw(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').answer).startsWith('HTTP/1.1 200'), {
      timeout: 5_000,
      interval: 50,
    });
  });
});

describe('--limits.header-timeout and --limits.request-timeout', () => {
  test.each([
    ['headers that never end', 'PUT /metrics/job/j HTTP/1.1\r\nHost: x\r\n'],
    ['a body that never comes', 'PUT /metrics/job/j HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nm 1\n'],
  ])('%s: 408 naming the limits, counted, nothing written', async (_name, data) => {
    const { port, registry, store } = await serve(['--limits.header-timeout=200ms', '--limits.request-timeout=400ms']);
    const started = Date.now();
    const answer = await raw(port, data).answer;
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(answer).toContain('limit exceeded: the request was not received in time (--limits.header-timeout=0.2s for its headers, --limits.request-timeout=0.4s for all of it)');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await counter(registry, 'lethe_limit_rejections_total', { limit: 'request_timeout' })).toBe(1);
    expect(store.groupCount).toBe(0);
  });

  test('a request that cannot be parsed still gets Node\'s plain 400', async () => {
    const { port } = await serve([]);
    expect(await raw(port, 'NOT HTTP\r\n\r\n').answer).toBe('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
});

describe('config', () => {
  test('a header timeout longer than the request timeout is refused', async () => {
    await expect(authApp(['--limits.header-timeout=2m', '--limits.request-timeout=1m'])).rejects.toThrow(/--limits\.header-timeout: must not be longer/);
  });
});
