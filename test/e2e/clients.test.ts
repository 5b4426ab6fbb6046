/**
 * Real clients against the gateway under test (PUSHGATEWAY.md §8): Node prom-client's
 * Pushgateway, Python prometheus_client, curl, and Go's client_golang push (a program in
 * test/clients/go, run beside the newest Pushgateway). Each push must land as the series and the
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
import { delimited, delimitedMessages, rawFields, type RawField } from '../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../fixtures/requests/types.js';
import { runGoPushClient, type GoRun } from '../harness/go-push-client.js';
import { bodyText, getJson, rawRequest, startGateway, subjectKind, type Gateway } from './gateways.js';
import { normaliseApiMetrics, normaliseExposition, normaliseProtobufExposition } from './normalise.js';

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

/**
 * The Go client (client_golang's push package, test/clients/go), run against the gateway under
 * test and against the newest upstream Pushgateway side by side: each step must end the same way
 * on both (exit status, the scrape in text and in protobuf), and the subject's series are spelled
 * out as well.
 */
describe(`client_golang push against ${subject} and the Pushgateway`, () => {
  let subjectGateway: Gateway | undefined;
  let reference: Gateway | undefined;
  const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';
  const UTF8_TEXT_ACCEPT = 'text/plain;version=1.0.0;escaping=allow-utf-8';
  const batch = ['-job', 'go/batch', '-grouping', 'instance=a/b', '-grouping', 'empty='];
  const labels = 'empty="",instance="a/b",job="go/batch"';
  const started = Math.floor(Date.now() / 1000);

  // Both fresh, so their whole scrapes can be compared.
  beforeAll(async () => {
    [subjectGateway, reference] = await Promise.all([startGateway(subject), startGateway('pushgateway')]);
  }, 40_000);

  afterAll(async () => {
    await Promise.all([subjectGateway?.stop(), reference?.stop()]);
  });

  function own(): Gateway {
    if (subjectGateway === undefined) throw new Error(`${subject} did not start`);
    return subjectGateway;
  }

  function ref(): Gateway {
    if (reference === undefined) throw new Error('the reference Pushgateway did not start');
    return reference;
  }

  /** The subject's normalised series lines of one job. */
  async function seriesOf(job: string): Promise<string[]> {
    const needle = `job=${JSON.stringify(job)}`;
    return normaliseExposition((await body(own())).toString('utf8')).filter((line) => !line.startsWith('#') && line.includes(needle));
  }

  /** Runs the Go program against both gateways; resolves with [subject's run, reference's run]. */
  async function runGo(args: readonly string[]): Promise<[GoRun, GoRun]> {
    const [ours, upstream] = await Promise.all([runGoPushClient(['-url', own().url, ...args]), runGoPushClient(['-url', ref().url, ...args])]);
    return [ours, upstream];
  }

  async function body(g: Gateway, accept?: string): Promise<Buffer> {
    const res = await rawRequest(g, { method: 'GET', path: '/metrics', ...(accept === undefined ? {} : { headers: { accept } }) });
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${bodyText(res)}`);
    return res.body;
  }

  /** Both gateways' normalised scrapes, in text (as curl asks), UTF-8 text and protobuf, must be equal. */
  async function expectSameScrapes(): Promise<void> {
    for (const accept of [undefined, UTF8_TEXT_ACCEPT]) {
      const [ours, upstream] = await Promise.all([body(own(), accept), body(ref(), accept)]);
      expect({ accept, lines: normaliseExposition(ours.toString('utf8')) }).toEqual({ accept, lines: normaliseExposition(upstream.toString('utf8')) });
    }
    const [ours, upstream] = await Promise.all([body(own(), PROTOBUF_ACCEPT), body(ref(), PROTOBUF_ACCEPT)]);
    expect(normaliseProtobufExposition(ours)).toEqual(normaliseProtobufExposition(upstream));
    // And /api/v1/metrics, but for what Lethe adds to native histograms (docs/api.md).
    const api = async (g: Gateway): Promise<string> =>
      JSON.stringify(normaliseApiMetrics(await getJson(g, '/api/v1/metrics')), (key, value: unknown) => (key === 'schema' || key === 'zero_threshold' ? undefined : value));
    expect(JSON.parse(await api(own()))).toEqual(JSON.parse(await api(ref())));
  }

  test('Push (PUT, delimited protobuf) with a slash and an empty value in the grouping key', async () => {
    const runs = await runGo([...batch, '-action', 'push', '-set', 'batch']);
    expect(runs.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, '']]);
    expect(await seriesOf('go/batch')).toEqual([
      `go_batch_info{${labels},note="ünïcode \\"quoted\\" \\\\ back\\nslash"} 1`,
      `go_batch_items_total{${labels}} 42`,
      `go_batch_last_success_timestamp_seconds{${labels}} 1.7e+09`,
      `go_batch_size_bytes{${labels},quantile="0.5"} 200`,
      `go_batch_size_bytes_sum{${labels}} 600`,
      `go_batch_size_bytes_count{${labels}} 3`,
      `go_batch_stage_seconds_bucket{${labels},stage="load",le="0.1"} 1`,
      `go_batch_stage_seconds_bucket{${labels},stage="load",le="1"} 1`,
      `go_batch_stage_seconds_bucket{${labels},stage="load",le="10"} 2`,
      `go_batch_stage_seconds_bucket{${labels},stage="load",le="+Inf"} 2`,
      `go_batch_stage_seconds_sum{${labels},stage="load"} 2.05`,
      `go_batch_stage_seconds_count{${labels},stage="load"} 2`,
      `go_batch_stage_seconds_bucket{${labels},stage="save",le="0.1"} 0`,
      `go_batch_stage_seconds_bucket{${labels},stage="save",le="1"} 1`,
      `go_batch_stage_seconds_bucket{${labels},stage="save",le="10"} 1`,
      `go_batch_stage_seconds_bucket{${labels},stage="save",le="+Inf"} 1`,
      `go_batch_stage_seconds_sum{${labels},stage="save"} 0.5`,
      `go_batch_stage_seconds_count{${labels},stage="save"} 1`,
      `push_failure_time_seconds{${labels}} 0`,
      `push_time_seconds{${labels}} <time>`,
    ]);
    expect((await body(own())).toString('utf8').split('\n')).toContain('# HELP go_batch_info Free text \\\\ with "quotes"\\nand a second line.');
    await expectSameScrapes();
  });

  test('Add (POST) adds a family and keeps the others', async () => {
    const runs = await runGo([...batch, '-action', 'add', '-set', 'runs']);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(await seriesOf('go/batch')).toEqual(expect.arrayContaining([`go_batch_runs_total{${labels}} 1`, `go_batch_items_total{${labels}} 42`]));
    await expectSameScrapes();
  });

  test('Push in the text format (Format(TypeTextPlain))', async () => {
    const runs = await runGo(['-job', 'go-text', '-action', 'push', '-set', 'runs', '-format', 'text']);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(await seriesOf('go-text')).toEqual(expect.arrayContaining(['go_batch_runs_total{instance="",job="go-text"} 1']));
    await expectSameScrapes();
  });

  test('a native histogram keeps its schema, zero bucket and spans (protobuf scrape)', async () => {
    const runs = await runGo(['-job', 'go-native', '-action', 'push', '-set', 'native']);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    const [ours, upstream] = await Promise.all([body(own(), PROTOBUF_ACCEPT), body(ref(), PROTOBUF_ACCEPT)]);
    const mine = familyMessage(ours, 'go_native_seconds');
    const theirs = familyMessage(upstream, 'go_native_seconds');
    // Each run's client stamps its own created time: compare the rest field by field.
    const histogram = (family: Buffer): RawField[] => nested(nested(rawFields(family), 4), 7);
    expect(histogram(mine).filter((f) => f.field !== 15)).toEqual(histogram(theirs).filter((f) => f.field !== 15));
    expect(rawFields(mine).filter((f) => f.field !== 4)).toEqual(rawFields(theirs).filter((f) => f.field !== 4));
    // Schema 3 (factor 1.1), a zero bucket of one, positive spans and deltas, and the created time kept.
    const byField = new Map(histogram(mine).map((f) => [f.field, f.value]));
    expect(byField.get(5)).toBe(6); // zigzag of 3
    expect(byField.get(7)).toBe(1);
    expect(byField.has(12) && byField.has(13)).toBe(true);
    const seconds = nested(histogram(mine), 15).find((f) => f.field === 1)?.value;
    expect(typeof seconds === 'number' && seconds >= started - 5 && seconds <= Date.now() / 1000 + 5).toBe(true);
    expect(await seriesOf('go-native')).toEqual(
      expect.arrayContaining(['go_native_seconds_sum{instance="",job="go-native"} 4.002', 'go_native_seconds_count{instance="",job="go-native"} 5']),
    );
    await expectSameScrapes();
  });

  test('a metric name outside the legacy character set (go.batch.dotted_ratio)', async () => {
    const runs = await runGo(['-job', 'go-dotted', '-action', 'push', '-set', 'dotted']);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(await seriesOf('go-dotted')).toEqual(expect.arrayContaining(['go_batch_dotted_ratio{instance="",job="go-dotted"} 0.25']));
    await expectSameScrapes();
  });

  test('a push of what prometheus.DefaultGatherer holds (Go runtime and process metrics, beside the gateway\'s own)', async () => {
    const runs = await runGo(['-job', 'go-default', '-action', 'push', '-set', 'default']);
    expect(runs.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, '']]);
    // The same series names for the job on both (their values are each run's own).
    const names = async (g: Gateway): Promise<string[]> =>
      normaliseExposition((await body(g)).toString('utf8'))
        .filter((line) => line.includes('job="go-default"'))
        .map((line) => line.slice(0, line.indexOf('{')));
    const pushed = await names(own());
    expect(pushed).toEqual(expect.arrayContaining(['go_goroutines', 'go_gc_duration_seconds', 'process_cpu_seconds_total', 'push_time_seconds']));
    expect(pushed).toEqual(await names(ref()));
    // A family the gateway also has (process_*) is one family in every format, not two.
    for (const accept of [undefined, UTF8_TEXT_ACCEPT, 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8']) {
      const types = (await body(own(), accept)).toString('utf8').split('\n').filter((line) => line.startsWith('# TYPE '));
      expect({ accept, repeated: types.filter((t, i) => types.indexOf(t) !== i) }).toEqual({ accept, repeated: [] });
    }
    const families = delimitedMessages(await body(own(), PROTOBUF_ACCEPT)).map(familyName);
    expect(families.filter((n, i) => families.indexOf(n) !== i)).toEqual([]);
    // Its values differ between the two runs: gone again before the next step compares scrapes.
    expect((await runGo(['-job', 'go-default', '-action', 'delete'])).map((r) => r.code)).toEqual([0, 0]);
  });

  test('a refused push: Push returns the 400 with its reason, and nothing of it is stored', async () => {
    expect((await runGo(['-job', 'go-conflict-a', '-action', 'push', '-set', 'conflict-gauge'])).map((r) => r.code)).toEqual([0, 0]);
    const runs = await runGo(['-job', 'go-conflict-b', '-action', 'push', '-set', 'conflict-counter']);
    expect(runs.map((r) => r.code)).toEqual([1, 1]);
    for (const r of runs) expect(r.stderr).toContain('unexpected status code 400 while pushing to');
    expect(runs[0].stderr).toMatch(/pushed metrics are invalid or inconsistent with existing metrics: .*go_conflict/);
    expect(await seriesOf('go-conflict-b')).toEqual(['push_failure_time_seconds{instance="",job="go-conflict-b"} <time>', 'push_time_seconds{instance="",job="go-conflict-b"} 0']);
    await expectSameScrapes();
  });

  test('a grouping label name outside the legacy character set: 400 "improper label name" by default, stored with --push.enable-utf8-names', async () => {
    const args = ['-job', 'go-utf8', '-grouping', 'dotted.label=x', '-action', 'push', '-set', 'runs'];
    const refused = await runGo(args);
    expect(refused.map((r) => r.code)).toEqual([1, 1]);
    for (const r of refused) expect(r.stderr).toContain('unexpected status code 400 while pushing to');
    expect(refused[0].stderr).toContain('improper label name "dotted.label"');
    const [ours, upstream] = await Promise.all([startGateway(subject, { utf8Names: true }), startGateway('pushgateway', { utf8Names: true })]);
    try {
      const taken = await Promise.all([runGoPushClient(['-url', ours.url, ...args]), runGoPushClient(['-url', upstream.url, ...args])]);
      expect(taken.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, '']]);
      const utf8 = async (g: Gateway): Promise<string[]> => normaliseExposition((await body(g, UTF8_TEXT_ACCEPT)).toString('utf8'));
      expect(await utf8(ours)).toEqual(expect.arrayContaining(['go_batch_runs_total{"dotted.label"="x",instance="",job="go-utf8"} 1']));
      expect(await utf8(ours)).toEqual(await utf8(upstream));
    } finally {
      await Promise.all([ours.stop(), upstream.stop()]);
    }
  }, 60_000);

  test('Delete removes the group', async () => {
    const runs = await runGo([...batch, '-action', 'delete']);
    expect(runs.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, '']]);
    expect(await seriesOf('go/batch')).toEqual([]);
    await expectSameScrapes();
  });
});

/** The fields of the messages held in the given field number (one message expected). */
function nested(of: readonly RawField[], field: number): RawField[] {
  return of.filter((f) => f.field === field).flatMap((f) => (Buffer.isBuffer(f.value) ? rawFields(f.value) : []));
}

/** The name of a family message (field 1). */
function familyName(message: Buffer): string | undefined {
  const name = rawFields(message).find((f) => f.field === 1)?.value;
  return Buffer.isBuffer(name) ? name.toString('utf8') : undefined;
}

/** One family's message out of a delimited protobuf /metrics body, by name. */
function familyMessage(body: Buffer, name: string): Buffer {
  const found = delimitedMessages(body).find((message) => familyName(message) === name);
  if (found === undefined) throw new Error(`no family ${name} in the protobuf body`);
  return found;
}
