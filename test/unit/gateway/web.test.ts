import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Script } from 'node:vm';
import type { Express } from 'express';
import request from 'supertest';
import type { Attributor } from '../../../src/gateway/index.js';
import { escapeHtml } from '../../../src/gateway/routes/web-page.js';
import {
  defaultPolicy,
  groupingKeyOf,
  jobOf,
  unattributed,
  type GroupInsightSource,
  type OwnerRef,
} from '../../../src/model/index.js';
import type { GroupStore } from '../../../src/store/index.js';
import { buildApp } from '../../harness/app.js';
import { FakeClock } from '../../harness/builders.js';
import { PROMETHEUS_HEADERS } from '../../harness/scrapers.js';

const T0 = 1_700_000_000_000;

interface Setup {
  readonly argv?: string[];
  readonly insight?: GroupInsightSource;
  readonly attributor?: Attributor;
  readonly blockedBy?: () => readonly string[];
}

async function makeApp(setup: Setup = {}): Promise<{ app: Express; store: GroupStore; clock: FakeClock }> {
  const clock = new FakeClock(T0);
  const { app, store } = await buildApp({
    argv: setup.argv ?? [],
    clock,
    deps: {
      ...(setup.attributor === undefined ? {} : { attributor: setup.attributor }),
      ...(setup.insight === undefined ? {} : { insight: setup.insight }),
      ...(setup.blockedBy === undefined ? {} : { blockedBy: setup.blockedBy }),
    },
  });
  return { app, store, clock };
}

interface GroupsDoc {
  status: string;
  data: { time: string; adminApi: boolean; lifecycle: boolean; blockedBy: string[]; groups: Record<string, unknown>[] };
}

async function groupsDoc(app: Express, prefix = ''): Promise<GroupsDoc> {
  const res = await request(app).get(`${prefix}/api/v1/groups`).expect(200);
  expect(res.headers['content-type']).toBe('application/json');
  return JSON.parse(res.text) as GroupsDoc;
}

function inlineScript(html: string): string {
  const match = /<script>([\s\S]*)<\/script>/.exec(html);
  if (match?.[1] === undefined) throw new Error('no inline script');
  return match[1];
}

describe('web page', () => {
  test('is served at / and /status with a policy that allows only its own inline script and style', async () => {
    const { app } = await makeApp();
    for (const path of ['/', '/status']) {
      const res = await request(app).get(path).expect(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      const csp = String(res.headers['content-security-policy']);
      const script = inlineScript(res.text);
      const hash = createHash('sha256').update(script, 'utf8').digest('base64');
      expect(csp).toContain(`script-src 'sha256-${hash}'`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("require-trusted-types-for 'script'");
    }
  });

  test('its script is valid JavaScript that builds elements without HTML strings', async () => {
    const { app } = await makeApp();
    const script = inlineScript((await request(app).get('/').expect(200)).text);
    expect(() => new Script(script)).not.toThrow();
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(']) {
      expect(script).not.toContain(sink);
    }
    expect(script).not.toMatch(/<\/script|<!--/i);
  });

  test('makes no request outside Lethe: no absolute URL in the page', async () => {
    const { app } = await makeApp();
    const html = (await request(app).get('/').expect(200)).text;
    expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9]/i);
  });

  test('respects the route prefix: its links and data-prefix carry it', async () => {
    const { app } = await makeApp({ argv: ['--web.route-prefix=/lethe'] });
    await request(app).get('/').expect(404);
    const html = (await request(app).get('/lethe/').expect(200)).text;
    expect(html).toContain('<body data-prefix="/lethe">');
    expect(html).toContain('href="/lethe/api/v1/groups"');
    expect(html).toContain('href="/lethe/metrics"');
    await request(app).get('/lethe/api/v1/groups').expect(200);
  });

  test.each([
    ['plain text', 'abc', 'abc'],
    ['markup', '<a href="x">&</a>', '&#60;a href=&#34;x&#34;&#62;&#38;&#60;/a&#62;'],
    ['a single quote', "it's", 'it&#39;s'],
  ])('escapeHtml: %s', (_name, input, escaped) => {
    expect(escapeHtml(input)).toBe(escaped);
  });
});

