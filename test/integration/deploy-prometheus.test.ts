/**
 * End to end with a real Prometheus, configured from what the chart renders: the scrape config
 * a prometheus-operator would generate from the chart's ServiceMonitor (honor_labels: true) and
 * the chart's PrometheusRule as a rule file. Lethe runs in-process in Kubernetes mode with the
 * chart's ServiceAccount token. A Job's pod pushes; Prometheus has the series; the Job is
 * deleted; Lethe deletes the group and Prometheus' instant query no longer returns it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { delimited } from '../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../fixtures/requests/types.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { freePort } from '../harness/ports.js';
import { prometheusBinary } from '../harness/prometheus.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';
import {
  EVERYTHING_ON,
  deleteObjects,
  renderChart,
  serverSideApply,
  tokenKubeConfig,
  writeKubeConfig,
  type K8sObject,
} from './deploy-support.js';
import { serviceAccountToken } from './auth-support.js';
import {
  TIMEOUT,
  createJob,
  deleteJob,
  deletedCount,
  freshIp,
  jobBody,
  podOfJob,
  push,
  startTestLethe,
  untilReady,
  waitForEvents,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

interface Endpoint {
  readonly port: string;
  readonly path: string;
  readonly honorLabels: boolean;
}

function endpointOf(monitor: K8sObject): Endpoint {
  const spec = monitor['spec'];
  if (typeof spec !== 'object' || spec === null || !('endpoints' in spec) || !Array.isArray(spec.endpoints)) throw new Error('ServiceMonitor has no endpoints');
  const endpoint: unknown = spec.endpoints[0];
  if (typeof endpoint !== 'object' || endpoint === null) throw new Error('ServiceMonitor has no endpoint');
  const field = (name: string): unknown => (name in endpoint ? (endpoint as Record<string, unknown>)[name] : undefined);
  const port = field('port');
  const path = field('path');
  const honorLabels = field('honorLabels');
  if (typeof port !== 'string' || typeof path !== 'string' || typeof honorLabels !== 'boolean') throw new Error('unexpected ServiceMonitor endpoint');
  return { port, path, honorLabels };
}

/** The ServiceMonitor's scrape protocol and native histogram fields, as the chart's values set them. */
const SCRAPE_VALUES = [
  '--set', 'serviceMonitor.scrapeProtocols={PrometheusProto,OpenMetricsText1.0.0,PrometheusText0.0.4}',
  '--set', 'serviceMonitor.fallbackScrapeProtocol=PrometheusText0.0.4',
  '--set', 'serviceMonitor.scrapeNativeHistograms=true',
  '--set', 'serviceMonitor.scrapeClassicHistograms=true',
] as const;

/** What prometheus-operator makes of those ServiceMonitor fields in the scrape config. */
function scrapeSettingsOf(monitor: K8sObject): Record<string, unknown> {
  const spec = monitor['spec'];
  if (typeof spec !== 'object' || spec === null) throw new Error('ServiceMonitor has no spec');
  const field = (name: string): unknown => (name in spec ? (spec as Record<string, unknown>)[name] : undefined);
  const out: Record<string, unknown> = {};
  if (field('scrapeProtocols') !== undefined) out['scrape_protocols'] = field('scrapeProtocols');
  if (field('fallbackScrapeProtocol') !== undefined) out['fallback_scrape_protocol'] = field('fallbackScrapeProtocol');
  if (field('scrapeNativeHistograms') !== undefined) out['scrape_native_histograms'] = field('scrapeNativeHistograms');
  if (field('scrapeClassicHistograms') !== undefined) out['always_scrape_classic_histograms'] = field('scrapeClassicHistograms');
  return out;
}

