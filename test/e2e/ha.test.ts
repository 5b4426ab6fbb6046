import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';
import { prometheusBinary } from '../harness/prometheus.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';
import { RedisServer } from '../harness/redis.js';

/**
 * High availability, end to end: a real redis-server (append-only, fsync always), three Lethe
 * processes on the Redis store (standalone, so the Redis lease picks the serving replica) and a
 * real Prometheus scraping all three, as a ServiceMonitor selecting every pod would.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const LEASE_MS = 3_000;
const SCRAPE_MS = 1_000;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request over a fresh connection; status 0 when the connection failed. */
function send(port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end(body);
  });
}

class Replica {
  proc: TestProcess | undefined;
  constructor(
    readonly index: number,
    readonly port: number,
    private readonly redisUrl: string,
    private readonly logDir: string,
  ) {}

  get name(): string {
    return `lethe-${this.index}`;
  }

  async start(): Promise<void> {
    this.proc = new TestProcess({
      name: this.name,
      command: process.execPath,
      args: [
        join(repoRoot, 'dist', 'main.js'),
        `--web.listen-address=127.0.0.1:${this.port}`,
        `--store.redis.url=${this.redisUrl}`,
        `--ha.lease-duration=${LEASE_MS / 1000}s`,
        '--store.redis.timeout=1s',
      ],
      env: { ...process.env, POD_NAME: this.name },
      cwd: repoRoot,
      logFile: join(this.logDir, `${this.name}-${this.port}.log`),
    });
    await waitForHttp(this.proc, `http://127.0.0.1:${this.port}/-/ready`);
  }

  async scrape(): Promise<string> {
    const res = await send(this.port, 'GET', '/metrics');
    return res.status === 200 ? res.body : '';
  }

