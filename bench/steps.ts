/**
 * The steps the phases are made of: starting and stopping a gateway, filling it, scraping it
 * (plain and gzip), probing PUT latency, reading its memory. A step that a gateway cannot finish
 * within its cap throws Broke, which the phase reports in the row instead of waiting.
 */
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { METRIC_PREFIX, body, smallFamilies, type Body } from './bodies.js';
import { RunningGateway, residentBytes, type GatewayKind, type GatewaySpec, type StartFlags } from './gateways.js';
import { Client, median, sendAll, type Answer } from './http.js';
import type { Results } from './report.js';
import { count, type Sizes } from './rows.js';

/** What every step needs of the run. */
export interface Bench {
  readonly results: Results;
  readonly sizes: Sizes;
  /** Scratch directory of the run (logs, persistence files). */
  readonly work: string;
  readonly log: (message: string) => void;
}

// Caps: a gateway that needs longer for a step is reported as broken at that step.
const FILL_CAP_MS = 120_000;
const SCRAPE_TIMEOUT_MS = 60_000;
const SCRAPE_LEVEL_CAP_MS = 45_000;
const READY_CAP_MS = 180_000;
const PROBE_CAP_MS = 45_000;
const BURST_CAP_MS = 120_000;

export class Broke extends Error {}

export interface Started {
  readonly gateway: RunningGateway;
  readonly client: Client;
  readonly readyMs: number;
}

export async function start(bench: Bench, spec: GatewaySpec, flags: StartFlags, what: string): Promise<Started> {
  const logFile = join(bench.work, `${spec.kind}-${what}.log`);
  const { gateway, readyMs } = await RunningGateway.start(spec, flags, logFile, READY_CAP_MS).catch((err: unknown) => {
    throw new Broke(err instanceof Error ? err.message : String(err));
  });
  return { gateway, client: new Client(gateway.port), readyMs };
}

export async function stop(bench: Bench, { gateway, client }: Started): Promise<void> {
  client.close();
  const how = await gateway.stop();
  if (!/status 0|SIGTERM/.test(how)) bench.log(`${gateway.spec.title} ${how} on stop`);
}

export function alive(gateway: RunningGateway): void {
  if (gateway.exit !== undefined) throw new Broke(`the process ${gateway.exit}`);
}