describe('a real Prometheus scraping Lethe as the chart configures it', () => {
  let admin: KubeConfig;
  let dir: string;
  let namespace: string;
  let workload: string;
  let objects: K8sObject[];
  let lethe: TestLethe;
  let prometheus: TestProcess;
  let promUrl: string;

  beforeAll(async () => {
    admin = loadTestKubeConfig();
    dir = await mkdtemp(join(tmpdir(), 'lethe-deploy-prometheus-'));
    namespace = await createTestNamespace(admin, 'lethe-prom');
    workload = await createTestNamespace(admin, 'lethe-prom-jobs');
    const release = randomName('prom');
    objects = await renderChart(release, namespace, [...EVERYTHING_ON, '--set', 'persistence.enabled=false', ...SCRAPE_VALUES]);
    for (const object of objects.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'))) await serverSideApply(admin, object);

    // Lethe, as the chart runs it: its ServiceAccount's token, leader election on its Lease.
    const sa = objects.find((o) => o.kind === 'ServiceAccount');
    if (sa === undefined) throw new Error('no ServiceAccount rendered');
    const asLethe = tokenKubeConfig(admin, await serviceAccountToken(admin, namespace, { serviceAccount: sa.metadata.name }), 'lethe');
    lethe = await startTestLethe(await writeKubeConfig(asLethe, join(dir, 'lethe.kubeconfig')), ['--leader-election.enabled=true', `--leader-election.lease-name=${release}-lethe`], {
      leaseNamespace: namespace,
    });
    await untilReady(lethe, 60_000);

    // What prometheus-operator generates from the ServiceMonitor (its target labels included),
    // and the PrometheusRule's groups as a rule file.
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    if (monitor === undefined || rule === undefined) throw new Error('no ServiceMonitor or PrometheusRule rendered');
    const endpoint = endpointOf(monitor);
    const service = objects.find((o) => o.kind === 'Service')?.metadata.name ?? '';
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yml')],
      scrape_configs: [
        {
          job_name: `serviceMonitor/${namespace}/${monitor.metadata.name}/0`,
          honor_labels: endpoint.honorLabels,
          metrics_path: endpoint.path,
          ...scrapeSettingsOf(monitor),
          static_configs: [{ targets: [`127.0.0.1:${lethe.port}`], labels: { namespace, service, endpoint: endpoint.port, job: service } }],
        },
      ],
    };
    await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    await writeFile(join(dir, 'rules.yml'), JSON.stringify(rule['spec'], null, 2));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = new TestProcess({
      name: 'prometheus',
      command: prometheusBinary(),
      args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      logFile: join(dir, 'prometheus.log'),
    });
    await waitForHttp(prometheus, `${promUrl}/-/ready`, 60_000);
  }, TIMEOUT);

  afterAll(async () => {
    await prometheus.stop();
    await lethe.stop();
    await deleteObjects(admin, objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
    await deleteTestNamespace(admin, namespace);
    await deleteTestNamespace(admin, workload);
    await rm(dir, { recursive: true, force: true });
  }, TIMEOUT);

  async function query(q: string): Promise<Sample[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const answer = (await res.json()) as { status: string; data: { result: Sample[] } };
    expect(answer.status).toBe('success');
    return answer.data.result;
  }

  test('a Job pod pushes, Prometheus records it, the Job is deleted, and the series goes stale', async () => {
    const job = await createJob(admin, workload, jobBody('nightly-backup'));
    const ip = freshIp();
    await podOfJob(admin, workload, job, ip, lethe);
    const pushed = '# TYPE backup_last_success_seconds gauge\nbackup_last_success_seconds{kind="full"} 1700000000\n';
    expect(await push(lethe.port, `nightly-backup/instance/${workload}`, pushed, { localAddress: ip })).toBe(200);
    await waitForGroup(lethe, workload, (g) => g.owner?.kind === 'Job');

    const series = await eventually(
      async () => {
        const result = await query(`backup_last_success_seconds{instance="${workload}"}`);
        if (result.length === 0) throw new Error('not scraped yet');
        return result;
      },
      { timeout: 30_000, interval: 250 },
    );
    // honor_labels: the pushed job and instance win over the target's.
    expect(series).toEqual([
      {
        metric: { __name__: 'backup_last_success_seconds', job: 'nightly-backup', instance: workload, kind: 'full', namespace, service: expect.any(String), endpoint: 'http' },
        value: [expect.any(Number), '1700000000'],
      },
    ]);

    const before = await deletedCount(lethe, 'job-deleted');
    await deleteJob(admin, workload, 'nightly-backup');
    await eventually(async () => (await query(`backup_last_success_seconds{instance="${workload}"}`)).length === 0, { timeout: 30_000, interval: 250 });
    expect(await query(`push_time_seconds{instance="${workload}"}`)).toEqual([]);
    expect(await deletedCount(lethe, 'job-deleted')).toBe(before + 1);
    expect(await waitForEvents(admin, workload)).toEqual([['job-deleted', 'Job/nightly-backup', expect.stringContaining('was deleted')]]);
    // Lethe's own counter, scraped too, says why.
    await eventually(async () => (await query('lethe_groups_deleted_total{reason="job-deleted"} > 0')).length === 1, { timeout: 10_000, interval: 250 });
  }, TIMEOUT);

  test("the ServiceMonitor's protocols reach Prometheus, which scrapes a native histogram over protobuf", async () => {
    const status = (await (await fetch(`${promUrl}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    expect(status.data.yaml).toMatch(/scrape_protocols:\n\s+- PrometheusProto\n\s+- OpenMetricsText1\.0\.0\n\s+- PrometheusText0\.0\.4\n/);
    expect(status.data.yaml).toMatch(/scrape_native_histograms: true/);
    const native = delimited([
      {
        name: 'restore_duration_seconds',
        type: 'HISTOGRAM',
        metrics: [{ histogram: { count: 3, sum: 4.5, buckets: [], native: { schema: 2, zeroThreshold: 1e-128, zeroCount: 0, positiveSpans: [[1, 2]], positiveDeltas: [1, 1] } } }],
      },
    ]);
    const res = await fetch(`http://127.0.0.1:${lethe.port}/metrics/job/restore/instance/${workload}`, { method: 'PUT', headers: { 'Content-Type': PROTOBUF_CONTENT_TYPE }, body: native });
    expect(res.status).toBe(200);
    const count = await eventually(
      async () => {
        const result = await query(`histogram_count(restore_duration_seconds{instance="${workload}"})`);
        if (result.length === 0) throw new Error('not scraped yet');
        return result;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(count[0]?.value[1]).toBe('3');
  }, TIMEOUT);

  test("the chart's alert rules load, and LetheBatchJobFailed fires when a push is refused", async () => {
    const rules = await (await fetch(`${promUrl}/api/v1/rules`)).json() as { data: { groups: { name: string; rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.health]));
    expect(loaded).toEqual([
      ['LetheBatchJobOverdue', 'ok'],
      ['LetheBatchJobFailed', 'ok'],
      ['LetheDeletionsBlocked', 'ok'],
      ['LethePersistenceErrors', 'ok'],
      ['LetheMemoryFull', 'ok'],
      ['LetheMemoryNearlyFull', 'ok'],
    ]);
    // LetheMemoryNearlyFull's expression pairs Lethe's own two series as Prometheus scrapes them:
    // one share of the guard's line, for this target.
    const shares = await eventually(
      async () => {
        const found = await query('min_over_time(nodejs_heap_size_used_bytes[15m]) / lethe_heap_guard_bytes');
        if (found.length === 0) throw new Error('no share yet');
        return found;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(shares.map((s) => s.metric)).toEqual([expect.objectContaining({ namespace, instance: `127.0.0.1:${lethe.port}` })]);
    const share = Number(shares[0]?.value[1]);
    expect(share > 0 && share < 0.85).toBe(true);

    // `shared` is a gauge in one group, so a counter of that name elsewhere is refused (and the
    // refusal is recorded in push_failure_time_seconds).
    expect(await push(lethe.port, `typed/instance/${workload}`, '# TYPE shared_total gauge\nshared_total 1\n')).toBe(200);
    expect(await push(lethe.port, `clashing/instance/${workload}`, '# TYPE shared_total counter\nshared_total 1\n')).toBe(400);
    const alert = await eventually(
      async () => {
        const alerts = await query(`ALERTS{alertname="LetheBatchJobFailed", alertstate="firing", instance="${workload}"}`);
        if (alerts.length === 0) throw new Error('not firing yet');
        return alerts;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(alert.map((a) => a.metric)).toEqual([expect.objectContaining({ job: 'clashing', instance: workload, severity: 'warning' })]);
    expect(await query(`ALERTS{alertname="LetheBatchJobFailed", job="typed"}`)).toEqual([]);
  }, TIMEOUT);
});
