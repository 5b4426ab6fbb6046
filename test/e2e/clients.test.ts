/**
 * Real clients against the gateway under test (PUSHGATEWAY.md §8): Node prom-client's
 * Pushgateway, Python prometheus_client, and curl. Each push must land as the series and the
 * grouping key the client meant. LETHE_E2E_SUBJECT=pushgateway runs the same checks against the
 * newest upstream release, to validate the test itself.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Counter, Gauge, Pushgateway, Registry } from 'prom-client';
import { eventually } from '../harness/eventually.js';
import { gzip } from '../fixtures/requests/encodings.js';
import { delimited } from '../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../fixtures/requests/types.js';
import { bodyText, getJson, rawRequest, startGateway, subjectKind, type Gateway } from './gateways.js';
import { normaliseExposition } from './normalise.js';

jest.setTimeout(30_000);

const subject = subjectKind();
const curl = process.env['LETHE_CURL'] ?? 'curl';

let gateway: Gateway | undefined;
let python: string | undefined;

/**
 * A python3 that can import prometheus_client: LETHE_PYTHON, else the first python3 on PATH that
 * has it (a version manager's python3 often comes first and lacks the distribution's packages).
 */
async function findPython(): Promise<string> {
  const fromEnv = process.env['LETHE_PYTHON'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'python3');
    if (!existsSync(candidate)) continue;
    const probe = await run(candidate, ['-c', 'import prometheus_client']).catch(() => undefined);
    if (probe?.code === 0) return candidate;
  }
  throw new Error('no python3 with prometheus_client on PATH (set LETHE_PYTHON)');
}

function gw(): Gateway {
  if (gateway === undefined) throw new Error('gateway did not start');
  return gateway;
}

beforeAll(async () => {
  gateway = await startGateway(subject);
  python = await findPython();
}, 40_000);

afterAll(async () => {
  await gateway?.stop();
});

