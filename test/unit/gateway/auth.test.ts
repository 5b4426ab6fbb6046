/**
 * Authentication and authorization at the gateway: with --auth.mode=none nothing changes (the
 * Pushgateway's open API); with it on, pushes and deletes need credentials bound to a namespace
 * and reach only that namespace's groups, the wipe and /-/quit need an admin, reads follow
 * --auth.read, and every refusal writes nothing.
 */
import { describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { ErrorCode, UnavailableError } from '../../../src/errors.js';
import type { Authenticator } from '../../../src/gateway/index.js';
import { groupingKeyOf } from '../../../src/model/index.js';
import { STATIC, TOKENS, authApp, basic, bearer, counter, pushed } from './auth-app.js';

const A = bearer(TOKENS.teamA);
const B = bearer(TOKENS.teamB);
const READER = bearer(TOKENS.reader);
const ADMIN = bearer(TOKENS.admin);

describe('auth off (the default)', () => {
  test('pushes, deletes, reads and the wipe need no credentials, and a bearer header goes to the attributor untouched', async () => {
    const { app, origins, store } = await authApp(['--web.enable-admin-api']);
    await request(app).put('/metrics/job/j').set('Authorization', 'Bearer whatever').send('m 1\n').expect(200);
    expect(origins[0]).toMatchObject({ authorization: 'Bearer whatever', principal: { source: 'anonymous', admin: false } });
    await request(app).put('/metrics/job/k').send('m 1\n').expect(200);
    await request(app).delete('/metrics/job/k').expect(202);
    await request(app).get('/metrics').expect(200);
    await request(app).get('/api/v1/metrics').expect(200);
    await request(app).put('/api/v1/admin/wipe').expect(202);
    await new Promise((r) => setImmediate(r));
    expect(store.groupCount).toBe(0);
  });

  test('a malformed Authorization header is not looked at', async () => {
    const { app } = await authApp([]);
    await request(app).put('/metrics/job/j').set('Authorization', 'Negotiate a b c').send('m 1\n').expect(200);
  });
});

describe('auth on: who may push', () => {
  test.each([
    ['no credentials', 401, undefined, /credentials are required/],
    ['an unknown bearer token', 401, bearer('not-a-known-token-at-all'), /bearer token is not known/],
    ['an unsupported scheme', 401, 'Digest username="x"', /must be "Bearer <token>" or "Basic <credentials>"/],
    ['malformed basic credentials', 401, 'Basic !!!', /malformed basic credentials/],
    ['a wrong password', 401, basic('jenkins', 'not-the-password-at-all'), /unknown user or wrong password/],
    ['an unknown user', 401, basic('nobody', 'jenkins-password-0123'), /unknown user or wrong password/],
    ['credentials bound to no namespace (a reader)', 403, READER, /not bound to a namespace/],
  ])('%s: %i and nothing written', async (_name, status, authorization, message) => {
    const { app, store, registry } = await authApp(STATIC);
    const req = request(app).put('/metrics/job/j').send('m 1\n');
    if (authorization !== undefined) req.set('Authorization', authorization);
    const res = await req.expect(status);
    expect(res.text).toMatch(message);
    expect(store.groupCount).toBe(0);
    if (status === 401) {
      expect(res.headers['www-authenticate']).toBe('Bearer realm="lethe", Basic realm="lethe", charset="UTF-8"');
      expect(await counter(registry, 'lethe_auth_failures_total', { reason: authorization === undefined ? 'missing_credentials' : 'bad_credentials' })).toBe(1);
    }
  });

  test('a namespace-bound token pushes; the group is attributed to its namespace', async () => {
    const { app, store } = await authApp(STATIC);
    await request(app).put('/metrics/job/j/instance/x').set('Authorization', A).send('m 1\n').expect(200);
    expect(store.get(groupingKeyOf({ job: 'j', instance: 'x' }))?.attribution).toEqual({ source: 'token', namespace: 'team-a', user: 'static:ci-a' });
  });

  test('a basic-auth user pushes to its namespace', async () => {
    const { app, store } = await authApp(STATIC);
    await request(app).post('/metrics/job/j').set('Authorization', basic('jenkins', 'jenkins-password-0123')).send('m 1\n').expect(200);
    expect(store.get(groupingKeyOf({ job: 'j' }))?.attribution.namespace).toBe('team-b');
  });

  test('a secret never appears in an answer', async () => {
    const { app } = await authApp(STATIC);
    const res = await request(app).put('/metrics/job/j').set('Authorization', basic('jenkins', 'guessed-password-4567')).send('m 1\n').expect(401);
    expect(res.text).not.toContain('guessed-password-4567');
  });
});

describe('auth on: one namespace cannot touch another namespace\'s groups', () => {
  test('the same grouping key pushed from another namespace is refused (403), and the group is unchanged', async () => {
    const { app, store, registry } = await authApp(STATIC);
    await request(app).put('/metrics/job/backup').set('Authorization', A).send('m 1\n').expect(200);
    const before = store.get(groupingKeyOf({ job: 'backup' }));
    const failureBefore = before?.lastFailureAt;
    for (const method of ['put', 'post'] as const) {
      const res = await request(app)[method]('/metrics/job/backup').set('Authorization', B).send('m 2\n').expect(403);
      expect(res.text).toMatch(/belongs to another namespace/);
      expect(res.text).not.toContain('team-a');
    }
    // A push the consistency check would refuse records a failure time: not on another namespace's group.
    await request(app).put('/metrics/job/backup').set('Authorization', B).send('m 2 1000\n').expect(403);
    const after = store.get(groupingKeyOf({ job: 'backup' }));
    expect(after?.attribution.namespace).toBe('team-a');
    expect(after?.lastFailureAt).toBe(failureBefore);
    expect(pushed((await request(app).get('/metrics')).text)).toEqual(['m{instance="",job="backup"} 1']);
    expect(await counter(registry, 'lethe_auth_failures_total', { reason: 'other_namespace' })).toBe(3);
  });

  test('DELETE of another namespace\'s group is refused; its own and a missing one answer 202', async () => {
    const { app, store } = await authApp(STATIC);
    await request(app).put('/metrics/job/backup').set('Authorization', A).send('m 1\n').expect(200);
    await request(app).delete('/metrics/job/backup').set('Authorization', B).expect(403);
    expect(store.groupCount).toBe(1);
    await request(app).delete('/metrics/job/absent').set('Authorization', B).expect(202);
    await request(app).delete('/metrics/job/backup').set('Authorization', A).expect(202);
    expect(store.groupCount).toBe(0);
  });

  test('of two namespaces creating the same group at once, exactly one wins', async () => {
    const { app, store } = await authApp(STATIC);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(app)
          .put('/metrics/job/race')
          .set('Authorization', i % 2 === 0 ? A : B)
          .send(`m ${i}\n`)
          .then((r) => r.status),
      ),
    );
    const winner = store.get(groupingKeyOf({ job: 'race' }))?.attribution.namespace;
    const wins = winner === 'team-a' ? [0, 2, 4, 6, 8] : [1, 3, 5, 7, 9];
    expect(statuses.map((s, i) => (wins.includes(i) ? s === 200 : s === 403))).toEqual(Array(10).fill(true));
  });

  test('a group pushed while auth was off (no namespace) belongs to nobody: only an admin may change it', async () => {
    const { app, store } = await authApp(STATIC);
    await store.push({ key: groupingKeyOf({ job: 'old' }), method: 'PUT', families: [], attribution: { source: 'none' } });
    await request(app).put('/metrics/job/old').set('Authorization', A).send('m 1\n').expect(403);
    await request(app).delete('/metrics/job/old').set('Authorization', ADMIN).expect(202);
    await request(app).put('/metrics/job/old').set('Authorization', A).send('m 1\n').expect(200);
  });

  test('an admin deletes any group', async () => {
    const { app, store } = await authApp(STATIC);
    await request(app).put('/metrics/job/backup').set('Authorization', A).send('m 1\n').expect(200);
    await request(app).delete('/metrics/job/backup').set('Authorization', ADMIN).expect(202);
    expect(store.groupCount).toBe(0);
  });

  test('a write sent by a browser from another site is refused, whatever its credentials', async () => {
    const { app, store } = await authApp(STATIC);
    await request(app).put('/metrics/job/j').set('Authorization', A).set('Sec-Fetch-Site', 'cross-site').send('m 1\n').expect(403, /another site/);
    expect(store.groupCount).toBe(0);
    await request(app).put('/metrics/job/j').set('Authorization', A).set('Sec-Fetch-Site', 'same-origin').send('m 1\n').expect(200);
  });
});