describe('/api/v1/groups', () => {
  test('standalone: groups with times, attribution and no lifecycle information', async () => {
    const { app, clock } = await makeApp();
    await request(app).put('/metrics/job/backup/instance/db1').send('# TYPE x gauge\nx{a="1"} 1\nx{a="2"} 2\n').expect(200);
    clock.advance(1_000);
    await request(app).get('/metrics').set(PROMETHEUS_HEADERS).expect(200);
    clock.advance(1_000);
    await request(app).put('/metrics/job/report').send('y 1\n').expect(200);
    clock.advance(1_000);
    // Conflicts with the gauge x of the other group: refused, and the failure time recorded.
    await request(app).put('/metrics/job/report').send('# TYPE x counter\nx 3\n').expect(400);

    const doc = await groupsDoc(app);
    expect(doc.status).toBe('success');
    expect(doc.data).toMatchObject({ time: '2023-11-14T22:13:23Z', adminApi: false, lifecycle: false });
    expect(doc.data.groups).toHaveLength(2);
    const [backup, report] = doc.data.groups;
    expect(backup).toMatchObject({
      labels: { job: 'backup', instance: 'db1' },
      path: 'metrics/job@base64/YmFja3Vw/instance@base64/ZGIx',
      lastPushTime: '2023-11-14T22:13:20Z',
      lastFailureTime: null,
      lastPushSuccessful: true,
      lastScrapeTime: '2023-11-14T22:13:21Z',
      excludedReason: null,
      attribution: { source: 'none' },
      owner: null,
      insight: null,
      series: 2,
    });
    expect(report).toMatchObject({
      labels: { job: 'report' },
      lastPushTime: '2023-11-14T22:13:22Z',
      lastFailureTime: '2023-11-14T22:13:23Z',
      lastPushSuccessful: false,
      lastScrapeTime: null,
      series: 1,
    });
  });

  test('families have the shape of /api/v1/metrics, with their name', async () => {
    const { app } = await makeApp();
    const body = [
      '# HELP d Duration.',
      '# TYPE d summary',
      'd{quantile="0.5"} 1',
      'd_sum 3',
      'd_count 2',
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 4',
      'h_count 2',
      'c_total 5',
      '',
    ].join('\n');
    await request(app).put('/metrics/job/j/instance/i').send(body).expect(200);
    const fromMetrics = (JSON.parse((await request(app).get('/api/v1/metrics').expect(200)).text) as { data: Record<string, unknown>[] }).data[0];
    const groups = (await groupsDoc(app)).data.groups;
    const families = groups[0]?.['families'] as Record<string, unknown>[];
    const names = families.map((f) => f['name']);
    expect(new Set(names)).toEqual(new Set(Object.keys(fromMetrics ?? {}).filter((k) => k !== 'labels' && k !== 'last_push_successful')));
    for (const f of families) {
      const { name, ...rest } = f;
      expect(rest).toEqual(fromMetrics?.[String(name)]);
    }
    expect(groups[0]?.['series']).toBe(3);
  });

  test('/api/v1/groups says which lifecycle gates hold deletions back', async () => {
    let gates: string[] = ['sync', 'leader'];
    const { app } = await makeApp({ insight: () => ({ policy: defaultPolicy }), blockedBy: () => gates });
    expect((await groupsDoc(app)).data.blockedBy).toEqual(['sync', 'leader']);
    gates = [];
    expect((await groupsDoc(app)).data.blockedBy).toEqual([]);
    expect((await groupsDoc((await makeApp()).app)).data.blockedBy).toEqual([]);
  });

  test('/api/v1/metrics keeps the Pushgateway shape: only labels, last_push_successful and families', async () => {
    const { app } = await makeApp({ insight: () => ({ policy: defaultPolicy }) });
    await request(app).put('/metrics/job/j').send('m 1\n').expect(200);
    const doc = JSON.parse((await request(app).get('/api/v1/metrics').expect(200)).text) as { data: Record<string, unknown>[] };
    expect(Object.keys(doc.data[0] ?? {}).sort()).toEqual(['labels', 'last_push_successful', 'm', 'push_failure_time_seconds', 'push_time_seconds']);
  });

  test.each([
    ['a plain key', { job: 'backup' }],
    ['a slash, unicode and markup in values', { job: 'team/ü <b>x</b>', instance: 'a/b' }],
    ['an empty extra label', { job: 'j', stage: '' }],
  ])('its path deletes the group through the Pushgateway route: %s', async (_name, labels) => {
    const { app, store } = await makeApp({ argv: ['--web.enable-admin-api', '--web.route-prefix=/p'] });
    const key = groupingKeyOf(labels);
    await store.push({ key, method: 'PUT', families: [{ name: 'm', type: 'untyped', metrics: [{ labels: [], value: 1 }] }], attribution: unattributed });
    const doc = await groupsDoc(app, '/p');
    expect(doc.data.adminApi).toBe(true);
    const path = doc.data.groups[0]?.['path'];
    expect(doc.data.groups[0]?.['labels']).toEqual(Object.fromEntries(key.labels.map((l) => [l.name, l.value])));
    await request(app).delete(`/p/${String(path)}`).expect(202);
    expect(store.get(key)).toBeUndefined();
  });

  test('shows attribution and owner from the store', async () => {
    const attributor: Attributor = {
      attribute: () =>
        Promise.resolve({
          source: 'token',
          namespace: 'team-a',
          pod: 'backup-1-x',
          user: 'system:serviceaccount:team-a:backup',
          run: { group: 'batch', kind: 'Job', name: 'backup-1', uid: 'j1' },
          schedule: { group: 'batch', kind: 'CronJob', name: 'backup', uid: 'c1' },
        }),
    };
    const { app, store } = await makeApp({ attributor });
    await request(app).put('/metrics/job/backup').send('m 1\n').expect(200);
    const owner: OwnerRef = { group: 'batch', kind: 'Job', namespace: 'team-a', name: 'backup-1', uid: 'j1', schedule: { group: 'batch', kind: 'CronJob', name: 'backup', uid: 'c1' } };
    await store.setOwner(groupingKeyOf({ job: 'backup' }), owner);
    const [group] = (await groupsDoc(app)).data.groups;
    // `job` and `cronJob` (names) stay for a Job run of a CronJob, as before runs of any kind.
    expect(group).toMatchObject({
      attribution: {
        source: 'token',
        namespace: 'team-a',
        pod: 'backup-1-x',
        user: 'system:serviceaccount:team-a:backup',
        job: 'backup-1',
        cronJob: 'backup',
        run: { group: 'batch', kind: 'Job', name: 'backup-1', uid: 'j1' },
        schedule: { group: 'batch', kind: 'CronJob', name: 'backup', uid: 'c1' },
      },
      owner: { group: 'batch', kind: 'Job', namespace: 'team-a', name: 'backup-1', uid: 'j1', cronJob: 'backup', schedule: { kind: 'CronJob', name: 'backup' } },
    });
  });

  test('with the lifecycle: each group shows what the insight function says of it', async () => {
    const insight: GroupInsightSource = (group) => {
      switch (jobOf(group.key)) {
        case 'gone':
          return {
            policy: { ...defaultPolicy, ttlMs: 86_400_000 },
            policySource: 'annotations',
            ownerAlive: false,
            nextDeletion: { reason: 'job-deleted', at: T0 + 60_000 },
          };
        case 'late':
          return { policy: defaultPolicy, ownerAlive: true, overdue: { since: T0 - 600_000 } };
        case 'held':
          return {
            policy: { ...defaultPolicy, deletionPolicy: 'Orphan' },
            policySource: 'annotations',
            policyInvalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan',
            ownerAlive: true,
          };
        case 'queued':
          return {
            policy: defaultPolicy,
            ownerUnknown: 'owner Workflow etl-7: Workflow.argoproj.io is forbidden',
            run: {
              group: 'argoproj.io',
              kind: 'Workflow',
              namespace: 'team-a',
              name: 'etl-7',
              uid: 'wf-uid',
              schedule: { group: 'argoproj.io', kind: 'CronWorkflow', name: 'etl', uid: 'cwf-uid' },
            },
            queued: { since: T0 - 300_000 },
          };
        default:
          return undefined;
      }
    };
    const { app } = await makeApp({ insight });
    for (const job of ['gone', 'late', 'held', 'queued', 'unknown']) await request(app).put(`/metrics/job/${job}`).send('m 1\n').expect(200);
    const doc = await groupsDoc(app);
    expect(doc.data.lifecycle).toBe(true);
    const byJob = new Map(doc.data.groups.map((g) => [(g['labels'] as Record<string, string>)['job'], g['insight']]));
    expect(byJob.get('gone')).toEqual({
      policy: { ...defaultPolicy, ttlMs: 86_400_000 },
      policySource: 'annotations',
      policyInvalid: null,
      ownerAlive: false,
      nextDeletion: { reason: 'job-deleted', time: '2023-11-14T22:14:20Z' },
      overdue: null,
      ownerUnknown: null,
      queued: null,
    });
    expect(byJob.get('late')).toEqual({
      policy: defaultPolicy,
      policySource: 'flags',
      policyInvalid: null,
      ownerAlive: true,
      nextDeletion: null,
      overdue: { since: '2023-11-14T22:03:20Z' },
      ownerUnknown: null,
      queued: null,
    });
    // The run each group belongs to, its schedule, and a run waiting for admission.
    expect(byJob.get('queued')).toMatchObject({ ownerUnknown: 'owner Workflow etl-7: Workflow.argoproj.io is forbidden', queued: { since: '2023-11-14T22:08:20Z' } });
    const queued = doc.data.groups.find((g) => (g['labels'] as Record<string, string>)['job'] === 'queued');
    expect(queued?.['run']).toEqual({
      group: 'argoproj.io',
      kind: 'Workflow',
      namespace: 'team-a',
      name: 'etl-7',
      uid: 'wf-uid',
      schedule: { group: 'argoproj.io', kind: 'CronWorkflow', name: 'etl', uid: 'cwf-uid' },
      scheduleKey: null,
    });
    expect(doc.data.groups.find((g) => (g['labels'] as Record<string, string>)['job'] === 'gone')?.['run']).toBeNull();
    // A policy that cannot be read says why (the group is held until it is fixed).
    expect(byJob.get('held')).toMatchObject({ policySource: 'annotations', policyInvalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan' });
    expect(byJob.get('unknown')).toBeNull();
  });

  test('answers CORS headers like the other API routes, and only GET', async () => {
    const { app } = await makeApp();
    const res = await request(app).get('/api/v1/groups').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    await request(app).post('/api/v1/groups').expect(405);
  });
});