/** Normalised /metrics lines (own metrics dropped, push times masked). */
async function scrape(): Promise<string[]> {
  const res = await rawRequest(gw(), { method: 'GET', path: '/metrics' });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${bodyText(res)}`);
  return normaliseExposition(bodyText(res));
}

/** Grouping labels of every group in /api/v1/metrics, with the family names each holds. */
async function groups(): Promise<{ labels: unknown; families: string[] }[]> {
  const doc = await getJson(gw(), '/api/v1/metrics');
  if (typeof doc !== 'object' || doc === null || !('data' in doc) || !Array.isArray(doc.data)) {
    throw new Error(`unexpected /api/v1/metrics document ${JSON.stringify(doc)}`);
  }
  return (doc.data as unknown[]).map((g) => {
    if (typeof g !== 'object' || g === null) throw new Error(`unexpected group ${JSON.stringify(g)}`);
    const entries = Object.entries(g);
    return {
      labels: entries.find(([k]) => k === 'labels')?.[1],
      families: entries
        .map(([k]) => k)
        .filter((k) => k !== 'labels' && k !== 'last_push_successful')
        .sort(),
    };
  });
}

async function groupWith(labels: Readonly<Record<string, string>>): Promise<{ labels: unknown; families: string[] } | undefined> {
  return (await groups()).find((g) => JSON.stringify(sortKeys(g.labels)) === JSON.stringify(sortKeys(labels)));
}

function sortKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Lines of the scrape whose series carry exactly this job label value. */
async function seriesOfJob(job: string): Promise<string[]> {
  const needle = `job=${JSON.stringify(job)}`;
  return (await scrape()).filter((line) => !line.startsWith('#') && line.includes(needle));
}

async function expectGroupGone(labels: Readonly<Record<string, string>>, job: string): Promise<void> {
  await eventually(async () => (await groupWith(labels)) === undefined && (await seriesOfJob(job)).length === 0, { timeout: 5_000 });
}

function statusOf(resp: unknown): number | undefined {
  return typeof resp === 'object' && resp !== null && 'statusCode' in resp && typeof resp.statusCode === 'number'
    ? resp.statusCode
    : undefined;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], stdin?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

describe(`prom-client Pushgateway against ${subject}`, () => {
  const job = 'node job';
  const groupings = { instance: 'host 1', zone: 'eu west' };
  const key = { job, ...groupings };
  const labels = 'instance="host 1",job="node job",zone="eu west"';
  const registry = new Registry();
  const jobs = new Counter({ name: 'client_node_jobs_total', help: 'Jobs done.', labelNames: ['color'], registers: [registry] });
  const temperature = new Gauge({ name: 'client_node_temperature', help: 'Degrees.', registers: [registry] });

  test('push (PUT) stores the registry under a grouping key with spaces', async () => {
    jobs.inc({ color: 'blue' }, 3);
    const { resp } = await new Pushgateway(gw().url, { timeout: 5_000 }, registry).push({ jobName: job, groupings });
    expect(statusOf(resp)).toBe(200);
    expect(await seriesOfJob(job)).toEqual([
      `client_node_jobs_total{color="blue",${labels}} 3`,
      `client_node_temperature{${labels}} 0`,
      `push_failure_time_seconds{${labels}} 0`,
      `push_time_seconds{${labels}} <time>`,
    ]);
    expect(await scrape()).toEqual(expect.arrayContaining(['# HELP client_node_jobs_total Jobs done.', '# TYPE client_node_jobs_total counter']));
    expect((await groupWith(key))?.families).toEqual(['client_node_jobs_total', 'client_node_temperature', 'push_failure_time_seconds', 'push_time_seconds']);
  });

  test('pushAdd (POST) with a gzipped body replaces only the families it sends', async () => {
    const onlyGauge = new Registry();
    new Gauge({ name: 'client_node_temperature', help: 'Degrees.', registers: [onlyGauge] }).set(21.5);
    const client = new Pushgateway(gw().url, { timeout: 5_000, headers: { 'Content-Encoding': 'gzip' } }, onlyGauge);
    const { resp } = await client.pushAdd({ jobName: job, groupings });
    expect(statusOf(resp)).toBe(200);
    expect(await seriesOfJob(job)).toEqual([
      `client_node_jobs_total{color="blue",${labels}} 3`,
      `client_node_temperature{${labels}} 21.5`,
      `push_failure_time_seconds{${labels}} 0`,
      `push_time_seconds{${labels}} <time>`,
    ]);
  });

  test('push (PUT) replaces the whole group', async () => {
    jobs.reset();
    temperature.set(-2);
    registry.removeSingleMetric('client_node_jobs_total');
    const { resp } = await new Pushgateway(gw().url, { timeout: 5_000 }, registry).push({ jobName: job, groupings });
    expect(statusOf(resp)).toBe(200);
    expect(await seriesOfJob(job)).toEqual([
      `client_node_temperature{${labels}} -2`,
      `push_failure_time_seconds{${labels}} 0`,
      `push_time_seconds{${labels}} <time>`,
    ]);
  });

  test('delete removes the group', async () => {
    const { resp } = await new Pushgateway(gw().url, { timeout: 5_000 }, registry).delete({ jobName: job, groupings });
    expect(statusOf(resp)).toBe(202);
    await expectGroupGone(key, job);
  });
});

const pythonScript = `
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge, delete_from_gateway, push_to_gateway, pushadd_to_gateway
action, gateway = sys.argv[1], sys.argv[2]
key = {'path': '/var/tmp', 'empty': '', 'plain': 'x'}
registry = CollectorRegistry()
if action == 'push':
    Gauge('client_py_temperature', 'Degrees.', ['room'], registry=registry).labels(room='kitchen').set(21.5)
    push_to_gateway(gateway, job='py/job', registry=registry, grouping_key=key)
elif action == 'pushadd':
    Counter('client_py_runs', 'Runs.', registry=registry).inc()
    pushadd_to_gateway(gateway, job='py/job', registry=registry, grouping_key=key)
elif action == 'delete':
    delete_from_gateway(gateway, job='py/job', grouping_key=key)
`;

describe(`Python prometheus_client against ${subject}`, () => {
  const job = 'py/job';
  const key = { empty: '', job, path: '/var/tmp', plain: 'x' };
  const labels = 'empty="",instance="",job="py/job",path="/var/tmp",plain="x"';

  async function runPython(action: string): Promise<void> {
    if (python === undefined) throw new Error('no python3 found');
    const result = await run(python, ['-c', pythonScript, action, gw().url]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  }

  test('push_to_gateway with a base64 job, a slash and an empty value in the grouping key', async () => {
    await runPython('push');
    expect(await seriesOfJob(job)).toEqual([
      `client_py_temperature{${labels},room="kitchen"} 21.5`,
      `push_failure_time_seconds{${labels}} 0`,
      `push_time_seconds{${labels}} <time>`,
    ]);
    expect((await groupWith(key))?.families).toEqual(['client_py_temperature', 'push_failure_time_seconds', 'push_time_seconds']);
  });

  test('pushadd_to_gateway adds a counter and keeps the gauge', async () => {
    await runPython('pushadd');
    const lines = await seriesOfJob(job);
    expect(lines).toEqual(
      expect.arrayContaining([`client_py_runs_total{${labels}} 1`, `client_py_temperature{${labels},room="kitchen"} 21.5`]),
    );
    expect((await groupWith(key))?.families).toEqual(
      expect.arrayContaining(['client_py_runs_total', 'client_py_temperature', 'push_time_seconds']),
    );
  });

  test('delete_from_gateway removes the group', async () => {
    await runPython('delete');
    await expectGroupGone(key, job);
  });
});

describe(`curl against ${subject}`, () => {
  const base = (): string => gw().url;

  async function curlStatus(args: readonly string[], stdin?: Buffer): Promise<string> {
    const result = await run(curl, ['-sS', '-w', '\\n%{http_code}', ...args], stdin);
    expect(result.stderr).toBe('');
    return result.stdout.split('\n').pop() ?? '';
  }

  test('--data-binary posts text with curl\'s form Content-Type', async () => {
    const status = await curlStatus(['--data-binary', '@-', `${base()}/metrics/job/curl/path@base64/L3Zhci90bXA`], Buffer.from('# TYPE curl_items gauge\ncurl_items{kind="a"} 4\n'));
    expect(status).toBe('200');
    expect(await seriesOfJob('curl')).toEqual([
      'curl_items{instance="",job="curl",kind="a",path="/var/tmp"} 4',
      'push_failure_time_seconds{instance="",job="curl",path="/var/tmp"} 0',
      'push_time_seconds{instance="",job="curl",path="/var/tmp"} <time>',
    ]);
    expect(await groupWith({ job: 'curl', path: '/var/tmp' })).toBeDefined();
  });

  test('-X PUT with a gzipped body and Content-Encoding: gzip', async () => {
    const status = await curlStatus(
      ['-X', 'PUT', '-H', 'Content-Encoding: gzip', '--data-binary', '@-', `${base()}/metrics/job/curl-gz/instance/box`],
      gzip('curl_gz_total 7\n'),
    );
    expect(status).toBe('200');
    expect(await seriesOfJob('curl-gz')).toEqual([
      'curl_gz_total{instance="box",job="curl-gz"} 7',
      'push_failure_time_seconds{instance="box",job="curl-gz"} 0',
      'push_time_seconds{instance="box",job="curl-gz"} <time>',
    ]);
  });

  test('-X PUT with a delimited protobuf body', async () => {
    const body = delimited([
      { name: 'curl_pb_seconds', help: 'From protobuf.', type: 'HISTOGRAM', metrics: [{ labels: { op: 'x' }, histogram: { count: 2, sum: 3, buckets: [[1, 1], [5, 2]] } }] },
    ]);
    const status = await curlStatus(
      ['-X', 'PUT', '-H', `Content-Type: ${PROTOBUF_CONTENT_TYPE}`, '--data-binary', '@-', `${base()}/metrics/job@base64/Y3VybC9wYg==`],
      body,
    );
    expect(status).toBe('200');
    const labels = 'instance="",job="curl/pb"';
    expect(await seriesOfJob('curl/pb')).toEqual([
      `curl_pb_seconds_bucket{${labels},op="x",le="1"} 1`,
      `curl_pb_seconds_bucket{${labels},op="x",le="5"} 2`,
      `curl_pb_seconds_bucket{${labels},op="x",le="+Inf"} 2`,
      `curl_pb_seconds_sum{${labels},op="x"} 3`,
      `curl_pb_seconds_count{${labels},op="x"} 2`,
      `push_failure_time_seconds{${labels}} 0`,
      `push_time_seconds{${labels}} <time>`,
    ]);
    expect(await scrape()).toEqual(expect.arrayContaining(['# HELP curl_pb_seconds From protobuf.', '# TYPE curl_pb_seconds histogram']));
  });

  test('-X DELETE removes a group and answers 202', async () => {
    expect(await curlStatus(['-X', 'DELETE', `${base()}/metrics/job/curl-gz/instance/box`])).toBe('202');
    await expectGroupGone({ instance: 'box', job: 'curl-gz' }, 'curl-gz');
    expect(await groupWith({ job: 'curl', path: '/var/tmp' })).toBeDefined();
  });
});
