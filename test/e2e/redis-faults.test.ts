import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { consistently, eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';
import { RedisServer } from '../harness/redis.js';
import { CURL_HEADERS, PROMETHEUS_HEADERS } from '../harness/scrapers.js';
import { TcpProxy } from '../harness/tcp-proxy.js';

/**
 * Lethe processes (dist/main.js) on the Redis store when Redis fails under them, and when the
 * leader changes: a wipe that loses Redis part way is answered 503 and the process stays up;
 * a scrape the old leader served is not waited for again by the new one.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const logDir = join(repoRoot, 'test-artifacts', 'e2e', 'redis-faults');

interface Answer {
  readonly status: number;
  readonly body: string;
}

function send(port: number, method: string, path: string, options: { body?: string; headers?: Readonly<Record<string, string>> } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 30_000, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end(options.body);
  });
}

interface Lethe {
  readonly name: string;
  readonly port: number;
  readonly proc: TestProcess;
  readonly logFile: string;
  /** Parsed JSON log lines written so far. */
  logs(): Record<string, unknown>[];
}

async function startLethe(name: string, redisUrl: string, flags: readonly string[]): Promise<Lethe> {
  mkdirSync(logDir, { recursive: true });
  const port = await freePort();
  const logFile = join(logDir, `${name}-${port}.log`);
  const proc = new TestProcess({
    name,
    command: process.execPath,
    args: [join(repoRoot, 'dist', 'main.js'), `--web.listen-address=127.0.0.1:${port}`, `--store.redis.url=${redisUrl}`, ...flags],
    env: { ...process.env, POD_NAME: name },
    cwd: repoRoot,
    logFile,
  });
  await waitForHttp(proc, `http://127.0.0.1:${port}/-/ready`);
  const logs = (): Record<string, unknown>[] =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { name, port, proc, logFile, logs };
}

