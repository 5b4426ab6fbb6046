import { describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import {
  createKubeMetrics,
  createLeaderMetrics,
  createLifecycleMetrics,
  createMetrics,
  createOwnerKindMetrics,
} from '../../../src/observability/index.js';

describe("Lethe's own metrics", () => {
  // Every scrape renders them with the stored groups into one string: a single character beyond
  // Latin-1 in a help text makes that string two bytes per character, and every scrape about
  // twice as slow (found by the benchmark's scrape rows).
  test('help texts are Latin-1, so a scrape stays a one-byte string', () => {
    const registry = new Registry();
    createMetrics(registry, 'test');
    createLifecycleMetrics(registry);
    createKubeMetrics(registry);
    createLeaderMetrics(registry);
    createOwnerKindMetrics(registry);
    const wide = registry
      .getMetricsAsArray()
      .filter((metric) => [...metric.help].some((c) => (c.codePointAt(0) ?? 0) > 0xff))
      .map((metric) => metric.name);
    expect(wide).toEqual([]);
  });
});
