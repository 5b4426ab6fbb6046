/**
 * A real Prometheus 3 (built from its Go module, tools/versions.env) scrapes Lethe with its
 * defaults plus `scrape_native_histograms: true` and exemplar storage on, and once more per scrape
 * protocol. A push shaped like the Go client's (delimited protobuf: a native histogram, a classic
 * histogram with an exemplar, a counter with an exemplar and a created timestamp) must be
 * queryable; every protocol must ingest the same samples; a UTF-8 name must be queryable under its
 * own name where the scrape allows UTF-8. Debian's Prometheus 2.42 adds the older-Prometheus case:
 * it asks for OpenMetrics without `escaping=`, so it gets escaped names.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../harness/eventually.js';
import { promQuery, startPrometheus, toolVersion, type PromSample, type RunningPrometheus } from '../harness/prometheus.js';
import { delimited } from '../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../fixtures/requests/types.js';
import { startGateway, type Gateway } from './gateways.js';

const PROTOCOLS = ['OpenMetricsText1.0.0', 'PrometheusText1.0.0', 'PrometheusText0.0.4', 'PrometheusProto'] as const;
const WAIT = { timeout: 60_000, interval: 500 };

/** What client_golang's push sends for a registry with these metrics (created timestamps an hour ago). */
function goClientPush(nowS: number): Buffer {
  const created = { seconds: nowS - 3600, nanos: 125_000_000 };
  return delimited([
    {
      name: 'jobs_processed_total',
      help: 'Jobs processed.',
      type: 'COUNTER',
      metrics: [{ labels: { queue: 'default' }, counter: 42, exemplar: { labels: { trace_id: '4bf92f3577b34da6' }, value: 1, timestamp: { seconds: nowS - 5 } }, created }],
    },
    {
      name: 'task_duration_seconds',
      help: 'Task duration (native).',
      type: 'HISTOGRAM',
      metrics: [
        {
          histogram: { count: 10, sum: 12.5, buckets: [], native: { schema: 3, zeroThreshold: 2.938735877055719e-39, zeroCount: 1, positiveSpans: [[0, 3]], positiveDeltas: [4, -1, -1] } },
          created,
        },
      ],
    },
    {
      name: 'payload_size_bytes',
      help: 'Payload size (classic).',
      type: 'HISTOGRAM',
      metrics: [
        {
          histogram: {
            count: 9,
            sum: 12000,
            buckets: [
              [100, 3],
              [1000, 7],
              [10000, 9],
            ],
            bucketExemplars: [undefined, { labels: { trace_id: 'a1b2c3d4e5f60718' }, value: 640, timestamp: { seconds: nowS - 5 } }, undefined],
          },
          created,
        },
      ],
    },
    { name: 'queue_depth', help: 'Queue depth.', type: 'GAUGE', metrics: [{ labels: { queue: 'default' }, gauge: 7 }] },
  ]);
}

const withoutProtocol = (s: PromSample): string => {
  const { protocol: _p, ...labels } = s.metric;
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
};