/** `lethe_groups_deleted_total{reason}` as the replica's own /metrics shows it. */
async function deletedTotal(lethe: Lethe, reason: string): Promise<number> {
  const text = (await send(lethe.port, 'GET', '/metrics', { headers: CURL_HEADERS })).body;
  const line = text.split('\n').find((l) => l.startsWith(`lethe_groups_deleted_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
}

const gauge = (value: number): string => `# TYPE fault_value gauge\nfault_value ${value}\n`;

describe('Lethe on Redis, under faults', () => {
  let dir: string;
  let redis: RedisServer;
  let client: Redis;
  const started: Lethe[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-redis-faults-'));
    redis = await RedisServer.start({ dir: join(dir, 'redis') });
    client = redis.client();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((l) => l.proc.stop()));
    client.disconnect();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a wipe that loses Redis part way answers 503 with the reason; the process stays up and explains what it deleted', async () => {
    // Lethe reaches Redis through a proxy that lets its commands trickle, so the kill lands mid-wipe.
    const proxy = await TcpProxy.start(redis.port);
    try {
      const lethe = await startLethe('wiper', `redis://127.0.0.1:${proxy.port}`, ['--web.enable-admin-api', '--store.redis.timeout=10s']);
      started.push(lethe);
      const total = 200;
      for (let i = 0; i < total; i++) {
        expect((await send(lethe.port, 'PUT', `/metrics/job/wipe/instance/i${i}`, { body: gauge(i) })).status).toBe(200);
      }
      // Redis has the delete script loaded (else every command of the wipe would send its text too).
      expect((await send(lethe.port, 'DELETE', '/metrics/job/none')).status).toBe(202);
      expect(proxy.throttle('$5\r\nlethe\r\n', 10)).toBe(1);
      const wiping = send(lethe.port, 'PUT', '/api/v1/admin/wipe');
      await eventually(async () => expect(Number(await client.hlen('lethe:groups'))).toBeLessThan(total), { timeout: 20_000, interval: 5 });
      await redis.kill();

      const answer = await wiping;
      expect(answer.status).toBe(503);
      const body = JSON.parse(answer.body) as { status: string; error: string };
      expect(body.status).toBe('error');
      const match = /failed during the wipe \(not connected\) after (\d+) of 200 groups were deleted; the others are still stored, retry the wipe/.exec(body.error);
      expect(match).not.toBeNull();
      const deleted = Number(match?.[1]);
      expect(deleted).toBeGreaterThan(0);
      expect(deleted).toBeLessThan(total);

      // Alive, and still answering (pushes with 503 while Redis is away).
      await consistently(() => lethe.proc.running, { duration: 1_000 });
      expect((await send(lethe.port, 'GET', '/-/healthy')).status).toBe(200);
      expect((await send(lethe.port, 'PUT', '/metrics/job/after', { body: gauge(1) })).status).toBe(503);
      // Every deletion it did make is explained: a log line and the counter, with reason wipe.
      expect(await deletedTotal(lethe, 'wipe')).toBe(deleted);
      const lines = lethe.logs().filter((l) => l['message'] === 'Deleted metric group' && l['reason'] === 'wipe');
      expect(lines).toHaveLength(deleted);
      expect(lethe.logs()).toContainEqual(expect.objectContaining({ level: 'error', message: 'Failed to wipe metric groups' }));
      expect(lethe.logs().some((l) => l['message'] === 'Unhandled rejection')).toBe(false);

      // Redis back: the wipe can be retried and finishes.
      await redis.restart();
      await eventually(async () => expect((await send(lethe.port, 'PUT', '/api/v1/admin/wipe')).status).toBe(202), { timeout: 30_000, interval: 250 });
      expect(Number(await client.hlen('lethe:groups'))).toBe(0);
      expect(await deletedTotal(lethe, 'wipe')).toBe(total);
    } finally {
      await proxy.stop();
    }
  }, 120_000);

  test('a scrape the old leader served is not waited for again by the new leader', async () => {
    // Deletion by ttl, with a grace far longer than the test: only a shared scrape mark lets it go.
    const flags = ['--lifecycle.ttl=6s', '--lifecycle.max-grace=1h', '--ha.lease-duration=2s', '--store.redis.timeout=1s'];
    const first = await startLethe('leader-1', redis.url, flags);
    started.push(first);
    await eventually(async () => expect(await client.get('lethe:lease')).toMatch(/^leader-1/), { timeout: 20_000 });
    const second = await startLethe('leader-2', redis.url, flags);
    started.push(second);

    expect((await send(second.port, 'PUT', '/metrics/job/handover', { body: gauge(7) })).status).toBe(200);
    // curl and the page do not count; Prometheus' scrape of the serving replica does.
    expect((await send(first.port, 'GET', '/metrics', { headers: CURL_HEADERS })).body).toContain('fault_value{instance="",job="handover"} 7');
    const groups = async (lethe: Lethe): Promise<{ labels: Record<string, string>; lastScrapeTime: string | null }[]> =>
      (JSON.parse((await send(lethe.port, 'GET', '/api/v1/groups')).body) as { data: { groups: { labels: Record<string, string>; lastScrapeTime: string | null }[] } })
        .data.groups;
    expect((await groups(second)).find((g) => g.labels['job'] === 'handover')?.lastScrapeTime).toBeNull();
    expect((await send(first.port, 'GET', '/metrics', { headers: PROMETHEUS_HEADERS })).status).toBe(200);
    // The mark is in Redis: the other replica shows it too.
    await eventually(async () => expect((await groups(second)).find((g) => g.labels['job'] === 'handover')?.lastScrapeTime).toEqual(expect.any(String)));

    // The leader dies before the ttl runs out; the new leader deletes without a scrape of its own.
    await first.proc.kill();
    await eventually(async () => expect(await client.get('lethe:lease')).toMatch(/^leader-2/), { timeout: 20_000 });
    await eventually(async () => expect((await groups(second)).some((g) => g.labels['job'] === 'handover')).toBe(false), { timeout: 30_000, interval: 250 });
    expect(second.logs()).toContainEqual(expect.objectContaining({ message: 'Deleted metric group', reason: 'ttl-expired', job: 'handover' }));
    expect(await deletedTotal(second, 'ttl-expired')).toBe(1);
  }, 120_000);
});
