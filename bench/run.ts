/**
 * `make bench`: Lethe against the real Pushgateway (Debian's, and the newest upstream release
 * when the Makefile could build it), one after another on loopback ports, in one run. Prints
 * one table (metric, Lethe, each Pushgateway and the ratio Lethe / it) and writes the same as
 * JSON under bench/results/. Ratios are what to read: the machine is shared and small, so the
 * absolute figures move from run to run.
 *
 *   node dist/bench/bench/run.js [--gateways=lethe,pushgateway-1.5,pushgateway]
 *                                [--phases=push,scale,forget] [--quick] [--update-docs]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRIC_PREFIX, body, families, largeFamilies, smallFamilies, type Body, type BodyFormat } from './bodies.js';
import { RunningGateway, gatewaySpecs, repoRoot, residentBytes, type GatewayKind, type GatewaySpec, type StartFlags } from './gateways.js';
import { Client, median, runLoad, sendAll, type Answer } from './http.js';
import { Results, buildReport, describeMachine, machine, table, writeReport, type Cell } from './report.js';
import { forgettingRows } from './forgetting.js';

interface Options {
  readonly gateways: readonly GatewayKind[];
  readonly phases: readonly string[];
  readonly quick: boolean;
  /** Rewrite the table in docs/benchmarks.md. */
  readonly updateDocs: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let gateways: GatewayKind[] = ['lethe', 'pushgateway-1.5', 'pushgateway'];
  let phases = ['push', 'scale', 'forget'];
  let quick = false;
  let updateDocs = false;
  for (const arg of argv) {
    const [name, value = ''] = arg.split('=', 2);
    if (name === '--gateways') gateways = value.split(',') as GatewayKind[];
    else if (name === '--phases') phases = value.split(',');
    else if (name === '--quick') quick = true;
    else if (name === '--update-docs') updateDocs = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return { gateways, phases, quick, updateDocs };
}

const opts = parseArgs(process.argv.slice(2));
const runStarted = new Date();
const t0 = performance.now();
const work = mkdtempSync(join(tmpdir(), 'lethe-bench-'));
const results = new Results();
const log = (msg: string): void => {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
};

// Sizes and caps. The caps keep the whole run under ten minutes: a gateway that needs longer
// for a step is reported as broken at that step instead of being waited for.
const PUSH_WARMUP_MS = opts.quick ? 100 : 300;
const PUSH_MEASURE_MS = opts.quick ? 500 : 2_000;
const PUSH_GROUPS = 16;
const SMALL_GROUPS = opts.quick ? 100 : 1_000;
const MANY_GROUPS = opts.quick ? 1_000 : 10_000;
const BIG_GROUPS = opts.quick ? 18 : 180;
const BIG_FAMILIES = 50;
const BIG_PER_FAMILY = 100;
const FILL_CAP_MS = 120_000;
const SCRAPE_TIMEOUT_MS = 60_000;
const SCRAPE_LEVEL_CAP_MS = 45_000;
const READY_CAP_MS = 180_000;
const PROBE_CAP_MS = 45_000;
const BURST_CAP_MS = 120_000;
const RESTARTS = 3;
const SCRAPES = 10;

const levels = {
  few: SMALL_GROUPS * 10,
  many: MANY_GROUPS * 10,
  big: MANY_GROUPS * 10 + BIG_GROUPS * BIG_FAMILIES * BIG_PER_FAMILY,
};
const count = (n: number): string => n.toLocaleString('en-US');

// ---- Rows, in table order -------------------------------------------------------------------

const sizes = [
  { id: 'small', title: '10 series', families: smallFamilies },
  { id: 'large', title: '5,000 series', families: largeFamilies },
] as const;
const formats: readonly BodyFormat[] = ['text', 'protobuf'];
const concurrencies = [1, 16] as const;

