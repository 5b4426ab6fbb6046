/**
 * Which requests end a group's scrape grace: only a scraper's GET of the metrics path, answered
 * completely (a response cut off mid-way is in test/integration/lifecycle-scrape.test.ts).
 */
import { describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { loadConfig } from '../../../src/config/index.js';
import { isScraper } from '../../../src/gateway/routes/scrape.js';
import { groupingKeyOf } from '../../../src/model/index.js';
import type { LocalGroupStore } from '../../../src/store/index.js';
import { buildApp } from '../../harness/app.js';
import { FakeClock } from '../../harness/builders.js';
import { capturingLogger } from '../../harness/logger.js';
import { BROWSER_HEADERS, CURL_HEADERS, PROMETHEUS_ACCEPT, PROMETHEUS_HEADERS } from '../../harness/scrapers.js';

const T0 = 1_700_000_000_000;

interface Made {
  readonly app: Express;
  readonly store: LocalGroupStore;
  readonly registry: Registry;
  readonly logs: Record<string, unknown>[];
}

async function makeApp(argv: string[] = []): Promise<Made> {
  const logs = capturingLogger('info');
  const { app, store, registry } = await buildApp({ argv, clock: new FakeClock(T0), logger: logs.logger });
  return { app, store, registry, logs: logs.lines };
}

const KEY = groupingKeyOf({ job: 'backup', instance: 'db1' });

describe('isScraper', () => {
  const prometheus = /^Prometheus\//;
  test.each([
    ["Prometheus 3's Accept", { accept: PROMETHEUS_ACCEPT }, true],
    [
      "Prometheus 2's Accept",
      { accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
      true,
    ],
    [
      "Prometheus' protobuf Accept (native histograms)",
      { accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5,*/*;q=0.1' },
      true,
    ],
    ['text/plain with a version (vmagent)', { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' }, true],
    ["Prometheus' User-Agent with curl's Accept", { accept: '*/*', 'user-agent': 'Prometheus/2.42.0' }, true],
    ['curl', CURL_HEADERS, false],
    ['a browser opening /metrics', BROWSER_HEADERS, false],
    ["the web page's API call", { accept: 'application/json' }, false],
    ['no headers at all', {}, false],
    ['plain text/plain without a version', { accept: 'text/plain' }, false],
    ['protobuf of another message', { accept: 'application/vnd.google.protobuf;proto=other.Message' }, false],
  ])('%s', (_name, headers, expected) => {
    expect(isScraper(headers, prometheus)).toBe(expected);
  });

  test('the User-Agent pattern is the flag: another scraper can be named, and empty means the Accept only', () => {
    expect(isScraper({ accept: '*/*', 'user-agent': 'my-scraper/1.0' }, /^my-scraper\//)).toBe(true);
    expect(isScraper({ accept: '*/*', 'user-agent': 'Prometheus/3.16.0' }, undefined)).toBe(false);
    expect(isScraper({ accept: PROMETHEUS_ACCEPT, 'user-agent': 'anything' }, undefined)).toBe(true);
  });
});

describe('scrape confirmation through the gateway', () => {
  test.each([
    ['curl', '/metrics', CURL_HEADERS],
    ['a browser opening /metrics', '/metrics', BROWSER_HEADERS],
    ['the web page', '/', BROWSER_HEADERS],
    ["the web page's data", '/api/v1/groups', { accept: 'application/json' }],
    ['the Pushgateway API', '/api/v1/metrics', PROMETHEUS_HEADERS],
    ['the status API', '/api/v1/status', PROMETHEUS_HEADERS],
  ])('%s does not mark a group scraped', async (_name, path, headers) => {
    const { app, store } = await makeApp();
    await request(app).put('/metrics/job/backup/instance/db1').send('x 1\n').expect(200);
    await request(app).get(path).set(headers).expect(200);
    expect(store.get(KEY)?.scrapedAt).toBeUndefined();
  });

  test.each([
    ['text', PROMETHEUS_HEADERS],
    ['protobuf', { accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited' }],
    ['gzip', { ...PROMETHEUS_HEADERS, 'accept-encoding': 'gzip' }],
  ])("Prometheus' complete scrape (%s) marks it at the time of the rendering", async (_name, headers) => {
    const { app, store } = await makeApp();
    await request(app).put('/metrics/job/backup/instance/db1').send('x 1\n').expect(200);
    await request(app).get('/metrics').set(headers).expect(200);
    expect(store.get(KEY)?.scrapedAt).toBe(T0);
  });

  test('--lifecycle.scraper-user-agent names the scraper; empty leaves the Accept only', async () => {
    const custom = await makeApp(['--lifecycle.scraper-user-agent=^my-scraper/']);
    await request(custom.app).put('/metrics/job/backup/instance/db1').send('x 1\n').expect(200);
    await request(custom.app).get('/metrics').set({ accept: '*/*', 'user-agent': 'Prometheus/3.16.0' }).expect(200);
    expect(custom.store.get(KEY)?.scrapedAt).toBeUndefined();
    await request(custom.app).get('/metrics').set({ accept: '*/*', 'user-agent': 'my-scraper/1.0' }).expect(200);
    expect(custom.store.get(KEY)?.scrapedAt).toBe(T0);

    const none = await makeApp(['--lifecycle.scraper-user-agent=']);
    await request(none.app).put('/metrics/job/backup/instance/db1').send('x 1\n').expect(200);
    await request(none.app).get('/metrics').set({ accept: '*/*', 'user-agent': 'Prometheus/3.16.0' }).expect(200);
    expect(none.store.get(KEY)?.scrapedAt).toBeUndefined();
  });

  test('a bad --lifecycle.scraper-user-agent is refused at start-up, naming the flag', () => {
    expect(() => loadConfig(['--lifecycle.scraper-user-agent=(unclosed'], {})).toThrow(/--lifecycle\.scraper-user-agent="\(unclosed": not a regular expression/);
  });
});

