/**
 * The web page in a real headless Chromium (Debian's, driven by playwright-core):
 * - against the built Lethe, standalone with the admin API: the rows of groups in several
 *   states (scraped or not, a failed push, a grouping value with markup in it), the job filter,
 *   expanding a group into its metric families, and deleting a group with a confirmation;
 * - against an in-process gateway under a route prefix, with a fake lifecycle insight and
 *   attribution: owners alive and gone, the policy in force, the next deletion, an overdue
 *   group, and the namespace filter. Its screenshot is the one in docs/web-page.md.
 * Screenshots go to test-artifacts/web/; UPDATE_SCREENSHOT=1 also copies the second to docs/.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { listen, type Attributor, type ListeningServer } from '../../src/gateway/index.js';
import {
  defaultPolicy,
  groupingKeyOf,
  jobOf,
  unattributed,
  type Attribution,
  type Clock,
  type GroupInsightSource,
  type OwnerRef,
} from '../../src/model/index.js';
import type { GroupStore } from '../../src/store/index.js';
import { buildApp } from '../harness/app.js';
import { eventually } from '../harness/eventually.js';
import { PROMETHEUS_HEADERS } from '../harness/scrapers.js';
import { delimited } from '../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../fixtures/requests/types.js';
import { getJson, rawRequest, startGateway, type Gateway } from './gateways.js';

jest.setTimeout(60_000);

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = join(repoRoot, 'test-artifacts', 'web');

/** Debian's chromium unless LETHE_CHROMIUM names another build. */
function chromiumPath(): string {
  const fromEnv = process.env['LETHE_CHROMIUM'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : '/usr/bin/chromium';
}

/** playwright-core starts it with a fresh temporary profile (its own --user-data-dir) each time. */
function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath} (make browser installs it)`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records script errors, CSP violations and requests that leave the gateway. */
async function openPage(browser: Browser, origin: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(5_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('request', (req) => {
    if (!req.url().startsWith(`${origin}/`)) problems.push(`request outside the gateway: ${req.url()}`);
  });
  return { page, problems };
}

async function push(base: string, path: string, body: string, expected = 200, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${base}${path}`, { method: 'PUT', body, headers });
  await res.arrayBuffer();
  expect(res.status).toBe(expected);
}

const exactly = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** The rows of groups whose `job` label is exactly `job`. */
const rowOf = (page: Page, job: string): Locator =>
  page.locator('tr.group').filter({
    has: page.locator('.label').filter({ has: page.locator('.ln', { hasText: exactly('job') }) }).filter({ has: page.locator('.lv', { hasText: exactly(job) }) }),
  });

/** The page renders asynchronously: retries the assertions until they hold. */
const settle = async (check: () => Promise<void>): Promise<void> => {
  await eventually(check, { timeout: 5_000, interval: 50 });
};
const text = async (locator: Locator): Promise<string> => (await locator.textContent()) ?? '';
const count = (locator: Locator, n: number): Promise<void> => settle(async () => expect(await locator.count()).toBe(n));
const cell = (row: Locator, column: number): Locator => row.locator(':scope > td').nth(column);

/** The groups /api/v1/metrics lists, as their `job` label values. */
async function storedJobs(gateway: Pick<Gateway, 'port'>, prefix = ''): Promise<string[]> {
  const doc = (await getJson(gateway, `${prefix}/api/v1/metrics`)) as { data: { labels: Record<string, string> }[] };
  return doc.data.map((g) => g.labels['job'] ?? '').sort();
}

let browser: Browser | undefined;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

function br(): Browser {
  if (browser === undefined) throw new Error('browser did not start');
  return browser;
}