for (const size of sizes) {
  for (const format of formats) {
    for (const c of concurrencies) {
      const what = `PUT ${size.title}, ${format}, concurrency ${c}`;
      const id = `push.${size.id}.${format}.c${c}`;
      results.define({ id: `${id}.rps`, metric: `${what}: throughput`, unit: 'req/s', better: 'higher', target: '≥ 1.0×' });
      results.define({ id: `${id}.p50`, metric: `${what}: p50`, unit: 'ms', better: 'lower' });
      results.define({ id: `${id}.p99`, metric: `${what}: p99`, unit: 'ms', better: 'lower' });
    }
  }
}
results.define({ id: 'scale.scrape.few.ms', metric: `GET /metrics, ${count(SMALL_GROUPS)} groups × 10 series: latency`, unit: 'ms', better: 'lower' });
results.define({ id: 'scale.scrape.few.bytes', metric: `GET /metrics, ${count(SMALL_GROUPS)} groups × 10 series: size`, unit: 'bytes', better: 'lower' });
results.define({ id: 'scale.scrape.many.ms', metric: `GET /metrics, ${count(MANY_GROUPS)} groups × 10 series: latency`, unit: 'ms', better: 'lower', target: '≤ 0.5×' });
results.define({ id: 'scale.scrape.many.bytes', metric: `GET /metrics, ${count(MANY_GROUPS)} groups × 10 series: size`, unit: 'bytes', better: 'lower' });
results.define({ id: 'scale.memory.many.rss', metric: `resident memory with ${count(levels.many)} series stored`, unit: 'bytes', better: 'lower' });
results.define({ id: 'scale.memory.many.per', metric: `resident memory per series, ${count(levels.many)} series stored (over the empty gateway)`, unit: 'B/series', better: 'lower', target: '≤ 1.0×' });
results.define({ id: 'scale.memory.many.scraped', metric: `resident memory per series, ${count(levels.many)} series, after ${SCRAPES + 1} scrapes`, unit: 'B/series', better: 'lower' });
results.define({ id: 'scale.restart.many.ms', metric: `restart: start to ready with ${count(levels.many)} persisted series`, unit: 'ms', better: 'lower', target: '≤ 1.0×' });
results.define({ id: 'scale.memory.many.restarted', metric: `resident memory per series, ${count(levels.many)} series, after a restart`, unit: 'B/series', better: 'lower' });
results.define({ id: 'scale.put.many.ms', metric: `PUT 10 series into a store of ${count(levels.many)} series (check on): p50`, unit: 'ms', better: 'lower' });
results.define({ id: 'scale.scrape.big.ms', metric: `GET /metrics, ${count(levels.big)} series: latency`, unit: 'ms', better: 'lower', target: '< 2 s' });
results.define({ id: 'scale.scrape.big.bytes', metric: `GET /metrics, ${count(levels.big)} series: size`, unit: 'bytes', better: 'lower' });
results.define({ id: 'scale.memory.big.per', metric: `resident memory per series, ${count(levels.big)} series stored`, unit: 'B/series', better: 'lower' });
results.define({ id: 'scale.memory.big.scraped', metric: `resident memory per series, ${count(levels.big)} series, after 4 scrapes`, unit: 'B/series', better: 'lower' });
results.define({ id: 'scale.restart.big.ms', metric: `restart: start to ready with ${count(levels.big)} persisted series`, unit: 'ms', better: 'lower' });
results.define({ id: 'scale.put.big.ms', metric: `PUT 10 series into a store of ${count(levels.big)} series (check on): p50`, unit: 'ms', better: 'lower' });
results.define({ id: 'scale.burst.big.p50', metric: `16 concurrent PUTs of 10 series into ${count(levels.big)} series (check on): p50`, unit: 'ms', better: 'lower' });
results.define({ id: 'scale.burst.big.max', metric: `16 concurrent PUTs of 10 series into ${count(levels.big)} series (check on): slowest`, unit: 'ms', better: 'lower' });
results.define({ id: 'forget.p50', metric: 'forgetting: Job deleted → series gone from /metrics, p50', unit: 'ms', better: 'lower', letheOnly: true });
results.define({ id: 'forget.p99', metric: 'forgetting: Job deleted → series gone from /metrics, p99', unit: 'ms', better: 'lower', target: '< 1 s', letheOnly: true });
results.define({ id: 'forget.pass', metric: 'one lifecycle pass, 10,000 Jobs and 10,000 groups', unit: 'ms', better: 'lower', letheOnly: true });
results.define({ id: 'forget.max', metric: 'forgetting: Job deleted → series gone from /metrics, slowest', unit: 'ms', better: 'lower', letheOnly: true });