describe('Prometheus 3 scrapes Lethe', () => {
  let dir: string;
  let lethe: Gateway;
  let prometheus: RunningPrometheus;
  let pushedAt: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-prometheus-'));
    lethe = await startGateway('lethe', { utf8Names: true });
    const target = `127.0.0.1:${lethe.port}`;
    // What a ServiceMonitor with honorLabels: true generates, once with Prometheus 3's defaults and
    // native histograms, once per protocol (a target label keeps the copies apart).
    prometheus = await startPrometheus({
      dir,
      config: {
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        storage: { exemplars: { max_exemplars: 10000 } },
        scrape_configs: [
          { job_name: 'lethe', honor_labels: true, scrape_native_histograms: true, static_configs: [{ targets: [target], labels: { protocol: 'default' } }] },
          ...PROTOCOLS.map((p) => ({ job_name: `lethe-${p}`, honor_labels: true, scrape_protocols: [p], static_configs: [{ targets: [target], labels: { protocol: p } }] })),
        ],
      },
      extraArgs: ['--enable-feature=exemplar-storage'],
    });
    pushedAt = Math.floor(Date.now() / 1000);
    const go = await fetch(`${lethe.url}/metrics/job/e2e-batch/instance/worker-1`, { method: 'PUT', headers: { 'Content-Type': PROTOBUF_CONTENT_TYPE }, body: goClientPush(pushedAt) });
    expect(go.status).toBe(200);
    const utf8 = await fetch(`${lethe.url}/metrics/job/e2e-utf8/U__k8s_2e_cluster/east`, { method: 'PUT', body: '# TYPE "app.jobs.processed" counter\n{"app.jobs.processed",queue="default"} 5\n' });
    expect(utf8.status).toBe(200);
    await eventually(async () => {
      const scraped = await promQuery(prometheus.url, 'count by (protocol) (queue_depth{job="e2e-batch"})');
      if (scraped.length !== PROTOCOLS.length + 1) throw new Error(`scraped by ${scraped.length} jobs so far`);
    }, WAIT);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await lethe?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test(`the Prometheus under test is ${toolVersion('PROMETHEUS_VERSION')}`, async () => {
    const res = await fetch(`${prometheus.url}/api/v1/status/buildinfo`);
    const body = (await res.json()) as { data: { version: string } };
    expect(body.data.version).toBe(toolVersion('PROMETHEUS_VERSION'));
  });

  test('the native histogram is a native histogram: histogram_count and histogram_sum', async () => {
    const [count] = await promQuery(prometheus.url, 'histogram_count(task_duration_seconds{protocol="default"})');
    const [sum] = await promQuery(prometheus.url, 'histogram_sum(task_duration_seconds{protocol="default"})');
    expect([count?.value?.[1], sum?.value?.[1]]).toEqual(['10', '12.5']);
    const [raw] = await promQuery(prometheus.url, 'task_duration_seconds{protocol="default"}');
    expect(raw?.histogram?.[1].count).toBe('10');
  });

  test('the classic histogram has its _bucket series', async () => {
    const buckets = await promQuery(prometheus.url, 'payload_size_bytes_bucket{protocol="default"}');
    expect(Object.fromEntries(buckets.map((b) => [b.metric['le'], b.value?.[1]]))).toEqual({ '100.0': '3', '1000.0': '7', '10000.0': '9', '+Inf': '9' });
  });

  test('exemplars come through protobuf and OpenMetrics', async () => {
    const from = pushedAt - 60;
    const to = Math.ceil(Date.now() / 1000) + 60;
    const exemplars = async (query: string): Promise<{ seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[]> => {
      const res = await fetch(`${prometheus.url}/api/v1/query_exemplars?query=${encodeURIComponent(query)}&start=${from}&end=${to}`);
      const body = (await res.json()) as { status: string; data: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[] };
      expect(body.status).toBe('success');
      return body.data;
    };
    const counter = await eventually(async () => {
      const found = await exemplars('jobs_processed_total');
      const protocols = found.map((e) => e.seriesLabels['protocol']).sort();
      if (protocols.length < 3) throw new Error(`exemplars from ${protocols.join(', ')}`);
      return found;
    }, WAIT);
    expect(counter.map((e) => e.seriesLabels['protocol']).sort()).toEqual(['OpenMetricsText1.0.0', 'PrometheusProto', 'default']);
    for (const e of counter) expect(e.exemplars[0]).toMatchObject({ labels: { trace_id: '4bf92f3577b34da6' }, value: '1' });
    const bucket = await exemplars('payload_size_bytes_bucket{protocol="OpenMetricsText1.0.0"}');
    expect(bucket.map((e) => [e.seriesLabels['le'], e.exemplars[0]?.labels['trace_id']])).toEqual([['1000.0', 'a1b2c3d4e5f60718']]);
  });

  test('the created timestamp comes through OpenMetrics as _created', async () => {
    const [created] = await promQuery(prometheus.url, 'jobs_processed_created{protocol="OpenMetricsText1.0.0"}');
    expect(Number(created?.value?.[1])).toBeCloseTo(pushedAt - 3600 + 0.125, 3);
  });

  test('every scrape protocol ingests the same samples', async () => {
    const byProtocol = new Map<string, Map<string, string | undefined>>();
    for (const protocol of PROTOCOLS) {
      const series = await promQuery(prometheus.url, `{job="e2e-batch",protocol="${protocol}",__name__!~".*_created"}`);
      byProtocol.set(protocol, new Map(series.map((s) => [withoutProtocol(s), s.value?.[1]])));
    }
    const reference = byProtocol.get('PrometheusText0.0.4');
    expect(reference?.size).toBeGreaterThanOrEqual(13);
    for (const protocol of PROTOCOLS) expect({ protocol, samples: Object.fromEntries(byProtocol.get(protocol) ?? []) }).toEqual({ protocol, samples: Object.fromEntries(reference ?? []) });
  });

  test('a UTF-8 name is queryable under its own name where the scrape allows UTF-8, escaped elsewhere', async () => {
    for (const protocol of ['OpenMetricsText1.0.0', 'PrometheusText1.0.0']) {
      const [series] = await promQuery(prometheus.url, `{"app.jobs.processed", protocol="${protocol}"}`);
      expect({ protocol, metric: series?.metric, value: series?.value?.[1] }).toEqual({
        protocol,
        // Prometheus drops the empty instance label.
        metric: { __name__: 'app.jobs.processed', job: 'e2e-utf8', 'k8s.cluster': 'east', queue: 'default', protocol },
        value: '5',
      });
    }
    for (const protocol of ['PrometheusText0.0.4', 'PrometheusProto', 'default']) {
      const [series] = await promQuery(prometheus.url, `app_jobs_processed{protocol="${protocol}"}`);
      expect({ protocol, cluster: series?.metric['k8s_cluster'], value: series?.value?.[1] }).toEqual({ protocol, cluster: 'east', value: '5' });
    }
  });

  test('a deleted group goes stale', async () => {
    expect((await fetch(`${lethe.url}/metrics/job/e2e-utf8/U__k8s_2e_cluster/east`, { method: 'DELETE' })).status).toBe(202);
    await eventually(async () => {
      if ((await promQuery(prometheus.url, '{job="e2e-utf8"}')).length !== 0) throw new Error('still present');
    }, WAIT);
    expect(await promQuery(prometheus.url, '{"app.jobs.processed"}')).toEqual([]);
    expect(await promQuery(prometheus.url, 'queue_depth{job="e2e-batch"}')).toHaveLength(PROTOCOLS.length + 1);
  });
});

describe('an older Prometheus (Debian 2.42) scrapes Lethe', () => {
  let dir: string;
  let lethe: Gateway;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-prometheus2-'));
    lethe = await startGateway('lethe', { utf8Names: true });
    prometheus = await startPrometheus({
      dir,
      older: true,
      config: { global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: [{ job_name: 'lethe', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${lethe.port}`] }] }] },
    });
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await lethe?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('it gets OpenMetrics with escaped names and ingests counters, histograms and UTF-8 names', async () => {
    const push = await fetch(`${lethe.url}/metrics/job/old/U__k8s_2e_cluster/east`, {
      method: 'PUT',
      body: '# TYPE req_total counter\nreq_total 3\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1.5\nh_count 2\n{"app.jobs"} 1\n',
    });
    expect(push.status).toBe(200);
    const series = await eventually(async () => {
      const found = await promQuery(prometheus.url, '{job="old",__name__!~"push_.*"}');
      if (found.length < 6) throw new Error(`${found.length} series so far`);
      return found;
    }, WAIT);
    // OpenMetrics writes le="1.0"; the escaped UTF-8 names arrive as legacy names.
    expect(Object.fromEntries(series.map((s) => [`${s.metric['__name__'] ?? ''}${s.metric['le'] === undefined ? '' : `{le="${s.metric['le']}"}`} ${s.metric['k8s_cluster'] ?? ''}`, s.value?.[1]]))).toEqual({
      'app_jobs east': '1',
      'h_bucket{le="1.0"} east': '1',
      'h_bucket{le="+Inf"} east': '2',
      'h_count east': '2',
      'h_sum east': '1.5',
      'req_total east': '3',
    });
    expect(await promQuery(prometheus.url, 'push_time_seconds{job="old",k8s_cluster="east"}')).toHaveLength(1);
  });
});
