/**
 * The scrape grace on a real control plane: after its Job is deleted, a group waits for
 * Prometheus to scrape its last push. Only a scraper's complete response ends the wait: curl, a
 * browser, the web page and its API calls do not, and neither does a scrape cut off mid-response.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { once } from 'node:events';
import { connect } from 'node:net';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import { BROWSER_HEADERS, CURL_HEADERS, PROMETHEUS_ACCEPT } from '../harness/scrapers.js';
import {
  TIMEOUT,
  body,
  createJob,
  deleteJob,
  deletedCount,
  freshIp,
  jobBody,
  podOfJob,
  push,
  scrape,
  startTestLethe,
  untilReady,
  waitForGroup,
  type TestLethe,
} from './lifecycle-support.js';

/**
 * A GET of /metrics as Prometheus sends it, cut off (connection reset) once part of the body has
 * arrived: at once, or once Lethe has answered another request meanwhile (so it sits idle with
 * the rest of the body queued when the reset comes).
 */
async function abortedScrape(port: number, when: 'at once' | 'when idle'): Promise<{ received: number; contentLength: number }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: ${PROMETHEUS_ACCEPT}\r\nUser-Agent: Prometheus/3.16.0\r\n\r\n`);
  const [first] = (await once(socket, 'data')) as [Buffer];
  socket.pause();
  const head = first.toString('latin1');
  const contentLength = Number(/\r\ncontent-length: (\d+)\r\n/i.exec(head)?.[1] ?? 0);
  if (when === 'when idle') expect((await fetch(`http://127.0.0.1:${port}/-/healthy`)).status).toBe(200);
  socket.resetAndDestroy();
  await once(socket, 'close');
  return { received: first.length, contentLength };
}

describe('lifecycle: the scrape grace ends only with a scraper\'s complete response', () => {
  let kc: KubeConfig;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG'], ['--lifecycle.max-grace=1h']);
    await untilReady(lethe);
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
  }, TIMEOUT);

  beforeEach(async () => {
    namespace = await createTestNamespace(kc);
  }, TIMEOUT);

  afterEach(async () => {
    await deleteTestNamespace(kc, namespace);
  });

  test('curl, a browser, the web page and a scrape cut off mid-response keep a deleted Job\'s group; Prometheus\' scrape lets it go', async () => {
    // A large unowned group, so that a scrape's response cannot fit in the socket buffers.
    const label = 'x'.repeat(250);
    const lines = ['# TYPE bulk gauge'];
    for (let i = 0; i < 40_000; i++) lines.push(`bulk{i="${i}",pad="${label}"} ${i}`);
    expect(await push(lethe.port, `bulk/instance/bulk-${namespace}`, `${lines.join('\n')}\n`, { localAddress: '127.99.0.2' })).toBe(200);

    const job = await createJob(kc, namespace, jobBody('nightly'));
    const ip = freshIp();
    await podOfJob(kc, namespace, job, ip);
    expect(await push(lethe.port, `nightly/instance/${namespace}`, body(3), { localAddress: ip })).toBe(200);
    const group = await waitForGroup(lethe, namespace, (g) => g.owner?.kind === 'Job');
    const stored = (): boolean => lethe.store.get(group.key) !== undefined;

    const before = await deletedCount(lethe, 'job-deleted');
    await deleteJob(kc, namespace, 'nightly');
    // The deletion is planned and waits for the scrape.
    await eventually(() => expect(lethe.loop.insight(group)?.nextDeletion?.reason).toBe('job-deleted'), { timeout: 15_000 });

    const base = `http://127.0.0.1:${lethe.port}`;
    for (const [path, headers] of [
      ['/metrics', CURL_HEADERS],
      ['/metrics', BROWSER_HEADERS],
      ['/', BROWSER_HEADERS],
      ['/api/v1/groups', { accept: 'application/json' }],
      ['/api/v1/metrics', { accept: 'application/json' }],
    ] as const) {
      const res = await fetch(`${base}${path}`, { headers });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      await res.arrayBuffer();
    }
    await consistently(stored, { duration: 2_000 });
    expect(lethe.store.get(group.key)?.scrapedAt).toBeUndefined();

    for (const when of ['at once', 'when idle'] as const) {
      const cut = await abortedScrape(lethe.port, when);
      expect(cut.contentLength).toBeGreaterThan(10_000_000);
      expect(cut.received).toBeLessThan(cut.contentLength);
      await consistently(stored, { duration: 2_000 });
      expect({ when, scrapedAt: lethe.store.get(group.key)?.scrapedAt }).toEqual({ when, scrapedAt: undefined });
    }

    await scrape(lethe.port);
    await eventually(() => expect(stored()).toBe(false), { timeout: 15_000 });
    expect(await deletedCount(lethe, 'job-deleted')).toBe(before + 1);
    await push(lethe.port, `bulk/instance/bulk-${namespace}`, '', { method: 'DELETE' });
  }, TIMEOUT);
});
