import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consistently, eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';
import { CURL_HEADERS } from '../harness/scrapers.js';
import { bodyText, getJson, rawRequest, startGateway, type Gateway } from './gateways.js';

/**
 * The scrape grace against the real Prometheus: a standalone Lethe whose ttl has run out still
 * keeps the group while only curl has read /metrics, and lets it go once Prometheus (its own
 * Accept and User-Agent, nothing configured) has scraped it.
 */

interface GroupsDoc {
  readonly data: { readonly groups: readonly { readonly labels: Record<string, string>; readonly lastScrapeTime: string | null }[] };
}

describe('the real Prometheus ends the scrape grace; curl does not', () => {
  let dir: string;
  let lethe: Gateway;
  let prometheus: TestProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-scrape-grace-'));
    lethe = await startGateway('lethe', { lethe: ['--lifecycle.ttl=1s', '--lifecycle.max-grace=1h'] });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await lethe.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const group = async (): Promise<GroupsDoc['data']['groups'][number] | undefined> =>
    ((await getJson(lethe, '/api/v1/groups')) as GroupsDoc).data.groups.find((g) => g.labels['job'] === 'graced');

  test('a group past its ttl waits for the scrape: curl reads it and it stays, Prometheus scrapes it and it goes', async () => {
    const push = await rawRequest(lethe, { method: 'PUT', path: '/metrics/job/graced', body: Buffer.from('# TYPE graced_value gauge\ngraced_value 1\n') });
    expect(push.status).toBe(200);
    const curl = await rawRequest(lethe, { method: 'GET', path: '/metrics', headers: CURL_HEADERS });
    expect(bodyText(curl)).toContain('graced_value{instance="",job="graced"} 1');
    // The ttl (1s) runs out; the deletion waits for Prometheus.
    await consistently(async () => (await group()) !== undefined, { duration: 3_000 });
    expect((await group())?.lastScrapeTime).toBeNull();

    const port = await freePort();
    await writeFile(
      join(dir, 'prometheus.yml'),
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: lethe', '    honor_labels: true', '    static_configs:', `      - targets: ['127.0.0.1:${lethe.port}']`, ''].join('\n'),
    );
    prometheus = new TestProcess({
      name: 'prometheus',
      command: 'prometheus',
      args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      logFile: join(dir, 'prometheus.log'),
    });
    await waitForHttp(prometheus, `http://127.0.0.1:${port}/-/ready`, 60_000);
    await eventually(async () => expect(await group()).toBeUndefined(), { timeout: 60_000, interval: 250 });
    const metrics = bodyText(await rawRequest(lethe, { method: 'GET', path: '/metrics', headers: CURL_HEADERS }));
    expect(metrics).toMatch(/^lethe_groups_deleted_total\{reason="ttl-expired"\} 1$/m);
  }, 120_000);
});