// ---- Helpers ---------------------------------------------------------------------------------

class Broke extends Error {}

function logFile(spec: GatewaySpec, what: string): string {
  return join(work, `${spec.kind}-${what}.log`);
}

async function start(spec: GatewaySpec, flags: StartFlags, what: string): Promise<{ gateway: RunningGateway; client: Client; readyMs: number }> {
  const { gateway, readyMs } = await RunningGateway.start(spec, flags, logFile(spec, what), READY_CAP_MS).catch((err: unknown) => {
    throw new Broke(err instanceof Error ? err.message : String(err));
  });
  return { gateway, client: new Client(gateway.port), readyMs };
}

async function stop(gateway: RunningGateway, client: Client): Promise<void> {
  client.close();
  const how = await gateway.stop();
  if (!/status 0|SIGTERM/.test(how)) log(`${gateway.spec.title} ${how} on stop`);
}

function alive(gateway: RunningGateway): void {
  if (gateway.exit !== undefined) throw new Broke(`the process ${gateway.exit}`);
}

/** Resident memory of a running gateway; a gateway that is gone broke. */
function residentOf(gateway: RunningGateway): number {
  alive(gateway);
  try {
    return residentBytes(gateway.pid);
  } catch (err) {
    throw new Broke(`cannot read its memory: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const pushHeaders = (b: Body): Record<string, string> => ({ 'Content-Type': b.contentType });

/** PUTs `body` to groups job/instance=g<from..to-1>. */
async function fill(gateway: RunningGateway, client: Client, job: string, from: number, to: number, b: Body, concurrency: number): Promise<void> {
  const startedAt = performance.now();
  const { done, failure } = await sendAll(
    client,
    to - from,
    concurrency,
    (i) => ({ method: 'PUT', path: `/metrics/job/${job}/instance/g${from + i}`, body: b.bytes, headers: pushHeaders(b), timeoutMs: FILL_CAP_MS }),
    [200, 202],
    startedAt + FILL_CAP_MS,
  );
  alive(gateway);
  const seconds = (performance.now() - startedAt) / 1000;
  if (failure !== undefined) throw new Broke(`filling failed after ${count(done)} pushes: ${failure}`);
  if (done < to - from) throw new Broke(`filling took over ${FILL_CAP_MS / 1000} s (${count(done)} of ${count(to - from)} pushes of ${count(b.series)} series done)`);
  log(`  filled ${count(to - from)} groups of ${count(b.series)} series in ${seconds.toFixed(1)} s (${((to - from) / seconds).toFixed(0)} pushes/s)`);
}

/** GET /metrics; `count` makes the client count the pushed series (client CPU the timed scrapes do without). */
function scrape(client: Client, count: boolean): Promise<Answer> {
  return client.send({ method: 'GET', path: '/metrics', timeoutMs: SCRAPE_TIMEOUT_MS, ...(count ? { countPrefix: METRIC_PREFIX } : {}) });
}

function checkScrape(answer: Answer): void {
  if (answer.status !== 200) throw new Broke(answer.error === undefined ? `GET /metrics answered ${answer.status}` : `GET /metrics: ${answer.error}`);
}

/** Scrapes until every pushed series shows (the Pushgateway applies unchecked pushes later). */
async function waitForSeries(gateway: RunningGateway, client: Client, expected: number): Promise<Answer> {
  const until = performance.now() + SCRAPE_TIMEOUT_MS;
  for (;;) {
    const answer = await scrape(client, true);
    alive(gateway);
    checkScrape(answer);
    if (answer.lines === expected) return answer;
    if (answer.lines > expected || performance.now() > until) {
      throw new Broke(`the scrape shows ${count(answer.lines)} pushed series, expected ${count(expected)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Up to `n` timed scrapes (fewer when they take longer than the level's cap), after `barrier`
 * (the scrape that showed every series): each must be about as long as it.
 */
async function timedScrapes(gateway: RunningGateway, client: Client, n: number, barrier: Answer): Promise<Answer[]> {
  const out: Answer[] = [];
  const until = performance.now() + SCRAPE_LEVEL_CAP_MS;
  while (out.length < n && performance.now() < until) {
    const answer = await scrape(client, false);
    alive(gateway);
    checkScrape(answer);
    if (Math.abs(answer.bytes - barrier.bytes) > barrier.bytes / 100) {
      throw new Broke(`a scrape had ${count(answer.bytes)} bytes, the one before ${count(barrier.bytes)}`);
    }
    out.push(answer);
  }
  return out;
}

function scrapeCells(kind: GatewayKind, level: string, answers: readonly Answer[]): void {
  const ms = answers.map((a) => a.ms);
  results.set(`scale.scrape.${level}.ms`, kind, { value: median(ms), samples: ms.map((x) => Number(x.toFixed(1))), ...(answers.length < 3 ? { note: `${answers.length} scrape${answers.length === 1 ? '' : 's'}` } : {}) });
  results.set(`scale.scrape.${level}.bytes`, kind, { value: answers[0]?.bytes ?? Number.NaN });
  log(`  scrape: median ${median(ms).toFixed(1)} ms over ${answers.length}, ${count(answers[0]?.bytes ?? 0)} bytes`);
}

/** Sequential 10-series PUTs into a new group while the store is large; the group is deleted after. */
async function probePut(gateway: RunningGateway, client: Client, id: string, n: number): Promise<void> {
  const b = body(smallFamilies(), 'text');
  const ms: number[] = [];
  const until = performance.now() + PROBE_CAP_MS;
  while (ms.length < n && performance.now() < until) {
    const answer = await client.send({ method: 'PUT', path: '/metrics/job/probe/instance/p', body: b.bytes, headers: pushHeaders(b), timeoutMs: PROBE_CAP_MS });
    alive(gateway);
    if (answer.status !== 200) throw new Broke(`PUT answered ${answer.error ?? `HTTP ${answer.status}`}`);
    ms.push(answer.ms);
  }
  const del = await client.send({ method: 'DELETE', path: '/metrics/job/probe/instance/p', timeoutMs: PROBE_CAP_MS });
  if (del.status !== 202) throw new Broke(`DELETE answered ${del.error ?? `HTTP ${del.status}`}`);
  results.set(id, gateway.spec.kind, { value: median(ms), samples: ms.map((x) => Number(x.toFixed(1))), ...(ms.length < 3 ? { note: `${ms.length} PUT${ms.length === 1 ? '' : 's'}` } : {}) });
  log(`  PUT 10 series: median ${median(ms).toFixed(1)} ms over ${ms.length}`);
}

/** 16 PUTs at once to 16 new groups (a burst of batch jobs finishing together); the groups are deleted after. */
async function burstPut(gateway: RunningGateway, client: Client, level: string): Promise<void> {
  const b = body(smallFamilies(), 'text');
  const answers = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      client.send({ method: 'PUT', path: `/metrics/job/probe/instance/burst${i}`, body: b.bytes, headers: pushHeaders(b), timeoutMs: BURST_CAP_MS }),
    ),
  );
  alive(gateway);
  const bad = answers.find((a) => a.status !== 200);
  if (bad !== undefined) throw new Broke(`a PUT of the burst answered ${bad.error ?? `HTTP ${bad.status}`}`);
  for (let i = 0; i < 16; i++) await client.send({ method: 'DELETE', path: `/metrics/job/probe/instance/burst${i}`, timeoutMs: BURST_CAP_MS });
  const ms = answers.map((a) => a.ms);
  const samples = ms.map((x) => Number(x.toFixed(1)));
  results.set(`scale.burst.${level}.p50`, gateway.spec.kind, { value: median(ms), samples });
  results.set(`scale.burst.${level}.max`, gateway.spec.kind, { value: Math.max(...ms) });
  log(`  16 concurrent PUTs: median ${median(ms).toFixed(0)} ms, slowest ${Math.max(...ms).toFixed(0)} ms`);
}

async function settle(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// ---- Phase 1: push throughput ----------------------------------------------------------------

async function pushPhase(spec: GatewaySpec): Promise<void> {
  const { gateway, client } = await start(spec, {}, 'push');
  try {
    for (const size of sizes) {
      const fams = size.families();
      for (const format of formats) {
        const b = body(fams, format);
        for (const c of concurrencies) {
          const job = `push_${size.id}_${format}_c${c}`;
          const id = `push.${size.id}.${format}.c${c}`;
          const r = await runLoad(client, {
            concurrency: c,
            warmupMs: PUSH_WARMUP_MS,
            durationMs: PUSH_MEASURE_MS,
            ok: [200],
            request: (w, i) => ({
              method: 'PUT',
              path: `/metrics/job/${job}/instance/w${c === 1 ? i % PUSH_GROUPS : w % PUSH_GROUPS}`,
              body: b.bytes,
              headers: pushHeaders(b),
              timeoutMs: 60_000,
            }),
          });
          alive(gateway);
          const note = r.failures > 0 ? `${r.failures} failed: ${r.firstFailure ?? ''}` : undefined;
          const cell = (value: number): Cell => (note === undefined ? { value } : { value, note });
          results.set(`${id}.rps`, spec.kind, cell(r.perSecond));
          results.set(`${id}.p50`, spec.kind, cell(r.p50));
          results.set(`${id}.p99`, spec.kind, cell(r.p99));
          log(`  ${job}: ${r.perSecond.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.requests} requests${note === undefined ? '' : `, ${note}`})`);
          for (let g = 0; g < PUSH_GROUPS; g++) await client.send({ method: 'DELETE', path: `/metrics/job/${job}/instance/w${g}` });
        }
      }
    }
  } catch (err) {
    if (!(err instanceof Broke)) throw err;
    log(`  broke: ${err.message}`);
    results.broke('push.', spec.kind, err.message);
  } finally {
    await stop(gateway, client);
  }
}

// ---- Phase 2: scrape, memory, restart and push latency as the store grows --------------------

async function scalePhase(spec: GatewaySpec): Promise<void> {
  const file = join(work, `${spec.kind}.data`);
  // The Pushgateway checks each push against the whole store, so filling it with the check on
  // takes longer than this run allows: it is filled unchecked (the data is consistent either
  // way; scrapes do the same work), and restarted with the check on for the PUT probes.
  // Lethe's check is incremental: it runs with its defaults throughout.
  const fillFlags: StartFlags = spec.kind === 'lethe' ? { persistenceFile: file } : { persistenceFile: file, disableConsistencyCheck: true };
  const checkedFlags: StartFlags = { persistenceFile: file };
  const small = body(smallFamilies(), 'text');
  const big = body(families(BIG_FAMILIES, BIG_PER_FAMILY), 'text');
  let run = await start(spec, fillFlags, 'fill');
  let step = 'scale.';
  try {
    await settle(500);
    const emptyRss = residentOf(run.gateway);

    step = 'scale.scrape.few';
    log(`  ${count(SMALL_GROUPS)} groups × 10 series`);
    await fill(run.gateway, run.client, 'bench_small', 0, SMALL_GROUPS, small, 16);
    const few = await waitForSeries(run.gateway, run.client, levels.few);
    scrapeCells(spec.kind, 'few', await timedScrapes(run.gateway, run.client, SCRAPES, few));

    step = 'scale.scrape.many';
    log(`  ${count(MANY_GROUPS)} groups × 10 series`);
    await fill(run.gateway, run.client, 'bench_small', SMALL_GROUPS, MANY_GROUPS, small, 16);
    step = 'scale.memory.many';
    await settle(2_000);
    const rss = residentOf(run.gateway);
    results.set('scale.memory.many.rss', spec.kind, { value: rss });
    results.set('scale.memory.many.per', spec.kind, { value: (rss - emptyRss) / levels.many });
    log(`  resident ${count(rss)} bytes, ${((rss - emptyRss) / levels.many).toFixed(0)} bytes per series over the empty gateway`);
    step = 'scale.scrape.many';
    const many = await waitForSeries(run.gateway, run.client, levels.many);
    scrapeCells(spec.kind, 'many', await timedScrapes(run.gateway, run.client, SCRAPES, many));
    // And as a gateway that Prometheus scrapes holds it.
    await settle(2_000);
    const scrapedRss = residentOf(run.gateway);
    results.set('scale.memory.many.scraped', spec.kind, { value: (scrapedRss - emptyRss) / levels.many });
    log(`  after the scrapes: resident ${count(scrapedRss)} bytes`);

    step = 'scale.restart.many';
    await stop(run.gateway, run.client);
    // Three restarts (the machine is shared): the median counts.
    const readyMs: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      if (i > 0) await stop(run.gateway, run.client);
      run = await start(spec, checkedFlags, `restart-many-${i}`);
      readyMs.push(run.readyMs);
    }
    results.set('scale.restart.many.ms', spec.kind, { value: median(readyMs), samples: readyMs.map((x) => Math.round(x)) });
    log(`  restart with ${count(levels.many)} series: ready after ${readyMs.map((x) => x.toFixed(0)).join(', ')} ms`);
    await settle(2_000);
    const restartedRss = residentOf(run.gateway);
    results.set('scale.memory.many.restarted', spec.kind, { value: (restartedRss - emptyRss) / levels.many });
    log(`  after the restart: resident ${count(restartedRss)} bytes`);
    await waitForSeries(run.gateway, run.client, levels.many);
    step = 'scale.put.many';
    await probePut(run.gateway, run.client, 'scale.put.many.ms', 10);

    step = 'scale.scrape.big';
    if (fillFlags.disableConsistencyCheck === true) {
      await stop(run.gateway, run.client);
      run = await start(spec, fillFlags, 'fill-big');
    }
    log(`  + ${count(BIG_GROUPS)} groups × ${count(big.series)} series`);
    await fill(run.gateway, run.client, 'bench_big', 0, BIG_GROUPS, big, 4);
    step = 'scale.memory.big';
    await settle(2_000);
    const bigRss = residentOf(run.gateway);
    results.set('scale.memory.big.per', spec.kind, { value: (bigRss - emptyRss) / levels.big });
    log(`  resident ${count(bigRss)} bytes`);
    step = 'scale.scrape.big';
    const bigBarrier = await waitForSeries(run.gateway, run.client, levels.big);
    scrapeCells(spec.kind, 'big', await timedScrapes(run.gateway, run.client, 3, bigBarrier));
    await settle(2_000);
    const bigScrapedRss = residentOf(run.gateway);
    results.set('scale.memory.big.scraped', spec.kind, { value: (bigScrapedRss - emptyRss) / levels.big });
    log(`  after the scrapes: resident ${count(bigScrapedRss)} bytes`);

    step = 'scale.restart.big';
    await stop(run.gateway, run.client);
    run = await start(spec, checkedFlags, 'restart-big');
    results.set('scale.restart.big.ms', spec.kind, { value: run.readyMs });
    log(`  restart with ${count(levels.big)} series: ready after ${run.readyMs.toFixed(0)} ms`);
    step = 'scale.put.big';
    await probePut(run.gateway, run.client, 'scale.put.big.ms', 3);
    step = 'scale.burst.big';
    await burstPut(run.gateway, run.client, 'big');
  } catch (err) {
    if (!(err instanceof Broke)) throw err;
    log(`  broke at ${step}: ${err.message}`);
    results.broke('scale.', spec.kind, err.message);
  } finally {
    await stop(run.gateway, run.client);
    rmSync(file, { force: true });
  }
}

// ---- Main ------------------------------------------------------------------------------------

/** The page whose `bench` block shows the latest run. */
const DOCS_PAGE = join('docs', 'benchmarks.md');

function updateDocs(markdown: string): void {
  const file = join(repoRoot, DOCS_PAGE);
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a === -1 || b < a) throw new Error(`${DOCS_PAGE} has no ${begin} … ${end} block`);
  writeFileSync(file, `${text.slice(0, a + begin.length)}\n${markdown}\n${text.slice(b)}`);
}

/** Row 5: Lethe only, on a real control plane (bench/forgetting.ts). */
async function forgetPhase(): Promise<void> {
  try {
    const rows = await forgettingRows({ log, ...(opts.quick ? { clusterPass: false, deletions: 100 } : {}) });
    for (const r of rows) {
      if (!results.rows.some((x) => x.id === r.id)) results.define({ id: r.id, metric: r.metric, unit: r.unit, better: 'lower', letheOnly: true });
      results.set(
        r.id,
        'lethe',
        typeof r.lethe === 'number'
          ? { value: r.lethe, ...(r.note === undefined ? {} : { note: r.note }), ...(r.samples === undefined ? {} : { samples: r.samples }) }
          : { note: r.lethe },
      );
    }
  } catch (err) {
    log(`forgetting: broke: ${err instanceof Error ? err.message : String(err)}`);
    for (const id of ['forget.p50', 'forget.p99', 'forget.max', 'forget.pass']) {
      results.set(id, 'lethe', { note: `broke: ${err instanceof Error ? err.message.slice(0, 80) : String(err)}` });
    }
  }
}

async function main(): Promise<void> {
  const specs = gatewaySpecs().filter((s) => opts.gateways.includes(s.kind));
  for (const spec of specs) {
    if (spec.missing !== undefined) {
      log(`${spec.title}: skipped, ${spec.missing}`);
      for (const row of results.rows) if (!row.id.startsWith('forget.')) results.set(row.id, spec.kind, { note: 'not run' });
      continue;
    }
    if (opts.phases.includes('push')) {
      log(`${spec.title}: push throughput`);
      await pushPhase(spec);
    }
    if (opts.phases.includes('scale')) {
      log(`${spec.title}: scrape, memory, restart, PUT latency as the store grows`);
      await scalePhase(spec);
    }
  }
  if (opts.phases.includes('forget') && opts.gateways.includes('lethe')) {
    log('Lethe: forgetting on a real control plane');
    await forgetPhase();
  }
  for (const id of ['forget.p50', 'forget.p99', 'forget.max', 'forget.pass']) {
    if (results.rows.find((r) => r.id === id)?.cells.lethe === undefined) results.set(id, 'lethe', { note: 'not run' });
  }
  const seconds = (performance.now() - t0) / 1000;
  const method = [
    'Each gateway runs alone on a 127.0.0.1 port; the load generator is this node process (http.Agent with keep-alive).',
    `Push rows: closed loop for ${PUSH_MEASURE_MS / 1000} s after a ${PUSH_WARMUP_MS} ms warm-up on a fresh gateway (memory only), PUT to ${PUSH_GROUPS} groups in turn (concurrency 1) or one group per worker (16).`,
    'Scale rows: text pushes of 10 series per group, then groups of 5,000 series; --persistence.file set throughout.',
    'The Pushgateways are filled with --push.disable-consistency-check (their per-push check gathers the whole store) and restarted with the check on for the restart and PUT rows; Lethe runs with its defaults.',
    'Memory is VmRSS from /proc, 2 s after the fill (stored) and again 2 s after the scrapes of that size (as a gateway that Prometheus scrapes holds it); per series = (that RSS − RSS of the empty gateway) / series.',
    `Scrape latency: median of ${SCRAPES} (3 at the largest size) after one scrape that shows every series; restart: median of ${RESTARTS} at ${count(levels.many)} series, one at ${count(levels.big)}.`,
    'Ratio = Lethe / Pushgateway: above 1 is better for throughput, below 1 for everything else.',
  ];
  const report = buildReport(results, specs, runStarted, seconds, method);
  const heading = `Run of ${runStarted.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${describeMachine(machine())}, ${seconds.toFixed(0)} s.`;
  const markdown = `${heading}\n\n${table(results, specs)}`;
  process.stdout.write(`\n${markdown}\n\n`);
  const file = writeReport(join(repoRoot, 'bench', 'results'), report);
  log(`wrote ${file.slice(repoRoot.length + 1)}`);
  if (opts.updateDocs) {
    updateDocs(markdown);
    log(`updated ${DOCS_PAGE}`);
  }
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
