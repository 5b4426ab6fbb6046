import { beforeEach, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { gzipSync } from 'node:zlib';
import type { Express } from 'express';
import { snappyBomb } from '../../fuzz/snappy-frames.js';
import { buildApp } from '../../harness/app.js';
import { delimited } from '../../fixtures/requests/protobuf.js';
import { PROTOBUF_CONTENT_TYPE } from '../../fixtures/requests/types.js';

async function makeApp(argv: string[] = []): Promise<{ app: Express; quits: number[] }> {
  const { app, quits } = await buildApp({ argv });
  return { app, quits };
}

const pushed = (text: string): string[] =>
  text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !/^(lethe_|process_|nodejs_|push_)/.test(l));

describe('gateway push API', () => {
  let app: Express;
  beforeEach(async () => {
    ({ app } = await makeApp());
  });

  test('PUT answers 200 and the series shows on /metrics', async () => {
    await request(app).put('/metrics/job/j/a/1').send('m 1\n').expect(200, '');
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8; escaping=underscores');
    expect(pushed(res.text)).toEqual(['m{a="1",instance="",job="j"} 1']);
  });

  test('a body without Content-Type, with a form Content-Type (curl) or gzipped is parsed as text', async () => {
    await request(app).put('/metrics/job/a').set('Content-Type', 'application/x-www-form-urlencoded').send('m 1\n').expect(200);
    await request(app).put('/metrics/job/b').set('Content-Encoding', 'gzip').send(gzipSync('m 2\n')).expect(200);
    const res = await request(app).get('/metrics');
    expect(pushed(res.text)).toEqual(['m{instance="",job="a"} 1', 'm{instance="",job="b"} 2']);
  });

  test('a percent-encoded slash splits the path, as upstream', async () => {
    await request(app).put('/metrics/job/j/a%2Fb').send('m 1\n').expect(200);
    expect(pushed((await request(app).get('/metrics')).text)).toEqual(['m{a="b",instance="",job="j"} 1']);
    await request(app).put('/metrics/job/j/a%2Fb%2Fc').send('m 1\n').expect(400, /odd number of components/);
  });

  test.each([
    ['an empty segment', '/metrics/job/j/a//b'],
    ['a dot segment', '/metrics/job/j/a/./b'],
    ['a dot-dot segment', '/metrics/job/j/a/../b'],
  ])('%s is a 400 naming the path, never a redirect', async (_name, path) => {
    const res = await request(app).put(path).send('m 1\n');
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/has an empty, "." or ".." segment/);
  });

  test('encoded slashes and dots are decoded, not cleaned, as in the newest upstream', async () => {
    await request(app).put('/metrics/job/j/a%2F%2Fb/c').send('m 1\n').expect(200);
    await request(app).put('/metrics/job/k/a/%2E').send('m 1\n').expect(200);
    expect(pushed((await request(app).get('/metrics')).text)).toEqual(['m{a=".",instance="",job="k"} 1', 'm{a="",b="c",instance="",job="j"} 1']);
  });

  test('a bad percent escape is a 400', async () => {
    await request(app).put('/metrics/job/j/a/%zz').send('m 1\n').expect(400, /invalid URL escape/);
  });

  test('a parse error names the line', async () => {
    const res = await request(app).put('/metrics/job/j').send('m 1\nm{ 2\n');
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/line 2/);
  });

  test('an inconsistent push is a 400 with the reason and records the failure time', async () => {
    await request(app).put('/metrics/job/a').send('# TYPE m counter\nm 1\n').expect(200);
    const res = await request(app).put('/metrics/job/b').send('# TYPE m gauge\nm 1\n').expect(400);
    expect(res.text).toMatch(/^pushed metrics are invalid or inconsistent with existing metrics: /);
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toMatch(/push_failure_time_seconds\{instance="",job="b"\} [1-9]/);
  });

  test('DELETE answers 202, also for a missing group', async () => {
    await request(app).put('/metrics/job/j').send('m 1\n').expect(200);
    await request(app).delete('/metrics/job/j').expect(202);
    await request(app).delete('/metrics/job/j').expect(202);
    expect(pushed((await request(app).get('/metrics')).text)).toEqual([]);
  });

  test('a wrong method on a push path is a 405 with Allow', async () => {
    const res = await request(app).get('/metrics/job/j').expect(405);
    expect(res.headers['allow']).toBe('DELETE, OPTIONS, POST, PUT');
  });

  test('an unknown path is a 404', async () => {
    await request(app).get('/nope').expect(404, '404 page not found\n');
  });

  test.each<[string, string | undefined, Buffer]>([
    ['a plain body', undefined, Buffer.from('metric_with_long_name 1\n'.repeat(5000))],
    ['a gzip bomb', 'gzip', gzipSync(Buffer.alloc(1 << 20))],
    // Found by the fuzz properties: a snappy body over the limit was a 400.
    ['a snappy bomb', 'snappy', Buffer.from(snappyBomb(1 << 20))],
  ])('the body limit answers 413 naming the flag for %s', async (_name, encoding, body) => {
    const small = (await makeApp(['--limits.body-bytes=102400'])).app;
    const req = request(small).put('/metrics/job/j');
    if (encoding !== undefined) req.set('Content-Encoding', encoding);
    const res = await req.send(body).expect(413);
    expect(res.text).toMatch(/--limits.body-bytes/);
  });

  test('the series limit answers 413 naming the flag', async () => {
    const small = (await makeApp(['--limits.series-per-push=1'])).app;
    const res = await request(small).put('/metrics/job/j').send('a 1\nb 1\n').expect(413);
    expect(res.text).toMatch(/--limits.series-per-push/);
  });

  // Bytes of UTF-8, not characters: four "é" are 8 bytes, five are 10.
  test.each([
    ['a label value of 8 ASCII bytes', '/metrics/job/j', 'a{l="abcdefgh"} 1\n', 200],
    ['a label value of 9 ASCII bytes', '/metrics/job/j', 'a{l="abcdefghi"} 1\n', 413],
    ['a label value of 8 bytes in 4 characters', '/metrics/job/j', 'a{l="\u00e9\u00e9\u00e9\u00e9"} 1\n', 200],
    ['a label value of 10 bytes in 5 characters', '/metrics/job/j', 'a{l="\u00e9\u00e9\u00e9\u00e9\u00e9"} 1\n', 413],
    ['a label name of 9 bytes', '/metrics/job/j', 'a{abcdefghi="x"} 1\n', 413],
    ['a grouping label value of 10 bytes in 5 characters', `/metrics/job/j/g/${encodeURIComponent('\u00e9\u00e9\u00e9\u00e9\u00e9')}`, 'a 1\n', 413],
  ])('the label length limit (8 bytes) for %s', async (_name, path, body, status) => {
    const small = (await makeApp(['--limits.label-length=8'])).app;
    const res = await request(small).put(path).send(body).expect(status);
    if (status === 413) expect(res.text).toMatch(/longer than 8 bytes \(--limits.label-length\)/);
  });
});

