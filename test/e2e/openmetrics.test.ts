/**
 * Lethe's OpenMetrics answer read by another implementation: the Python client's OpenMetrics
 * parser (prometheus_client.openmetrics.parser, Debian's python3-prometheus-client), which checks
 * the specification's rules (family names, suffixes per type, bucket order and counts, exemplar
 * placement and size, `# EOF`). Lethe's own metrics are part of the scrape and are checked too.
 * The Debian release predates quoted UTF-8 names, so the scrape asks for escaped names. Start
 * timestamps and exemplars survive a restart and come out in OpenMetrics and protobuf again.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { delimited, decodeDelimited } from '../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../fixtures/requests/types.js';
import { bodyText, rawRequest, startGateway, type Gateway } from './gateways.js';

const execFileAsync = promisify(execFile);
const OPENMETRICS = 'application/openmetrics-text;version=1.0.0';

/** The parser's view of a scrape: families with their type and samples (name, labels, value, exemplar). */
const PARSE = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value,
         "exemplar": None if s.exemplar is None else {"labels": s.exemplar.labels, "value": s.exemplar.value, "timestamp": None if s.exemplar.timestamp is None else float(s.exemplar.timestamp)}}
        for s in f.samples]})
json.dump(out, sys.stdout)
`;

interface ParsedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly exemplar: { labels: Record<string, string>; value: number; timestamp: number | null } | null;
}
interface ParsedFamily {
  readonly name: string;
  readonly type: string;
  readonly samples: readonly ParsedSample[];
}

async function pythonParse(text: string): Promise<ParsedFamily[]> {
  const child = execFileAsync('/usr/bin/python3', ['-c', PARSE], { maxBuffer: 64 * 1024 * 1024 });
  child.child.stdin?.end(text);
  const { stdout } = await child;
  return JSON.parse(stdout) as ParsedFamily[];
}

const nowS = Math.floor(Date.now() / 1000);

/** A Go-client-shaped protobuf push: exemplars, created timestamps, a native and a classic histogram. */
const PROTOBUF_PUSH = delimited([
  {
    name: 'jobs_processed_total',
    help: 'Jobs "processed".',
    type: 'COUNTER',
    metrics: [
      { labels: { queue: 'default' }, counter: 42, exemplar: { labels: { trace_id: '4bf92f3577b34da6' }, value: 1, timestamp: { seconds: nowS, nanos: 500_000_000 } }, created: { seconds: nowS - 60 } },
      { labels: { queue: 'slow' }, counter: 1, created: { seconds: nowS - 30 } },
    ],
  },
  {
    name: 'task_duration_seconds',
    type: 'HISTOGRAM',
    metrics: [{ histogram: { count: 10, sum: 12.5, buckets: [], native: { schema: 3, zeroThreshold: 1e-128, zeroCount: 1, positiveSpans: [[0, 3]], positiveDeltas: [4, -1, -1] } }, created: { seconds: nowS - 60 } }],
  },
  {
    name: 'payload_size_bytes',
    type: 'HISTOGRAM',
    metrics: [
      {
        histogram: { count: 9, sum: 12000, buckets: [[100, 3], [1000, 7], [10000, 9]], bucketExemplars: [undefined, { labels: { trace_id: 'a1b2' }, value: 640 }, undefined] },
        created: { seconds: nowS - 60 },
      },
    ],
  },
  { name: 'rpc_latency_seconds', type: 'SUMMARY', metrics: [{ summary: { count: 4, sum: 2, quantiles: [[0.5, 0.4], [0.99, 1.2]] }, created: { seconds: nowS - 60 } }] },
  { name: 'app.queue.depth', type: 'GAUGE', metrics: [{ labels: { 'shard.id': '1' }, gauge: 7 }] },
]);

/** A text push as Python's client writes it for an Info and an Enum metric (gauges on the wire), and an untyped one. */
const TEXT_PUSH =
  '# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version="1.2.3"} 1\n' +
  '# TYPE state gauge\nstate{state="running"} 1\nstate{state="stopped"} 0\n' +
  'loose_value 3.25\n' +
  '# TYPE temperature_celsius gauge\ntemperature_celsius{room="a\\\\b\\"c\\nd"} -0.5\n';

describe('the OpenMetrics output, read by the Python client\'s OpenMetrics parser', () => {
  let dir: string;
  let lethe: Gateway;
  let persistenceFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-openmetrics-'));
    persistenceFile = join(dir, 'lethe.data');
    lethe = await startGateway('lethe', { persistenceFile });
    const pb = await rawRequest(lethe, { method: 'PUT', path: '/metrics/job/batch/instance/w1', headers: { 'Content-Type': PROTOBUF_CONTENT_TYPE }, body: PROTOBUF_PUSH });
    expect(pb.status).toBe(200);
    const text = await rawRequest(lethe, { method: 'PUT', path: '/metrics/job/python', body: Buffer.from(TEXT_PUSH) });
    expect(text.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await lethe?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function scrape(accept: string): Promise<{ contentType: string; text: string; body: Buffer }> {
    const res = await rawRequest(lethe, { method: 'GET', path: '/metrics', headers: { Accept: accept } });
    expect(res.status).toBe(200);
    return { contentType: res.headers['content-type'] ?? '', text: bodyText(res), body: res.body };
  }

  const family = (families: readonly ParsedFamily[], name: string): ParsedFamily | undefined => families.find((f) => f.name === name);
  const samplesOf = (f: ParsedFamily | undefined): string[] =>
    (f?.samples ?? []).map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}${s.exemplar === null ? '' : ` # ${JSON.stringify(s.exemplar)}`}`);

  async function checkParsed(): Promise<void> {
    const { contentType, text } = await scrape(OPENMETRICS);
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores');
    const families = await pythonParse(text);
    const base = { instance: 'w1', job: 'batch' };

    expect(family(families, 'jobs_processed')?.type).toBe('counter');
    expect(samplesOf(family(families, 'jobs_processed'))).toEqual([
      `jobs_processed_total${JSON.stringify({ ...base, queue: 'default' })} 42 # ${JSON.stringify({ labels: { trace_id: '4bf92f3577b34da6' }, value: 1, timestamp: nowS + 0.5 })}`,
      `jobs_processed_created${JSON.stringify({ ...base, queue: 'default' })} ${nowS - 60}`,
      `jobs_processed_total${JSON.stringify({ ...base, queue: 'slow' })} 1`,
      `jobs_processed_created${JSON.stringify({ ...base, queue: 'slow' })} ${nowS - 30}`,
    ]);
    expect(family(families, 'task_duration_seconds')?.type).toBe('histogram');
    expect(samplesOf(family(families, 'task_duration_seconds'))).toEqual([
      `task_duration_seconds_bucket${JSON.stringify({ ...base, le: '+Inf' })} 10`,
      `task_duration_seconds_sum${JSON.stringify(base)} 12.5`,
      `task_duration_seconds_count${JSON.stringify(base)} 10`,
      `task_duration_seconds_created${JSON.stringify(base)} ${nowS - 60}`,
    ]);
    expect(samplesOf(family(families, 'payload_size_bytes'))).toEqual([
      `payload_size_bytes_bucket${JSON.stringify({ ...base, le: '100.0' })} 3`,
      `payload_size_bytes_bucket${JSON.stringify({ ...base, le: '1000.0' })} 7 # ${JSON.stringify({ labels: { trace_id: 'a1b2' }, value: 640, timestamp: null })}`,
      `payload_size_bytes_bucket${JSON.stringify({ ...base, le: '10000.0' })} 9`,
      `payload_size_bytes_bucket${JSON.stringify({ ...base, le: '+Inf' })} 9`,
      `payload_size_bytes_sum${JSON.stringify(base)} 12000`,
      `payload_size_bytes_count${JSON.stringify(base)} 9`,
      `payload_size_bytes_created${JSON.stringify(base)} ${nowS - 60}`,
    ]);
    expect(family(families, 'rpc_latency_seconds')?.type).toBe('summary');
    expect(samplesOf(family(families, 'rpc_latency_seconds'))).toHaveLength(5);
    expect(samplesOf(family(families, 'app_queue_depth'))).toEqual([`app_queue_depth${JSON.stringify({ ...base, shard_id: '1' })} 7`]);
    expect(samplesOf(family(families, 'loose_value'))).toEqual([`loose_value${JSON.stringify({ instance: '', job: 'python' })} 3.25`]);
    expect(family(families, 'loose_value')?.type).toBe('unknown');
    expect(samplesOf(family(families, 'temperature_celsius'))).toEqual([`temperature_celsius${JSON.stringify({ instance: '', job: 'python', room: 'a\\b"c\nd' })} -0.5`]);
    // Lethe's own families parse too.
    expect(families.some((f) => f.name.startsWith('lethe_'))).toBe(true);
    expect(families.some((f) => f.name.startsWith('process_'))).toBe(true);
  }

  test('every family and sample parses, with exemplars and _created where pushed', async () => {
    await checkParsed();
  });

  test('OpenMetrics 0.0.1 is the same text', async () => {
    const families = await pythonParse((await scrape('application/openmetrics-text;version=0.0.1')).text);
    expect(samplesOf(family(families, 'payload_size_bytes'))).toHaveLength(7);
  });

  test('after a restart, created timestamps and exemplars come out of OpenMetrics and protobuf again', async () => {
    await lethe.stop();
    lethe = await startGateway('lethe', { persistenceFile });
    await checkParsed();
    const { body } = await scrape('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited');
    const counter = decodeDelimited(body).find((f) => f.name === 'jobs_processed_total');
    expect(counter?.metrics[0]?.labels).toEqual([['instance', 'w1'], ['job', 'batch'], ['queue', 'default']]);
    // The kept bytes are re-emitted: the exemplar's trace id and the created timestamp are in the message.
    const raw = Buffer.from(body).toString('latin1');
    expect(raw).toContain('4bf92f3577b34da6');
    expect(raw).toContain('a1b2');
  }, 60_000);
});