describe('web page against the built Lethe (standalone, admin API on)', () => {
  let gateway: Gateway | undefined;
  const XSS_JOB = 'team/ü <img src=x>';

  const gw = (): Gateway => {
    if (gateway === undefined) throw new Error('gateway did not start');
    return gateway;
  };

  beforeAll(async () => {
    // A lifecycle pass every second: the policy column shows what the last pass saw, and the
    // pass at start-up may come before the pushes below.
    gateway = await startGateway('lethe', { adminApi: true, extraArgs: ['--lifecycle.resync-interval=1s'] });
    const base = gateway.url;
    await push(
      base,
      '/metrics/job/backup/instance/db1',
      [
        '# HELP backup_last_success_timestamp_seconds Last time the backup succeeded.',
        '# TYPE backup_last_success_timestamp_seconds gauge',
        'backup_last_success_timestamp_seconds 1.7e+09',
        '# TYPE backup_bytes_total counter',
        'backup_bytes_total{volume="data"} 1.5e+10',
        'backup_bytes_total{volume="logs"} 2.5e+08',
        '# TYPE backup_duration_seconds histogram',
        'backup_duration_seconds_bucket{le="60"} 0',
        'backup_duration_seconds_bucket{le="600"} 1',
        'backup_duration_seconds_bucket{le="+Inf"} 1',
        'backup_duration_seconds_sum 412',
        'backup_duration_seconds_count 1',
        '',
      ].join('\n'),
    );
    await push(base, '/metrics/job/backup/instance/db2', '# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.69e+09\n');
    // A native histogram, as the Go client pushes it (protobuf), added to db2.
    const native = delimited([
      {
        name: 'backup_chunk_seconds',
        type: 'HISTOGRAM',
        metrics: [{ histogram: { count: 6, sum: 3.5, buckets: [], native: { schema: 0, zeroThreshold: 0.001, zeroCount: 1, positiveSpans: [[0, 2]], positiveDeltas: [2, 1] } } }],
      },
    ]);
    const added = await fetch(`${base}/metrics/job/backup/instance/db2`, { method: 'POST', body: native, headers: { 'Content-Type': PROTOBUF_CONTENT_TYPE } });
    expect(added.status).toBe(200);
    await push(base, '/metrics/job/nightly-report', '# TYPE report_rows gauge\nreport_rows 1200\n');
    await push(base, `/metrics/job@base64/${Buffer.from(XSS_JOB).toString('base64url')}`, 'markup_test 1\n');
    // Prometheus scrapes these four; the next group is pushed after that scrape.
    expect((await rawRequest(gateway, { method: 'GET', path: '/metrics', headers: PROMETHEUS_HEADERS })).status).toBe(200);
    await push(base, '/metrics/job/etl/instance/shard-0', 'etl_rows_loaded 42\n');
    // A push the consistency check refuses (backup_bytes_total is a counter): the failure is newer than the push.
    await push(base, '/metrics/job/nightly-report', '# TYPE backup_bytes_total gauge\nbackup_bytes_total 1\n', 400);
    await eventually(async () => {
      const doc = (await getJson(gateway ?? gw(), '/api/v1/groups')) as { data: { groups: { insight: unknown }[] } };
      return doc.data.groups.length === 5 && doc.data.groups.every((g) => g.insight !== null);
    }, { timeout: 20_000, interval: 200 });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  test('lists every group with its state, escaping every value', async () => {
    const { page, problems } = await openPage(br(), gw().url);
    await page.goto(`${gw().url}/`);
    await count(page.locator('tr.group'), 5);

    const summary = await text(page.locator('#summary'));
    expect(summary).toContain('5 groups');
    expect(summary).toContain('1 failed push');
    expect(summary).toContain('standalone');

    const db1 = page.locator('tr.group').filter({ hasText: 'db1' });
    expect(await text(cell(db1, 1))).toBe('—not attributed');
    expect(await text(cell(db1, 2))).toBe('standalone: no owner');
    expect(await text(cell(db1, 4))).not.toBe('not yet');
    // Standalone still runs the lifecycle (only --lifecycle.ttl can delete): the flags' policy shows.
    expect(await text(cell(db1, 5))).toMatch(/^delete with owner.*grace ≤ 5m/);
    expect(await text(cell(db1, 6))).toBe('none planned');
    expect(await db1.getByRole('button', { name: /^Delete group/ }).isVisible()).toBe(true);

    const report = rowOf(page, 'nightly-report');
    expect(await report.getAttribute('class')).toContain('failed');
    expect(await text(report.locator('.badge.warn'))).toMatch(/^last push failed/);

    const etl = rowOf(page, 'etl');
    expect(await text(cell(etl, 4))).toBe('not yet');
    expect(await etl.getAttribute('class')).not.toContain('failed');

    // The grouping value with markup in it shows as text, and no element came of it.
    await count(rowOf(page, XSS_JOB), 1);
    await count(page.locator('img'), 0);
    expect(problems).toEqual([]);
    await page.close();
  });

  test('filters by job, and keeps the filter in the address', async () => {
    const { page, problems } = await openPage(br(), gw().url);
    await page.goto(`${gw().url}/`);
    await count(page.locator('tr.group'), 5);
    expect(await page.locator('#f-namespace option').allTextContents()).toEqual(['all namespaces', '(not attributed)']);

    await page.getByLabel('Job', { exact: true }).fill('backup');
    await count(page.locator('tr.group'), 2);
    expect(await text(page.locator('#summary'))).toBe('2 of 5 groups1 failed pushstandalone: no owners');
    expect(new URL(page.url()).searchParams.get('job')).toBe('backup');

    await page.getByLabel('Job', { exact: true }).fill('no-such-job');
    await count(page.locator('tr.group'), 0);
    expect(await text(page.locator('tr.empty'))).toBe('No group matches the filter.');

    await page.goto(`${gw().url}/?job=report`);
    await count(page.locator('tr.group'), 1);
    expect(await page.getByLabel('Job', { exact: true }).inputValue()).toBe('report');
    await page.getByLabel('Job', { exact: true }).fill('');
    await count(page.locator('tr.group'), 5);
    expect(problems).toEqual([]);
    await page.close();
  });

  test('expanding a group shows its metric families and series', async () => {
    const { page, problems } = await openPage(br(), gw().url);
    await page.goto(`${gw().url}/`);
    const row = page.locator('tr.group').filter({ hasText: 'db1' });
    const expander = row.locator('button.expander');
    expect(await expander.getAttribute('aria-expanded')).toBe('false');
    const detail = page.locator(`#${String(await expander.getAttribute('aria-controls'))}`);
    expect(await detail.isHidden()).toBe(true);

    await expander.click();
    expect(await expander.getAttribute('aria-expanded')).toBe('true');
    expect(await detail.isVisible()).toBe(true);
    const names = (await detail.locator('.family h3').allTextContents()).map((h) => h.split(' ')[0]);
    expect(names.sort()).toEqual([
      'backup_bytes_total',
      'backup_duration_seconds',
      'backup_last_success_timestamp_seconds',
      'push_failure_time_seconds',
      'push_time_seconds',
    ]);
    const family = (name: string): Locator => detail.locator('.family').filter({ has: page.locator('h3', { hasText: new RegExp(`^${name} `) }) });
    expect(await text(family('backup_bytes_total').locator('h3 .type'))).toBe('counter');
    expect(await family('backup_bytes_total').locator('tr').allTextContents()).toEqual([
      'backup_bytes_total{volume="data"}1.5e+10',
      'backup_bytes_total{volume="logs"}2.5e+08',
    ]);
    expect(await family('backup_duration_seconds').locator('tr').allTextContents()).toEqual([
      'backup_duration_secondscount 1 · sum 412',
      'le="60"0',
      'le="600"1',
      'le="+Inf"1',
    ]);
    expect(await text(family('backup_last_success_timestamp_seconds').locator('.help'))).toBe('Last time the backup succeeded.');
    await page.screenshot({ path: join(artifacts, 'web-page-standalone.png'), fullPage: true });

    await expander.click();
    expect(await detail.isHidden()).toBe(true);
    expect(await expander.getAttribute('aria-expanded')).toBe('false');
    expect(problems).toEqual([]);
    await page.close();
  });

  test('a native histogram shows its count, sum, schema, zero threshold and every bucket', async () => {
    const { page, problems } = await openPage(br(), gw().url);
    await page.goto(`${gw().url}/`);
    const row = page.locator('tr.group').filter({ hasText: 'db2' });
    const expander = row.locator('button.expander');
    await expander.click();
    const detail = page.locator(`#${String(await expander.getAttribute('aria-controls'))}`);
    const family = detail.locator('.family').filter({ has: page.locator('h3', { hasText: /^backup_chunk_seconds / }) });
    expect(await text(family.locator('h3 .type'))).toBe('histogram');
    expect(await family.locator('tr').allTextContents()).toEqual([
      'backup_chunk_secondscount 6 · sum 3.5 · native, schema 0 · zero threshold 0.001',
      'bucket [-0.001, 0.001]1',
      'bucket (0.5, 1]2',
      'bucket (1, 2]3',
    ]);
    expect(problems).toEqual([]);
    await page.close();
  });

  test('deletes a group through the Pushgateway route after a confirmation', async () => {
    const { page, problems } = await openPage(br(), gw().url);
    await page.goto(`${gw().url}/`);
    const row = rowOf(page, XSS_JOB);
    const deleteButton = row.getByRole('button', { name: `Delete group job=${JSON.stringify(XSS_JOB)}` });
    const dialog = page.getByRole('dialog', { name: 'Delete this group?' });

    // Cancel keeps the group.
    await deleteButton.click();
    expect(await dialog.isVisible()).toBe(true);
    expect(await text(dialog.locator('#confirm-key'))).toBe(`job=${JSON.stringify(XSS_JOB)}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await dialog.isHidden()).toBe(true);
    expect(await storedJobs(gw())).toContain(XSS_JOB);

    // Escape does not delete either.
    await deleteButton.click();
    expect(await dialog.isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await settle(async () => expect(await dialog.isHidden()).toBe(true));
    expect(await storedJobs(gw())).toContain(XSS_JOB);

    await deleteButton.click();
    await dialog.getByRole('button', { name: 'Delete group' }).click();
    await settle(async () => expect(await text(page.getByRole('status'))).toBe(`Deleted group job=${JSON.stringify(XSS_JOB)}.`));
    await count(page.locator('tr.group'), 4);
    expect(await storedJobs(gw())).toEqual(['backup', 'backup', 'etl', 'nightly-report']);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('web page with lifecycle insight, under a route prefix', () => {
  const PREFIX = '/lethe';
  let server: ListeningServer | undefined;
  let store: GroupStore | undefined;
  const started = Date.now();
  const MIN = 60_000;
  /** The gateway's clock, set back while the groups' history is written. */
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  const minutesAgo = (m: number): void => {
    offset = -m * MIN;
  };

  /** Who pushed, by the bearer token the test sends: `<namespace>/<pod>/<job>/<cronjob>`. */
  const attributor: Attributor = {
    attribute: (origin) => {
      const token = origin.authorization?.replace(/^Bearer /, '');
      if (token === undefined) return Promise.resolve(unattributed);
      const [namespace = '', pod = '', job = '', cronJob = ''] = token.split('/');
      const attribution: Attribution = {
        source: 'token',
        namespace,
        pod,
        user: `system:serviceaccount:${namespace}:default`,
        ...(job === '' ? {} : { run: { group: 'batch', kind: 'Job', name: job, uid: `uid-${job}` } }),
        ...(cronJob === '' ? {} : { schedule: { group: 'batch', kind: 'CronJob', name: cronJob, uid: `uid-${cronJob}` } }),
      };
      return Promise.resolve(attribution);
    },
  };

  const insight: GroupInsightSource = (group) => {
    switch (jobOf(group.key)) {
      case 'backup':
        // Its CronJob's next run waits for admission (Kueue).
        return { policy: defaultPolicy, ownerAlive: true, queued: { since: started - 12 * MIN } };
      case 'db-migrate':
        return { policy: defaultPolicy, ownerAlive: false, nextDeletion: { reason: 'job-deleted', at: started + 4.5 * MIN } };
      case 'invoice-export':
        return {
          policy: { ...defaultPolicy, ttlMs: 24 * 60 * MIN, overdueAfterMs: 30 * MIN },
          policySource: 'metricsgroup',
          ownerAlive: true,
          overdue: { since: started - 42 * MIN },
          nextDeletion: { reason: 'ttl-expired', at: started + 20 * 60 * MIN },
          // Owned by a MetricsGroup: its run is the one that pushed it.
          run: {
            group: 'batch',
            kind: 'Job',
            namespace: 'billing',
            name: 'invoice-export-29',
            uid: 'uid-invoice-export-29',
            schedule: { group: 'batch', kind: 'CronJob', name: 'invoice-export', uid: 'uid-invoice-export' },
          },
        };
      default:
        return { policy: { ...defaultPolicy, ttlMs: 7 * 24 * 60 * MIN } };
    }
  };

  const origin = (): string => `http://127.0.0.1:${String(server?.port)}`;

  beforeAll(async () => {
    const made = await buildApp({
      argv: [`--web.route-prefix=${PREFIX}`, '--web.enable-admin-api'],
      clock,
      deps: { attributor, build: { version: 'test', revision: 'test', startTime: new Date() }, insight, kubernetes: true },
    });
    const { app, store: groups } = made;
    store = groups;
    server = await listen(app, '127.0.0.1', 0);
    const base = `${origin()}${PREFIX}`;
    const as = (token: string) => ({ Authorization: `Bearer ${token}` });
    const scrape = async (): Promise<void> => {
      expect((await rawRequest({ port: server?.port ?? 0 }, { method: 'GET', path: `${PREFIX}/metrics`, headers: PROMETHEUS_HEADERS })).status).toBe(200);
    };
    minutesAgo(183);
    await push(base, '/metrics/job/backup/instance/db1', '# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e+09\n# TYPE backup_bytes_total counter\nbackup_bytes_total 1.5e+10\n', 200, as('team-a/backup-28512345-x7k2p/backup-28512345/backup'));
    minutesAgo(182.5);
    await scrape();
    minutesAgo(72);
    const invoices = as('billing/invoice-export-28512300-mm2kq/invoice-export-28512300/invoice-export');
    await push(base, '/metrics/job/invoice-export/instance/eu', 'invoice_export_rows 5310\n', 200, invoices);
    await push(base, '/metrics/job/invoice-export/instance/us', 'invoice_export_rows 4022\n', 200, invoices);
    minutesAgo(71.5);
    await scrape();
    minutesAgo(12);
    await push(base, '/metrics/job/ad-hoc', 'adhoc_runs 1\n', 200);
    minutesAgo(11.5);
    await scrape();
    // Refused by the consistency check (backup_bytes_total is a counter): a failed push.
    minutesAgo(3);
    await push(base, '/metrics/job/ad-hoc', '# TYPE backup_bytes_total gauge\nbackup_bytes_total 1\n', 400);
    // Pushed just now, not scraped yet: its deletion waits for the scrape, at most the grace.
    minutesAgo(0.5);
    await push(base, '/metrics/job/db-migrate', 'migrate_applied_total 12\n', 200, as('team-a/db-migrate-q8d5w/db-migrate'));
    offset = 0;

    const owner = (kind: 'Job' | 'MetricsGroup', namespace: string, name: string, cronJob?: string): OwnerRef => ({
      group: kind === 'Job' ? 'batch' : 'lethe.dev',
      kind,
      namespace,
      name,
      uid: `uid-${name}`,
      ...(cronJob === undefined ? {} : { schedule: { group: 'batch', kind: 'CronJob', name: cronJob, uid: `uid-${cronJob}` } }),
    });
    await groups.setOwner(groupingKeyOf({ job: 'backup', instance: 'db1' }), owner('Job', 'team-a', 'backup-28512345', 'backup'));
    await groups.setOwner(groupingKeyOf({ job: 'db-migrate' }), owner('Job', 'team-a', 'db-migrate'));
    for (const instance of ['eu', 'us']) {
      await groups.setOwner(groupingKeyOf({ job: 'invoice-export', instance }), owner('MetricsGroup', 'billing', 'invoice-export'));
    }
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  test('shows owner, policy, next deletion and overdue; filters by namespace; deletes under the prefix', async () => {
    const { page, problems } = await openPage(br(), origin());
    await page.goto(`${origin()}${PREFIX}/`);
    await count(page.locator('tr.group'), 5);
    const summary = await text(page.locator('#summary'));
    expect(summary).toContain('2 overdue');
    expect(summary).not.toContain('standalone');

    const backup = rowOf(page, 'backup');
    expect(await text(cell(backup, 1))).toBe('team-atoken · pod backup-28512345-x7k2p');
    expect(await text(cell(backup, 2))).toBe('backup-28512345Job of CronJob backupalive');
    expect(await text(cell(backup, 2).locator('.badge'))).toBe('alive');
    expect(await text(backup.locator('.badge.info'))).toMatch(/^queued for 1[23]m$/);
    expect(await text(cell(backup, 3))).toMatch(/^3h[34]m ago$/);
    expect(await text(cell(backup, 4))).toMatch(/^3h[23]m ago$/);
    expect(await text(cell(backup, 5))).toBe('delete with ownergrace ≤ 5m');
    expect(await text(cell(backup, 6))).toBe('none planned');

    const migrate = rowOf(page, 'db-migrate');
    expect(await migrate.getAttribute('class')).toContain('gone');
    expect(await text(cell(migrate, 2).locator('.badge'))).toBe('gone');
    expect(await text(cell(migrate, 4))).toBe('not yet');
    expect(await text(cell(migrate, 6))).toMatch(/^in 4m\d*s?Job deleted$/);

    const invoices = rowOf(page, 'invoice-export');
    await count(invoices, 2);
    for (const row of await invoices.all()) {
      expect(await row.getAttribute('class')).toContain('overdue');
      expect(await text(row.locator('.badge.bad'))).toMatch(/^overdue for 4[23]m$/);
      expect(await text(cell(row, 2))).toBe('invoice-exportMetricsGroupaliverun: Job invoice-export-29 of CronJob invoice-export');
      expect(await text(cell(row, 5))).toBe('delete with ownerttl 1d · overdue after 30m · grace ≤ 5m');
      expect(await cell(row, 5).getAttribute('title')).toMatch(/^From MetricsGroup/);
      expect(await text(cell(row, 6))).toMatch(/^in 1[89]h\d+mttl expired$/);
    }
    const adHoc = rowOf(page, 'ad-hoc');
    expect(await adHoc.getAttribute('class')).toContain('failed');
    expect(await text(adHoc.locator('.badge.warn'))).toMatch(/^last push failed 3m(\d+s)? ago$/);
    expect(await text(cell(adHoc, 1))).toBe('—not attributed');
    expect(await text(cell(adHoc, 2))).toBe('unowned');
    expect(await text(cell(adHoc, 5))).toBe('delete with ownerttl 7d · grace ≤ 5m');

    // Namespace filter, alone and with the job filter.
    expect(await page.locator('#f-namespace option').allTextContents()).toEqual(['all namespaces', '(not attributed)', 'billing', 'team-a']);
    await page.getByLabel('Namespace', { exact: true }).selectOption('team-a');
    await count(page.locator('tr.group'), 2);
    expect(new URL(page.url()).searchParams.get('namespace')).toBe('team-a');
    await page.getByLabel('Job', { exact: true }).fill('migrate');
    await count(page.locator('tr.group'), 1);
    await page.getByLabel('Job', { exact: true }).fill('');
    await page.getByLabel('Namespace', { exact: true }).selectOption('billing');
    await count(page.locator('tr.group'), 2);
    await page.getByLabel('Namespace', { exact: true }).selectOption('*');
    await count(page.locator('tr.group'), 5);

    // The picture in docs/web-page.md: every state, one group expanded.
    await backup.locator('button.expander').click();
    await count(page.locator('tr.detail:visible'), 1);
    const shot = join(artifacts, 'web-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env['UPDATE_SCREENSHOT'] === '1') copyFileSync(shot, join(repoRoot, 'docs', 'web-page.png'));

    // Delete goes to the route under the prefix.
    await adHoc.getByRole('button', { name: 'Delete group job="ad-hoc"' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete group' }).click();
    await count(page.locator('tr.group'), 4);
    expect(await storedJobs({ port: server?.port ?? 0 }, PREFIX)).toEqual(['backup', 'db-migrate', 'invoice-export', 'invoice-export']);
    expect(problems).toEqual([]);
    await page.close();
  });
});