/** Resident memory of a running gateway; a gateway that is gone broke. */
export function residentOf(gateway: RunningGateway): number {
  alive(gateway);
  try {
    return residentBytes(gateway.pid);
  } catch (err) {
    throw new Broke(`cannot read its memory: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The order in which the gateways take their turn in round `round`: as given, then reversed, and
 * so on, so that no gateway always goes first (push rows, restarts).
 */
export function inTurns<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

export const pushHeaders = (b: Body): Record<string, string> => ({ 'Content-Type': b.contentType });

export function settle(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** PUTs `b` to groups job/instance=g<from..to-1>. */
export async function fill(bench: Bench, { gateway, client }: Started, job: string, from: number, to: number, b: Body, concurrency: number): Promise<void> {
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
  bench.log(`  filled ${count(to - from)} groups of ${count(b.series)} series in ${seconds.toFixed(1)} s (${((to - from) / seconds).toFixed(0)} pushes/s)`);
}

/**
 * GET /metrics; `countSeries` makes the client count the pushed series (client CPU the timed
 * scrapes do without); `gzip` asks for a compressed answer and keeps its bytes.
 */
function scrape(client: Client, countSeries: boolean, gzip = false): Promise<Answer> {
  return client.send({
    method: 'GET',
    path: '/metrics',
    timeoutMs: SCRAPE_TIMEOUT_MS,
    ...(countSeries ? { countPrefix: METRIC_PREFIX } : {}),
    ...(gzip ? { headers: { 'Accept-Encoding': 'gzip' }, keepBody: true } : {}),
  });
}

/** The text of one uncompressed scrape. */
export async function scrapeText({ gateway, client }: Started): Promise<string> {
  const answer = await client.send({ method: 'GET', path: '/metrics', timeoutMs: SCRAPE_TIMEOUT_MS, keepBody: true });
  alive(gateway);
  checkScrape(answer);
  return answer.body?.toString('utf8') ?? '';
}

function checkScrape(answer: Answer): void {
  if (answer.status !== 200) throw new Broke(answer.error === undefined ? `GET /metrics answered ${answer.status}` : `GET /metrics: ${answer.error}`);
}

/** Scrapes until every pushed series shows (the Pushgateway applies unchecked pushes later). */
export async function waitForSeries({ gateway, client }: Started, expected: number): Promise<Answer> {
  const until = performance.now() + SCRAPE_TIMEOUT_MS;
  for (;;) {
    const answer = await scrape(client, true);
    alive(gateway);
    checkScrape(answer);
    if (answer.lines === expected) return answer;
    if (answer.lines > expected || performance.now() > until) {
      throw new Broke(`the scrape shows ${count(answer.lines)} pushed series, expected ${count(expected)}`);
    }
    await settle(200);
  }
}

/**
 * Up to `n` timed scrapes (fewer when they take longer than the level's cap), after `barrier`
 * (the scrape that showed every series): each must be about as long as it. Read and timed by
 * curl (Client.timedGet), for every gateway alike.
 */
export async function timedScrapes(run: Started, n: number, barrier: Answer): Promise<Answer[]> {
  const out: Answer[] = [];
  const until = performance.now() + SCRAPE_LEVEL_CAP_MS;
  while (out.length < n && performance.now() < until) out.push(await timedScrape(run, barrier));
  return out;
}

/** One scrape read and timed by curl, which must be about as long as `barrier`. */
async function timedScrape({ gateway, client }: Started, barrier: Answer): Promise<Answer> {
  const answer = await client.timedGet('/metrics', SCRAPE_TIMEOUT_MS);
  alive(gateway);
  checkScrape(answer);
  if (Math.abs(answer.bytes - barrier.bytes) > barrier.bytes / 100) {
    throw new Broke(`a scrape had ${count(answer.bytes)} bytes, the one before ${count(barrier.bytes)}`);
  }
  return answer;
}

/**
 * The pushed series' text: every family but the gateway's own (which change from one scrape to
 * the next), so that two scrapes of an unchanged store compare equal.
 */
export function pushedText(text: string): string {
  let keep = false;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const name = line.startsWith('# ') ? (line.split(' ')[2] ?? '') : line;
    if (line.startsWith('# ') || !keep) keep = name.startsWith(METRIC_PREFIX) || name.startsWith('push_');
    if (keep) out.push(line);
  }
  return out.join('\n');
}

/**
 * Up to `n` timed scrapes with Accept-Encoding: gzip. Each answer must be gzip and decompress to
 * the uncompressed scrape `plain` (the pushed series byte for byte), or the gateway broke.
 */
export async function timedGzipScrapes({ gateway, client }: Started, n: number, plain: string): Promise<Answer[]> {
  const out: Answer[] = [];
  const expected = pushedText(plain);
  const until = performance.now() + SCRAPE_LEVEL_CAP_MS;
  while (out.length < n + 1 && performance.now() < until) {
    const answer = await scrape(client, false, true);
    alive(gateway);
    checkScrape(answer);
    if (answer.encoding !== 'gzip' || answer.body === undefined) throw new Broke(`a gzip scrape came back with Content-Encoding ${answer.encoding ?? 'none'}`);
    let text: string;
    try {
      text = gunzipSync(answer.body).toString('utf8');
    } catch (err) {
      throw new Broke(`a gzip scrape does not decompress: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (pushedText(text) !== expected) throw new Broke('a gzip scrape decompresses to other series than the uncompressed scrape');
    // The first compressed scrape (which fills a cache) is not timed.
    out.push(answer);
  }
  return out.slice(1);
}

export function scrapeCells(bench: Bench, kind: GatewayKind, row: string, answers: readonly Answer[]): void {
  const ms = answers.map((a) => a.ms);
  const note = answers.length < 3 ? { note: `${answers.length} scrape${answers.length === 1 ? '' : 's'}` } : {};
  bench.results.set(`scale.${row}.ms`, kind, { value: median(ms), samples: ms.map((x) => Number(x.toFixed(1))), ...note });
  bench.results.set(`scale.${row}.bytes`, kind, { value: answers[0]?.bytes ?? Number.NaN });
  bench.log(`  ${row}: median ${median(ms).toFixed(1)} ms over ${answers.length}, ${count(answers[0]?.bytes ?? 0)} bytes`);
}

/**
 * Scrapes right after a push, as a Prometheus sees a gateway that jobs keep pushing to: `n` times
 * one of the groups job/instance=g<0..groups-1> pushed again (the same series; the push time
 * changes), then a timed scrape. Checks each scrape's size against `barrier` as timedScrapes does.
 */
export async function scrapesAfterPush(run: Started, n: number, job: string, groups: number, barrier: Answer): Promise<Answer[]> {
  const b = body(smallFamilies(), 'text');
  const out: Answer[] = [];
  const until = performance.now() + SCRAPE_LEVEL_CAP_MS;
  for (let i = 0; out.length < n && performance.now() < until; i++) {
    const put = await run.client.send({ method: 'PUT', path: `/metrics/job/${job}/instance/g${(i * 7919) % groups}`, body: b.bytes, headers: pushHeaders(b), timeoutMs: PROBE_CAP_MS });
    alive(run.gateway);
    if (put.status !== 200 && put.status !== 202) throw new Broke(`PUT answered ${put.error ?? `HTTP ${put.status}`}`);
    out.push(await timedScrape(run, barrier));
  }
  return out;
}

/** Sequential 10-series PUTs into a new group while the store is large; the group is deleted after. */
export async function probePut(bench: Bench, { gateway, client }: Started, id: string, n: number): Promise<void> {
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
  bench.results.set(id, gateway.spec.kind, { value: median(ms), samples: ms.map((x) => Number(x.toFixed(1))), ...(ms.length < 3 ? { note: `${ms.length} PUT${ms.length === 1 ? '' : 's'}` } : {}) });
  bench.log(`  PUT 10 series: median ${median(ms).toFixed(1)} ms over ${ms.length}`);
}

/** 16 PUTs at once to 16 new groups (a burst of batch jobs finishing together); the groups are deleted after. */
export async function burstPut(bench: Bench, { gateway, client }: Started, level: string): Promise<void> {
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
  bench.results.set(`scale.burst.${level}.p50`, gateway.spec.kind, { value: median(ms), samples });
  bench.results.set(`scale.burst.${level}.max`, gateway.spec.kind, { value: Math.max(...ms) });
  bench.log(`  16 concurrent PUTs: median ${median(ms).toFixed(0)} ms, slowest ${Math.max(...ms).toFixed(0)} ms`);
}