describe('auth on: admin routes', () => {
  test('the wipe needs an admin', async () => {
    const { app, store } = await authApp([...STATIC, '--web.enable-admin-api']);
    await request(app).put('/metrics/job/j').set('Authorization', A).send('m 1\n').expect(200);
    await request(app).put('/api/v1/admin/wipe').expect(401);
    const res = await request(app).put('/api/v1/admin/wipe').set('Authorization', A).expect(403);
    expect(JSON.parse(res.text)).toEqual({ status: 'error', errorType: 'bad_data', error: 'forbidden: this needs admin credentials' });
    expect(store.groupCount).toBe(1);
    await request(app).put('/api/v1/admin/wipe').set('Authorization', ADMIN).expect(202);
    await new Promise((r) => setImmediate(r));
    expect(store.groupCount).toBe(0);
  });

  test('/-/quit needs an admin', async () => {
    const { app, quits } = await authApp([...STATIC, '--web.enable-lifecycle']);
    await request(app).put('/-/quit').set('Authorization', A).expect(403);
    expect(quits).toEqual([]);
    await request(app).put('/-/quit').set('Authorization', ADMIN).expect(200);
    expect(quits).toEqual([1]);
  });
});

describe('auth on: reads (--auth.read)', () => {
  const reads = ['/metrics', '/api/v1/metrics', '/api/v1/status', '/api/v1/groups', '/'];
  test.each([
    ['anyone', 'no credentials', 200, undefined],
    ['authenticated', 'no credentials', 401, undefined],
    ['authenticated', 'a reader token', 200, READER],
    ['authenticated', 'a namespace token', 200, A],
    ['authenticated', 'an unknown token', 401, bearer('not-a-known-token-at-all')],
    ['admin', 'a reader token', 403, READER],
    ['admin', 'an admin token', 200, ADMIN],
  ])('--auth.read=%s with %s: %i', async (read, _what, status, authorization) => {
    const { app } = await authApp([...STATIC, `--auth.read=${read}`]);
    for (const path of reads) {
      const req = request(app).get(path);
      if (authorization !== undefined) req.set('Authorization', authorization);
      expect({ path, status: (await req).status }).toEqual({ path, status });
    }
  });

  test('probes and CORS preflights are always open', async () => {
    const { app } = await authApp([...STATIC, '--auth.read=admin']);
    await request(app).get('/-/healthy').expect(200);
    await request(app).get('/-/ready').expect(200);
    await request(app).options('/api/v1/metrics').expect(200);
    await request(app).options('/metrics/job/j').expect(200);
  });
});

describe('auth on: an authenticator that cannot answer', () => {
  test('the request gets 503 with the reason, and nothing is written', async () => {
    const down: Authenticator = {
      name: 'kubernetes',
      authenticate: () => Promise.reject(new UnavailableError(ErrorCode.authUnavailable, 'service unavailable: the bearer token could not be checked')),
    };
    const { app, store, registry } = await authApp(['--auth.mode=kubernetes'], { authenticators: [down] });
    await request(app).put('/metrics/job/j').set('Authorization', A).send('m 1\n').expect(503, /could not be checked/);
    expect(store.groupCount).toBe(0);
    expect(await counter(registry, 'lethe_auth_failures_total', { reason: 'unavailable' })).toBe(1);
  });
});