describe('gateway API, admin and lifecycle', () => {
  test('/api/v1/metrics has the Pushgateway shape', async () => {
    const { app } = await makeApp();
    await request(app).put('/metrics/job/j/a/1').send('# HELP m help\n# TYPE m counter\nm{x="y"} 3\n').expect(200);
    const res = await request(app).get('/api/v1/metrics').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body.status).toBe('success');
    const group = res.body.data[0];
    expect(group.labels).toEqual({ a: '1', job: 'j' });
    expect(group.last_push_successful).toBe(true);
    expect(group.m).toMatchObject({ type: 'COUNTER', help: 'help', metrics: [{ labels: { a: '1', instance: '', job: 'j', x: 'y' }, value: '3' }] });
    expect(group.push_time_seconds.type).toBe('GAUGE');
    expect(group.m.time_stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  // Found by the fuzz properties: a pushed push_failure_time_seconds far outside a Date's range
  // made both JSON APIs answer 500.
  test.each(['1e300', '-1e300', '+Inf', 'NaN'])('a pushed push_failure_time_seconds of %s leaves the JSON APIs answering', async (value) => {
    const { app } = await makeApp();
    await request(app).put('/metrics/job/j').send('m 1\n').expect(200);
    await request(app).post('/metrics/job/j').send(`push_failure_time_seconds ${value}\n`).expect(200);
    await request(app).get('/api/v1/metrics').expect(200);
    await request(app).get('/api/v1/groups').expect(200);
  });

  test('/api/v1/status lists the flags', async () => {
    const { app } = await makeApp();
    const res = await request(app).get('/api/v1/status').expect(200);
    expect(res.body.data.flags['persistence.interval']).toBe('5m');
    expect(Object.keys(res.body.data.build_information as object).sort()).toEqual(['branch', 'buildDate', 'buildUser', 'goVersion', 'revision', 'version']);
  });

  test('wipe exists only with --web.enable-admin-api', async () => {
    const { app } = await makeApp();
    await request(app).put('/api/v1/admin/wipe').expect(404);
    const admin = (await makeApp(['--web.enable-admin-api'])).app;
    await request(admin).put('/metrics/job/j').send('m 1\n').expect(200);
    await request(admin).put('/api/v1/admin/wipe').expect(202);
    expect((await request(admin).get('/api/v1/metrics')).body.data).toEqual([]);
  });

  test('/-/quit is refused without --web.enable-lifecycle', async () => {
    const { app, quits } = await makeApp();
    await request(app).put('/-/quit').expect(403, 'Lifecycle API is not enabled.');
    await request(app).get('/-/quit').expect(405, 'Only POST or PUT requests allowed.');
    expect(quits).toEqual([]);
    const enabled = await makeApp(['--web.enable-lifecycle']);
    await request(enabled.app).post('/-/quit').expect(200, 'Requesting termination... Goodbye!');
    expect(enabled.quits).toEqual([1]);
  });

  test('health and readiness answer OK', async () => {
    const { app } = await makeApp();
    await request(app).get('/-/healthy').expect(200, 'OK');
    await request(app).get('/-/ready').expect(200, 'OK');
  });

  test('the route prefix moves every route', async () => {
    const { app } = await makeApp(['--web.route-prefix=/pg']);
    await request(app).put('/pg/metrics/job/j').send('m 1\n').expect(200);
    await request(app).put('/metrics/job/j').send('m 1\n').expect(404);
    await request(app).get('/pg/metrics').expect(200);
  });

  test('own metrics count requests by handler', async () => {
    const { app } = await makeApp();
    await request(app).put('/metrics/job/j').send('m 1\n').expect(200);
    const res = await request(app).get('/metrics');
    expect(res.text).toContain('lethe_http_requests_total{handler="push",code="200",method="put"} 1');
  });
});

describe('scrape negotiation', () => {
  let app: Express;
  beforeEach(async () => {
    ({ app } = await makeApp(['--push.enable-utf8-names']));
    await request(app).put('/metrics/job/j').send('# TYPE req_total counter\nreq_total 3\n{"app.jobs"} 1\n').expect(200);
  });

  test.each<[string, string | undefined, string, RegExp]>([
    ['no Accept: text 0.0.4, names escaped', undefined, 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores', /\napp_jobs\{instance="",job="j"\} 1\n/],
    [
      "Prometheus 3's default: OpenMetrics with UTF-8 names and # EOF",
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3',
      'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8',
      /\{"app\.jobs",instance="",job="j"\} 1\.0\n[^]*# TYPE req counter\nreq_total\{instance="",job="j"\} 3\.0\n[^]*# EOF\n$/,
    ],
    ['text 1.0.0 with UTF-8 names', 'text/plain;version=1.0.0;escaping=allow-utf-8', 'text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8', /\{"app\.jobs",instance="",job="j"\} 1\n/],
    ['text 0.0.4 with dots', 'text/plain;version=0.0.4;escaping=dots', 'text/plain; version=0.0.4; charset=utf-8; escaping=dots', /\napp_dot_jobs\{instance="",job="j"\} 1\n/],
  ])('%s', async (_name, accept, contentType, body) => {
    const res = await (accept === undefined ? request(app).get('/metrics') : request(app).get('/metrics').set('Accept', accept)).expect(200);
    expect(res.headers['content-type']).toBe(contentType);
    expect(res.text).toMatch(body);
  });

  test('gzip applies to OpenMetrics as to text', async () => {
    const res = await request(app).get('/metrics').set('Accept', 'application/openmetrics-text;version=1.0.0').set('Accept-Encoding', 'gzip').expect(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.text.endsWith('# EOF\n')).toBe(true);
  });
});

describe('--push.enable-utf8-names', () => {
  test('U__ label names in the URL and quoted names in the body are stored as sent', async () => {
    const { app } = await makeApp(['--push.enable-utf8-names']);
    await request(app).put('/metrics/job/j/U__k8s_2e_namespace/prod').send('{"app.jobs","team.name"="a"} 1\n').expect(200);
    const res = await request(app).get('/metrics').set('Accept', 'text/plain;version=1.0.0;escaping=allow-utf-8').expect(200);
    expect(pushed(res.text)).toEqual(['{"app.jobs",instance="",job="j","k8s.namespace"="prod","team.name"="a"} 1']);
    const api = (await request(app).get('/api/v1/metrics').expect(200)).body as { data: { labels: Record<string, string> }[] };
    expect(api.data[0]?.labels).toEqual({ job: 'j', 'k8s.namespace': 'prod' });
    await request(app).delete('/metrics/job/j/U__k8s_2e_namespace/prod').expect(202);
    expect((await request(app).get('/api/v1/metrics')).body).toEqual({ status: 'success', data: [] });
  });

  test('without the flag: a U__ name is a legacy label name kept as it is, a quoted name is refused', async () => {
    const { app } = await makeApp();
    await request(app).put('/metrics/job/j/U__a_2e_b/v').send('m 1\n').expect(200);
    expect(pushed((await request(app).get('/metrics')).text)).toEqual(['m{U__a_2e_b="v",instance="",job="j"} 1']);
    await request(app).put('/metrics/job/j').send('{"app.jobs"} 1\n').expect(400, /text format parsing error in line 1/);
  });

  test.each([
    ['an empty name', '/metrics/job/j/U__/v'],
    ['a name that unescapes to a reserved one', '/metrics/job/j/U___5f__5f_x/v'],
    ['a reserved escaped name', '/metrics/job/j/__x/v'],
  ])('%s is a 400', async (_name, path) => {
    const { app } = await makeApp(['--push.enable-utf8-names']);
    await request(app).put(path).send('m 1\n').expect(400, /improper label name/);
  });
});

describe('native histograms in /api/v1/metrics', () => {
  test('buckets as [rule, lower, upper, count], with schema and zero threshold', async () => {
    const { app } = await makeApp();
    const body = delimited([
      {
        name: 'rpc_seconds',
        type: 'HISTOGRAM',
        metrics: [{ histogram: { count: 6, sum: 3.5, buckets: [], native: { schema: 0, zeroThreshold: 0.001, zeroCount: 1, positiveSpans: [[0, 2]], positiveDeltas: [2, 1], negativeSpans: [[1, 1]], negativeDeltas: [0] } } }],
      },
    ]);
    await request(app).put('/metrics/job/j').set('Content-Type', PROTOBUF_CONTENT_TYPE).send(body).expect(200);
    const api = (await request(app).get('/api/v1/metrics').expect(200)).body as { data: Record<string, { metrics: unknown[] }>[] };
    expect(api.data[0]?.['rpc_seconds']?.metrics[0]).toEqual({
      labels: { instance: '', job: 'j' },
      schema: 0,
      zero_threshold: '0.001',
      buckets: [
        [3, '-0.001', '0.001', '1'],
        [0, '0.5', '1', '2'],
        [0, '1', '2', '3'],
      ],
      count: '6',
      sum: '3.5',
    });
  });
});
