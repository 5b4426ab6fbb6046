import { describe, expect, test } from '@jest/globals';
import { Registry, Summary } from 'prom-client';
import { parseText } from '../../../src/exposition/index.js';
import type { MetricFamily } from '../../../src/model/index.js';
import {
  createKubeMetrics,
  createLeaderMetrics,
  createLifecycleMetrics,
  createMetrics,
  createOwnerKindMetrics,
} from '../../../src/observability/index.js';
import { ownFamilies } from '../../../src/wiring/own-metrics.js';

/** Every metric Lethe registers, with values that exercise the text format's corners. */
function populated(): Registry {
  const registry = new Registry();
  const metrics = createMetrics(registry, 'v1.2.3');
  const lifecycle = createLifecycleMetrics(registry);
  const kube = createKubeMetrics(registry);
  createLeaderMetrics(registry).leader.set(1);
  createOwnerKindMetrics(registry).state.set({ resource: 'workflows.argoproj.io', role: 'run', state: 'watching' }, 1);
  metrics.httpRequests.inc({ handler: 'push', code: '200', method: 'put' }, 3);
  metrics.httpRequests.inc({ handler: 'metrics', code: '200', method: 'get' });
  metrics.pushesRejected.inc({ reason: 'back\\slash "quoted"\nnew line ünïcödé' });
  for (const seconds of [0.0001, 0.003, 0.2, 7, 100]) metrics.pushDuration.observe({ method: 'put' }, seconds);
  metrics.pushDuration.observe({ method: 'post' }, 0.01);
  metrics.persistenceFlushDuration.observe(0.002);
  metrics.openConnections.set(-0);
  metrics.persistenceFailing.set(Number.NaN);
  lifecycle.pendingDeletions.set(Number.POSITIVE_INFINITY);
  lifecycle.groupOverdue.set({ namespace: 'ns', owner_kind: 'CronJob', owner_name: 'c', grouping_key: 'job="x"' }, Number.NEGATIVE_INFINITY);
  lifecycle.blocked.set({ gate: 'leader' }, 1);
  kube.forbidden.set({ verb: 'get', resource: 'leases.coordination.k8s.io', resource_namespace: 'lethe' }, 1);
  kube.tokenReviews.inc({ result: 'cached' }, 1e21);
  // Lethe has no summary; one here keeps the conversion honest for them too.
  const summary = new Summary({ name: 'test_summary_seconds', help: 'A summary.', labelNames: ['op'], percentiles: [0.5, 0.99], registers: [registry] });
  for (let i = 1; i <= 10; i++) summary.observe({ op: 'x' }, i / 10);
  return registry;
}

/** The same families with every number set to 0 (default metrics move between two reads). */
function shapes(families: readonly MetricFamily[]): unknown {
  return JSON.parse(JSON.stringify(families, (k, v: unknown) => (typeof v === 'number' && k !== 'upperBound' && k !== 'quantile' ? 0 : v)));
}

describe("Lethe's own metrics as families, without a text round trip", () => {
  test("Lethe's metrics come out exactly as parsing prom-client's text gives them", async () => {
    const registry = populated();
    for (const metric of registry.getMetricsAsArray()) {
      if (!metric.name.startsWith('lethe_') && !metric.name.startsWith('test_')) registry.removeSingleMetric(metric.name);
    }
    const direct = await ownFamilies(registry);
    const parsed = parseText(Buffer.from(await registry.metrics()));
    expect(direct).toEqual(parsed);
    // Families without samples are left out as the parse leaves them out; the corners are there.
    const names = direct.map((f) => f.name);
    expect(names).not.toContain('lethe_auth_failures_total');
    expect(names).toEqual(expect.arrayContaining(['lethe_http_push_duration_seconds', 'test_summary_seconds', 'lethe_leader']));
    expect(Object.is(direct.find((f) => f.name === 'lethe_http_open_connections')?.metrics[0]?.value, 0)).toBe(true);
  });

  test("Node.js' default metrics have the same names, types, labels and buckets either way", async () => {
    const registry = populated();
    const direct = await ownFamilies(registry);
    const parsed = parseText(Buffer.from(await registry.metrics()));
    expect(shapes(direct)).toEqual(shapes(parsed));
    expect(direct.some((f) => f.name === 'nodejs_version_info')).toBe(true);
  });

  test('the store gauges are set in collect: every gathering reads the store of that moment', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry, 't');
    const store = { groupCount: 2, seriesCount: 9, excludedCount: 1 };
    metrics.observeStore(store);
    const value = (families: MetricFamily[], name: string): number | undefined => families.find((f) => f.name === name)?.metrics[0]?.value;
    let families = await ownFamilies(registry);
    expect([value(families, 'lethe_groups'), value(families, 'lethe_series'), value(families, 'lethe_scrape_excluded_groups')]).toEqual([2, 9, 1]);
    Object.assign(store, { groupCount: 5, seriesCount: 20, excludedCount: 0 });
    families = await ownFamilies(registry);
    expect([value(families, 'lethe_groups'), value(families, 'lethe_series'), value(families, 'lethe_scrape_excluded_groups')]).toEqual([5, 20, 0]);
  });
});