  /** Its JSON log lines so far. */
  logs(): Record<string, unknown>[] {
    return readFileSync(join(this.logDir, `${this.name}-${this.port}.log`), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

interface PromSeries {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

describe('HA: three replicas on one Redis, Prometheus scraping all three', () => {
  let dir: string;
  let redis: RedisServer;
  let client: Redis;
  let replicas: Replica[];
  let prometheus: TestProcess;
  let promUrl: string;
  const started = Date.now();
  /** Every acknowledged push: group instance → pushed value. */
  const acked = new Map<string, number>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-ha-'));
    const logDir = join(repoRoot, 'test-artifacts', 'e2e', 'ha');
    mkdirSync(logDir, { recursive: true });
    redis = await RedisServer.start({ dir: join(dir, 'redis') });
    client = redis.client();
    const ports = [await freePort(), await freePort(), await freePort()];
    replicas = ports.map((port, i) => new Replica(i, port, redis.url, logDir));
    await Promise.all(replicas.map((r) => r.start()));

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    // What a ServiceMonitor (honorLabels: true) selecting every pod generates; the replica label
    // makes a series served by two replicas visible as two series.
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${SCRAPE_MS / 1000}s`,
        `  scrape_timeout: ${SCRAPE_MS / 1000}s`,
        'scrape_configs:',
        '  - job_name: lethe',
        '    honor_labels: true',
        '    static_configs:',
        ...replicas.flatMap((r) => [`      - targets: ['127.0.0.1:${r.port}']`, `        labels: {replica: '${r.index}'}`]),
        '',
      ].join('\n'),
    );
    prometheus = new TestProcess({
      name: 'prometheus',
      command: prometheusBinary(),
      args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      logFile: join(logDir, 'prometheus.log'),
    });
    await waitForHttp(prometheus, `${promUrl}/-/ready`, 60_000);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all((replicas ?? []).map(async (r) => r.proc?.stop()));
    client?.disconnect();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function query(q: string, time?: number): Promise<PromSeries[]> {
    const t = time === undefined ? '' : `&time=${time / 1000}`;
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}${t}`);
    const body = (await res.json()) as { status: string; data: { result: PromSeries[] } };
    if (body.status !== 'success') throw new Error(`query ${q} failed`);
    return body.data.result;
  }

  async function queryRange(q: string, from: number, to: number, stepS: number): Promise<PromSeries[]> {
    const res = await fetch(`${promUrl}/api/v1/query_range?query=${encodeURIComponent(q)}&start=${from / 1000}&end=${to / 1000}&step=${stepS}`);
    const body = (await res.json()) as { status: string; data: { result: PromSeries[] } };
    if (body.status !== 'success') throw new Error(`query ${q} failed`);
    return body.data.result;
  }

  /** The replica whose name holds the Redis lease now. */
  async function holder(): Promise<Replica> {
    const value = await client.get('lethe:lease');
    const name = value?.split('/')[0];
    const found = replicas.find((r) => r.name === name);
    if (found === undefined) throw new Error(`no lease holder (${String(value)})`);
    return found;
  }

  /** Replicas whose /metrics show the series `name`. */
  async function serving(name: string): Promise<Replica[]> {
    const texts = await Promise.all(replicas.map((r) => (r.proc?.running === true ? r.scrape() : Promise.resolve(''))));
    return replicas.filter((_r, i) => texts[i]?.split('\n').some((l) => l.startsWith(`${name}{`)));
  }

  interface Load {
    stop(): Promise<void>;
    readonly statuses: Map<number, number>;
    readonly unavailable: string[];
  }

  /** Concurrent pushers spread over the live replicas, each push a new group. */
  function load(job: string, workers: number): Load {
    let stopping = false;
    const statuses = new Map<number, number>();
    const unavailable: string[] = [];
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stopping; i++) {
        const replica = replicas[(w + i) % replicas.length]!;
        const instance = `${job}-w${w}-${i}`;
        const value = Date.now();
        const res = await send(replica.port, 'PUT', `/metrics/job/${job}/instance/${instance}`, `# TYPE ha_value gauge\nha_value ${value}\n`);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) acked.set(instance, value);
        if (res.status === 503) unavailable.push(res.body);
        if (res.status === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const running = Array.from({ length: workers }, (_, w) => worker(w));
    return {
      statuses,
      unavailable,
      stop: async () => {
        stopping = true;
        await Promise.all(running);
      },
    };
  }

  /** Every acknowledged push, read back from a replica's API. */
  async function storedValues(replica: Replica): Promise<Map<string, string>> {
    const res = await send(replica.port, 'GET', '/api/v1/metrics');
    const body = JSON.parse(res.body) as { data: { labels: Record<string, string>; ha_value?: { metrics: { value: string }[] } }[] };
    const out = new Map<string, string>();
    for (const group of body.data) {
      const value = group.ha_value?.metrics[0]?.value;
      if (group.labels['instance'] !== undefined && value !== undefined) out.set(group.labels['instance'], value);
    }
    return out;
  }

  function missingOf(stored: Map<string, string>): string[] {
    return [...acked].filter(([instance, value]) => Number(stored.get(instance)) !== value).map(([instance]) => instance);
  }

  /** No series (pushed or meta) ever appeared twice in Prometheus, from the start until now. */
  async function expectNeverTwice(): Promise<void> {
    const result = await queryRange('max(count by (job, instance, __name__) ({job=~"ha-.*"}))', started, Date.now(), 0.25);
    const peaks = result.flatMap((s) => (s.values ?? []).map(([, v]) => Number(v)));
    expect(Math.max(0, ...peaks)).toBe(1);
  }

  test('the Redis lease has the one leadership metric and log line: lethe_leader 1 on the holder, 0 on the others', async () => {
    await eventually(
      async () => {
        const lead = await holder();
        const texts = await Promise.all(replicas.map((r) => r.scrape()));
        expect(replicas.filter((_r, i) => /^lethe_leader 1$/m.test(texts[i] ?? '')).map((r) => r.name)).toEqual([lead.name]);
        expect(replicas.filter((_r, i) => /^lethe_leader 0$/m.test(texts[i] ?? '')).map((r) => r.name)).toEqual(replicas.filter((r) => r !== lead).map((r) => r.name));
      },
      { timeout: 20_000, interval: 250 },
    );
    const lead = await holder();
    expect(lead.logs().filter((l) => l['message'] === 'Became leader')).toEqual([
      expect.objectContaining({ component: 'leadership', lease: 'redis lethe:lease', identity: expect.stringMatching(new RegExp(`^${lead.name}/`)) }),
    ]);
    for (const other of replicas.filter((r) => r !== lead)) expect(other.logs().filter((l) => l['message'] === 'Became leader')).toEqual([]);
  });

  test('conflicting pushes to two replicas at once: exactly one wins', async () => {
    const winners: number[] = [];
    for (let round = 0; round < 40; round++) {
      const [a, b] = [replicas[round % 3]!, replicas[(round + 1) % 3]!];
      const [ra, rb] = await Promise.all([
        send(a.port, 'PUT', `/metrics/job/ha-conflict/instance/a${round}`, `# TYPE conflict_${round} counter\nconflict_${round} 1\n`),
        send(b.port, 'PUT', `/metrics/job/ha-conflict/instance/b${round}`, `# TYPE conflict_${round} gauge\nconflict_${round} 1\n`),
      ]);
      expect([ra.status, rb.status].sort()).toEqual([200, 400]);
      const loser = ra.status === 400 ? ra : rb;
      expect(loser.body).toMatch(/pushed metrics are invalid or inconsistent with existing metrics: .*conflict_\d+.* has type/);
      winners.push(ra.status === 200 ? 0 : 1);
    }
    // The third replica's view has exactly the winners' families, each name with one type.
    const res = await send(replicas[2]!.port, 'GET', '/api/v1/metrics');
    const groups = (JSON.parse(res.body) as { data: Record<string, unknown>[] }).data;
    for (let round = 0; round < 40; round++) {
      const holders = groups.filter((g) => `conflict_${round}` in g);
      expect(holders).toHaveLength(1);
    }
    console.log(`ha: conflicting pushes: 40 rounds, first replica won ${winners.filter((w) => w === 0).length}, second ${winners.filter((w) => w === 1).length}`);
  });

  test('SIGKILL of the lease holder under load: acknowledged pushes kept, one copy in Prometheus, gap measured', async () => {
    expect((await send(replicas[0]!.port, 'PUT', '/metrics/job/ha-canary', '# TYPE ha_canary gauge\nha_canary 1\n')).status).toBe(200);
    await eventually(async () => expect(await query('ha_canary')).toHaveLength(1), { timeout: 30_000, interval: 250 });
    const victim = await holder();
    expect((await serving('ha_canary')).map((r) => r.name)).toEqual([victim.name]);

    const pushes = load('ha-load', 12);
    await eventually(() => expect(acked.size).toBeGreaterThan(300), { timeout: 30_000, interval: 20 });
    const killedAt = Date.now();
    await victim.proc!.kill();
    // Watch for the new holder serving the same data.
    let takeoverAt = 0;
    await eventually(
      async () => {
        const now = await serving('ha_canary');
        expect(now).toHaveLength(1);
        takeoverAt = Date.now();
      },
      { timeout: 4 * LEASE_MS, interval: 50 },
    );
    const successor = (await serving('ha_canary'))[0]!;
    expect(successor).not.toBe(victim);
    await eventually(() => expect(Date.now() - takeoverAt).toBeGreaterThan(3 * SCRAPE_MS), { timeout: 10_000, interval: 100 });
    await pushes.stop();

    // Every acknowledged push is stored, and served once by the new holder.
    const stored = await storedValues(successor);
    const missing = missingOf(stored);
    const successorText = await successor.scrape();
    const servedLoad = successorText.split('\n').filter((l) => l.startsWith('ha_value{job="ha-load"') || l.startsWith('ha_value{instance="ha-load'));
    console.log(
      `ha: failover: pushes answered ${JSON.stringify(Object.fromEntries(pushes.statuses))}; acknowledged ${acked.size}, ` +
        `restored ${acked.size - missing.length} (missing ${missing.length}), stored groups ${stored.size}, served by the new holder ${servedLoad.length}`,
    );
    expect(missing).toEqual([]);
    expect(servedLoad.length).toBe(stored.size);

    // Prometheus: one copy of every series, and the gap in the canary's scrapes.
    const lastAcked = Math.max(...acked.values());
    await eventually(
      async () => {
        const counts = await query('count by (job, instance) (ha_value{job="ha-load"})');
        expect(counts.length).toBe(stored.size);
        expect(counts.every((s) => s.value?.[1] === '1')).toBe(true);
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(lastAcked).toBeLessThan(Date.now());
    await expectNeverTwice();
    const samples = await query(`ha_canary[${Math.ceil((Date.now() - started) / 1000) + 5}s]`);
    const times = samples.flatMap((s) => (s.values ?? []).map(([t]) => t * 1000)).sort((a, b) => a - b);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] ?? 0) - (times[i - 1] ?? 0));
    console.log(
      `ha: failover gap: new holder served ${takeoverAt - killedAt} ms after SIGKILL (lease ${LEASE_MS} ms); ` +
        `largest gap between scraped canary samples in Prometheus ${Math.round(gap)} ms (scrape interval ${SCRAPE_MS} ms); ` +
        `canary series by replica: ${samples.map((s) => `${s.metric['replica']}:${s.values?.length}`).join(' ')}`,
    );
    expect(takeoverAt - killedAt).toBeLessThan(LEASE_MS + 1_000);
    expect(gap).toBeLessThan(LEASE_MS + 3 * SCRAPE_MS);

    // The killed replica comes back and reads everything from Redis.
    await victim.start();
    await eventually(async () => expect(missingOf(await storedValues(victim))).toEqual([]), { timeout: 10_000 });
  });

  test('Redis restarted mid-run: 503 with a clear message during the outage, nothing acknowledged is lost, all recovers', async () => {
    const pushes = load('ha-outage', 9);
    await eventually(() => expect(pushes.statuses.get(200) ?? 0).toBeGreaterThan(200), { timeout: 30_000, interval: 20 });
    await redis.kill();
    const downAt = Date.now();
    await eventually(() => expect(pushes.unavailable.length).toBeGreaterThan(20), { timeout: 10_000, interval: 20 });
    const ackedBefore = acked.size;
    await redis.restart();
    const upAt = Date.now();
    const okBefore = pushes.statuses.get(200) ?? 0;
    await eventually(() => expect((pushes.statuses.get(200) ?? 0) - okBefore).toBeGreaterThan(200), { timeout: 30_000, interval: 50 });
    await pushes.stop();

    console.log(
      `ha: Redis outage ${upAt - downAt} ms: pushes answered ${JSON.stringify(Object.fromEntries(pushes.statuses))}; ` +
        `acknowledged before the restart ${ackedBefore}, after ${acked.size}; a 503 said: ${JSON.stringify(pushes.unavailable[0])}`,
    );
    expect(pushes.unavailable.every((b) => /^store unavailable: Redis at redis:\/\/127\.0\.0\.1:\d+ did not take the write .*nothing was acknowledged, retry later/.test(b))).toBe(true);
    expect([...pushes.statuses.keys()].filter((s) => s !== 200 && s !== 503)).toEqual([]);

    // Every push acknowledged in the whole run is in Redis and in every replica's view.
    for (const replica of replicas) {
      await eventually(async () => expect(missingOf(await storedValues(replica))).toEqual([]), { timeout: 15_000, interval: 250 });
    }
    console.log(`ha: after the Redis restart: acknowledged ${acked.size}, restored ${acked.size - missingOf(await storedValues(replicas[0]!)).length}`);
    // One replica serves again, and Prometheus sees each series once.
    await eventually(async () => expect(await serving('ha_canary')).toHaveLength(1), { timeout: 4 * LEASE_MS, interval: 100 });
    const stored = await storedValues(replicas[1]!);
    await eventually(
      async () => {
        const counts = await query('count by (job, instance) (ha_value)');
        expect(counts.length).toBe(stored.size);
        expect(counts.every((s) => s.value?.[1] === '1')).toBe(true);
      },
      { timeout: 30_000, interval: 500 },
    );
    await expectNeverTwice();
  });
});
