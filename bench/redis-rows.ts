/**
 * Benchmark rows for the Redis store next to the file store, in one run on loopback: push
 * throughput (concurrent PUTs, each a new group of 10 series, every one acknowledged only once
 * durable: fsynced to the persistence file, or taken by a redis-server running with
 * appendonly/appendfsync always) and scrape latency (GET /metrics of the serving replica with
 * the groups pushed). Prints the rows with the ratio Redis / file and the Redis store's targets
 * (bench/targets.ts), then which rows miss them; read ratios, not absolute figures, on a shared
 * machine. `make bench-redis`:
 *
 *   node dist/bench/bench/redis-rows.js [--seconds=10] [--concurrency=32] [--scrapes=50] [--groups=2000] [--check]
 *
 * --check exits non-zero when a row misses its target. Needs dist/main.js and redis-server on
 * PATH (make redis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './gateways.js';
import { median } from './http.js';
import { inTurns } from './steps.js';
import { atLeast, atMost, checkReport, formatRatio, formatTargets, formatValue, type CheckedRow, type Target, type Unit } from './targets.js';

interface Options {
  readonly seconds: number;
  readonly concurrency: number;
  readonly scrapes: number;
  readonly groups: number;
  readonly check: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const opts = { seconds: 10, concurrency: 32, scrapes: 50, groups: 2000, check: false };
  for (const arg of argv) {
    const [name = '', value = ''] = arg.replace(/^--/, '').split('=', 2);
    if (name === 'check') opts.check = true;
    else if (name === 'seconds' || name === 'concurrency' || name === 'scrapes' || name === 'groups') opts[name] = Number(value);
    else throw new Error(`unknown argument ${arg}`);
  }
  return opts;
}

/**
 * The Redis store's targets against the file store in the same run (docs/benchmarks.md,
 * "Targets"): where the first run of these rows put them (push 0.59×, scrape 1.20×), with the
 * same room as the other rows.
 */
const PUSH_TARGET: readonly Target[] = [atLeast(0.39)];
const SCRAPE_TARGET: readonly Target[] = [atMost(1.8)];

interface RedisRow {
  readonly metric: string;
  readonly unit: Unit;
  readonly file: number;
  readonly redis: number;
  readonly targets: readonly Target[];
}

const root = repoRoot;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function send(port: number, method: string, path: string, body?: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', () => resolve({ status: 0, bytes: 0 }));
    req.end(body);
  });
}

async function waitReady(port: number, path: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await send(port, 'GET', path)).status === 200) return;
    await pause(100);
  }
  throw new Error(`port ${port} did not become ready`);
}

function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(command, [...args], { stdio: 'ignore', env });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function groupBody(i: number): string {
  let text = '# TYPE bench_value gauge\n';
  for (let s = 0; s < 10; s++) text += `bench_value{series="${s}"} ${i + s}\n`;
  return text;
}

/** One store as the rows measure it: its Lethe's port, and what its pushes and scrapes gave so far. */
interface Side {
  readonly port: number;
  readonly tag: string;
  /** Groups pushed so far (each push is a new group), acknowledged pushes, and the time they took. */
  next: number;
  ok: number;
  ms: number;
  readonly scrapes: number[];
  scrapeBytes: number;
}

/**
 * Rounds each store pushes in, in turns (file then Redis, then Redis then file, ...), so that the
 * machine's drift in speed falls on both alike; a run of one store's pushes after the other's
 * had them tens of seconds apart.
 */
const PUSH_ROUNDS = 4;

/** Pushes new groups from `concurrency` workers for `seconds`, adding to the side's counts. */
async function pushFor(side: Side, seconds: number, concurrency: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const i = side.next++;
        const res = await send(side.port, 'PUT', `/metrics/job/bench-${side.tag}/instance/i${i}`, groupBody(i));
        if (res.status === 200) side.ok++;
      }
    }),
  );
  side.ms += performance.now() - started;
}

async function fill(port: number, groups: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < groups; i = next++) await send(port, 'PUT', `/metrics/job/bench-scrape/instance/i${i}`, groupBody(i));
    }),
  );
}

