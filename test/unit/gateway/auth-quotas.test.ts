/**
 * Per-namespace quotas: a push that would give its namespace more groups or series than
 * --limits.namespace-groups / --limits.namespace-series allow is refused (413 naming the limit,
 * counted), nothing written; replacing a group within the quota, or shrinking it, always works;
 * other namespaces and unattributed groups are not affected.
 */
import { describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { groupingKeyOf } from '../../../src/model/index.js';
import { STATIC, TOKENS, authApp, bearer, counter } from './auth-app.js';

const A = bearer(TOKENS.teamA);
const B = bearer(TOKENS.teamB);
const series = (n: number): string => Array.from({ length: n }, (_, i) => `m{i="${i}"} 1\n`).join('');

describe('--limits.namespace-groups', () => {
  test('a namespace at its quota cannot add a group, but can replace its groups; others can still push', async () => {
    const { app, store, registry } = await authApp([...STATIC, '--limits.namespace-groups=2']);
    await request(app).put('/metrics/job/a1').set('Authorization', A).send('m 1\n').expect(200);
    await request(app).put('/metrics/job/a2').set('Authorization', A).send('m 1\n').expect(200);
    const res = await request(app).put('/metrics/job/a3').set('Authorization', A).send('m 1\n').expect(413);
    expect(res.text).toBe('limit exceeded: namespace "team-a" already has 2 groups, the most allowed (--limits.namespace-groups)\n');
    expect(store.groupCount).toBe(2);
    await request(app).put('/metrics/job/a2').set('Authorization', A).send('m 2\n').expect(200);
    await request(app).put('/metrics/job/b1').set('Authorization', B).send('m 1\n').expect(200);
    expect(await counter(registry, 'lethe_limit_rejections_total', { limit: 'namespace_groups' })).toBe(1);
    await request(app).delete('/metrics/job/a1').set('Authorization', A).expect(202);
    await request(app).put('/metrics/job/a3').set('Authorization', A).send('m 1\n').expect(200);
  });

  test('with auth off, the quota applies to the namespace a push is attributed to (pod IP or token)', async () => {
    const { app } = await authApp(['--limits.namespace-groups=1'], { fallback: { source: 'pod-ip', namespace: 'team-c' } });
    await request(app).put('/metrics/job/c1').send('m 1\n').expect(200);
    await request(app).put('/metrics/job/c2').send('m 1\n').expect(413, /namespace "team-c" already has 1 groups/);
  });

  test('unattributed groups count against no namespace', async () => {
    const { app } = await authApp(['--limits.namespace-groups=1']);
    await request(app).put('/metrics/job/x1').send('m 1\n').expect(200);
    await request(app).put('/metrics/job/x2').send('m 1\n').expect(200);
  });
});

describe('--limits.namespace-series', () => {
  test('series are summed over the namespace\'s groups; PUT replaces a group\'s series, POST adds to them', async () => {
    const { app, store, registry } = await authApp([...STATIC, '--limits.namespace-series=5']);
    await request(app).put('/metrics/job/a1').set('Authorization', A).send(series(3)).expect(200);
    const res = await request(app).put('/metrics/job/a2').set('Authorization', A).send(series(3)).expect(413);
    expect(res.text).toBe('limit exceeded: namespace "team-a" would have 6 series, more than 5 (--limits.namespace-series)\n');
    expect(store.groupCount).toBe(1);
    await request(app).put('/metrics/job/a2').set('Authorization', A).send(series(2)).expect(200);
    // Replacing a1's 3 series with 3 others stays at 5; adding a family by POST goes over.
    await request(app).put('/metrics/job/a1').set('Authorization', A).send(series(3)).expect(200);
    await request(app).post('/metrics/job/a1').set('Authorization', A).send('other 1\n').expect(413);
    await request(app).post('/metrics/job/a1').set('Authorization', A).send('m 1\n').expect(200);
    expect(store.namespaceUsage('team-a')).toEqual({ groups: 2, series: 3 });
    await request(app).put('/metrics/job/b1').set('Authorization', B).send(series(5)).expect(200);
    expect(await counter(registry, 'lethe_limit_rejections_total', { limit: 'namespace_series' })).toBe(2);
  });

  test('a namespace over a quota lowered after the fact may still shrink its groups', async () => {
    const { app, store } = await authApp([...STATIC, '--limits.namespace-series=2']);
    await store.push({
      key: groupingKeyOf({ job: 'big' }),
      method: 'PUT',
      families: [{ name: 'm', type: 'gauge', metrics: [1, 2, 3, 4].map((v) => ({ labels: [{ name: 'i', value: String(v) }], value: v })) }],
      attribution: { source: 'token', namespace: 'team-a' },
    });
    await request(app).put('/metrics/job/big').set('Authorization', A).send(series(3)).expect(200);
    await request(app).put('/metrics/job/big').set('Authorization', A).send(series(4)).expect(413);
  });
});