/** One timed scrape of the side's Lethe. */
async function scrape(side: Side): Promise<void> {
  const t = performance.now();
  const res = await send(side.port, 'GET', '/metrics');
  // A scrape that failed is no measurement: the row then says it was not measured.
  side.scrapes.push(res.status === 200 ? performance.now() - t : Number.NaN);
  side.scrapeBytes = res.bytes;
}

/** The median of a side's scrapes, or NaN when one of them failed. */
const medianOf = (times: readonly number[]): number => (times.some(Number.isNaN) ? Number.NaN : median(times));

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'lethe-bench-redis-'));
  const children: ChildProcess[] = [];
  try {
    const redisPort = await freePort();
    const redis = start('redis-server', [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--dir', work, '--appendonly', 'yes', '--appendfsync', 'always',
      '--save', '', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no', '--logfile', join(work, 'redis.log'),
    ]);
    children.push(redis);
    const main = join(root, 'dist', 'main.js');
    const filePort = await freePort();
    const redisLethePort = await freePort();
    children.push(start(process.execPath, [main, `--web.listen-address=127.0.0.1:${filePort}`, `--persistence.file=${join(work, 'lethe.data')}`, '--log.level=warn']));
    await pause(300);
    children.push(
      start(process.execPath, [main, `--web.listen-address=127.0.0.1:${redisLethePort}`, `--store.redis.url=redis://127.0.0.1:${redisPort}`, '--log.level=warn'], {
        ...process.env,
        POD_NAME: 'bench',
      }),
    );
    await waitReady(filePort, '/-/ready');
    await waitReady(redisLethePort, '/-/ready');
    // The Redis store serves pushed groups once its lease is held.
    await send(redisLethePort, 'PUT', '/metrics/job/bench-probe', 'bench_probe 1\n');
    for (let i = 0; i < 300 && !(await fetch(`http://127.0.0.1:${redisLethePort}/metrics`).then((r) => r.text())).includes('bench_probe{'); i++) await pause(100);

    // Scrapes first, with the same groups in both stores; then push throughput. Both in turns.
    for (const port of [filePort, redisLethePort]) await fill(port, opts.groups);
    const side = (port: number, tag: string): Side => ({ port, tag, next: 0, ok: 0, ms: 0, scrapes: [], scrapeBytes: 0 });
    const file = side(filePort, 'file');
    const viaRedis = side(redisLethePort, 'redis');
    for (let i = 0; i < opts.scrapes; i++) for (const s of inTurns([file, viaRedis], i)) await scrape(s);
    for (let round = 0; round < PUSH_ROUNDS; round++) for (const s of inTurns([file, viaRedis], round)) await pushFor(s, opts.seconds / PUSH_ROUNDS, opts.concurrency);
    const rate = (s: Side): number => s.ok / (s.ms / 1000);
    const rows: RedisRow[] = [
      { metric: 'push throughput (new group of 10 series, acknowledged when durable)', unit: 'req/s', file: rate(file), redis: rate(viaRedis), targets: PUSH_TARGET },
      {
        metric: `scrape latency, median (${opts.groups} groups of 10 series, ${(file.scrapeBytes / 1024).toFixed(0)} KiB)`,
        unit: 'ms',
        file: medianOf(file.scrapes),
        redis: medianOf(viaRedis.scrapes),
        targets: SCRAPE_TARGET,
      },
    ];
    const out = [
      '| metric | file store | Redis store | Redis / file | target (Redis / file) |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.metric} | ${formatValue(r.file, r.unit)} | ${formatValue(r.redis, r.unit)} | ${formatRatio(r.redis / r.file)} | ${formatTargets(r.targets, r.unit)} |`),
    ];
    const checked: CheckedRow[] = rows.map((r) => ({
      metric: r.metric,
      unit: r.unit,
      targets: r.targets,
      subject: { value: r.redis },
      references: [{ title: 'file store', short: 'the file store', cell: { value: r.file } }],
    }));
    const outcome = checkReport(checked);
    process.stdout.write(
      `${out.join('\n')}\n(${opts.concurrency} concurrent pushers for ${opts.seconds} s each, in ${PUSH_ROUNDS} turns; ${opts.scrapes} scrapes each, in turns; file: ${file.ok} groups pushed, Redis: ${viaRedis.ok})\n${outcome.lines.join('\n')}\n`,
    );
    if (opts.check && !outcome.ok) process.exitCode = 1;
  } finally {
    await Promise.all(children.map(stop));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
