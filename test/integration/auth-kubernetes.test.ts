/**
 * Authentication on the real control plane (--auth.mode=kubernetes+static): ServiceAccount tokens
 * from the TokenRequest API checked with TokenReviews, static tokens, and the rule that one
 * namespace cannot overwrite or delete another namespace's groups; the admin wipe; restricted
 * reads; and --auth.token-audience.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { runGoPushClient } from '../harness/go-push-client.js';
import { createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig } from '../harness/kube.js';
import { bearer, call, serviceAccountToken } from './auth-support.js';
import { TIMEOUT, body, createJob, freshIp, hasSeries, jobBody, podOfJob, startTestLethe, untilReady, waitForGroup, type TestLethe } from './lifecycle-support.js';

const STATIC_TEAM_TOKEN = 'static-team-token-0123456789';
const STATIC_READER_TOKEN = 'static-reader-token-0123456789';

describe('auth: ServiceAccount tokens and static credentials', () => {
  let kc: KubeConfig;
  let lethe: TestLethe;
  let dir: string;
  let teamA: string;
  let teamB: string;
  let ops: string;
  const reader = bearer(STATIC_READER_TOKEN);

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    [teamA, teamB, ops] = await Promise.all([createTestNamespace(kc, 'team-a'), createTestNamespace(kc, 'team-b'), createTestNamespace(kc, 'ops')]);
    dir = mkdtempSync(join(tmpdir(), 'lethe-auth-'));
    const file = join(dir, 'auth.json');
    writeFileSync(
      file,
      JSON.stringify({
        tokens: [
          { name: 'ci-b', token: STATIC_TEAM_TOKEN, namespace: teamB },
          { name: 'prometheus', token: STATIC_READER_TOKEN },
        ],
      }),
    );
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG'], [
      '--auth.mode=kubernetes+static',
      `--auth.static-file=${file}`,
      '--auth.read=authenticated',
      `--auth.kubernetes-admins=system:serviceaccount:${ops}:default`,
      '--web.enable-admin-api',
    ]);
    await untilReady(lethe);
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
    await Promise.all([teamA, teamB, ops].map((ns) => deleteTestNamespace(kc, ns)));
    rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT);

  const scrapeAs = async (authorization: string): Promise<string> => {
    const answer = await call(lethe.port, 'GET', '/metrics', { authorization });
    expect(answer.status).toBe(200);
    return answer.body;
  };

  test('a pod-bound token pushes to its namespace: attributed to the pod, owned by its Job; reads need credentials', async () => {
    const job = await createJob(kc, teamA, jobBody('backup'));
    const pod = await podOfJob(kc, teamA, job, freshIp());
    const token = await serviceAccountToken(kc, teamA, { pod });

    const pushed = await call(lethe.port, 'PUT', `/metrics/job/backup/ns/${teamA}`, { authorization: bearer(token), body: body(1) });
    expect(pushed.status).toBe(200);
    const group = await waitForGroup(lethe, teamA, (g) => g.owner?.kind === 'Job');
    expect(group.attribution).toMatchObject({
      source: 'token',
      namespace: teamA,
      user: `system:serviceaccount:${teamA}:default`,
      pod: pod.metadata?.name,
      run: { group: 'batch', kind: 'Job', name: 'backup', uid: job.metadata?.uid },
    });
    expect(group.owner).toMatchObject({ kind: 'Job', name: 'backup', namespace: teamA });

    const anonymous = await call(lethe.port, 'GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toContain('Bearer realm="lethe"');
    expect(hasSeries(await scrapeAs(bearer(token)), 'work_done', { job: 'backup', ns: teamA })).toBe(true);
    expect(hasSeries(await scrapeAs(reader), 'work_done', { job: 'backup', ns: teamA })).toBe(true);
  }, TIMEOUT);

  test("client_golang's push with the pod's token (Header): attributed to the pod; another namespace's token gets the 403 and its reason", async () => {
    const job = await createJob(kc, teamA, jobBody('go-backup'));
    const pod = await podOfJob(kc, teamA, job, freshIp());
    const tokenFile = join(dir, 'go-token');
    writeFileSync(tokenFile, await serviceAccountToken(kc, teamA, { pod }));
    const url = `http://127.0.0.1:${lethe.port}`;
    expect(await runGoPushClient(['-url', url, '-job', 'go-backup', '-grouping', `ns=${teamA}`, '-set', 'runs', '-bearer-token-file', tokenFile])).toEqual({ code: 0, stderr: '' });
    const group = await waitForGroup(lethe, 'go-backup', (g) => g.owner?.kind === 'Job');
    expect(group.attribution).toMatchObject({ source: 'token', namespace: teamA, pod: pod.metadata?.name });
    expect(group.owner).toMatchObject({ kind: 'Job', name: 'go-backup', namespace: teamA });

    const otherFile = join(dir, 'go-token-b');
    writeFileSync(otherFile, await serviceAccountToken(kc, teamB));
    const refused = await runGoPushClient(['-url', url, '-job', 'go-backup', '-grouping', `ns=${teamA}`, '-set', 'runs', '-bearer-token-file', otherFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('unexpected status code 403');
    expect(refused.stderr).toContain('belongs to another namespace');
  }, TIMEOUT);

  test('another namespace cannot overwrite or delete that group: 403, and it stays as it was', async () => {
    const path = `/metrics/job/shared/ns/${teamA}`;
    const tokenA = await serviceAccountToken(kc, teamA);
    const tokenB = await serviceAccountToken(kc, teamB);
    expect((await call(lethe.port, 'PUT', path, { authorization: bearer(tokenA), body: body(1) })).status).toBe(200);

    for (const [method, authorization] of [
      ['PUT', bearer(tokenB)],
      ['POST', bearer(tokenB)],
      ['DELETE', bearer(tokenB)],
      ['PUT', bearer(STATIC_TEAM_TOKEN)],
    ] as const) {
      const answer = await call(lethe.port, method, path, { authorization, ...(method === 'DELETE' ? {} : { body: body(666) }) });
      expect({ method, status: answer.status, body: answer.body }).toEqual({
        method,
        status: 403,
        body: `forbidden: the group {job="shared",ns=${JSON.stringify(teamA)}} belongs to another namespace; a caller may push to and delete only groups of its own namespace\n`,
      });
    }
    const group = [...lethe.store.groups()].find((g) => g.key.labels.some((l) => l.value === 'shared'));
    expect(group?.attribution.namespace).toBe(teamA);
    expect(group?.lastFailureAt).toBe(0);
    const text = await scrapeAs(reader);
    const shared = text.split('\n').filter((l) => l.startsWith('work_done{') && l.includes('job="shared"'));
    expect(shared).toEqual([`work_done{instance="",job="shared",ns="${teamA}"} 1`]);

    expect((await call(lethe.port, 'DELETE', path, { authorization: bearer(tokenA) })).status).toBe(202);
    expect(hasSeries(await scrapeAs(reader), 'work_done', { job: 'shared' })).toBe(false);
  }, TIMEOUT);

  test('no token, a bad token and the token of a deleted pod get 401 with the reason; nothing is written', async () => {
    const job = await createJob(kc, teamA, jobBody('gone'));
    const pod = await podOfJob(kc, teamA, job, freshIp());
    const token = await serviceAccountToken(kc, teamA, { pod });
    const core = kc.makeApiClient(CoreV1Api);
    await core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: teamA, gracePeriodSeconds: 0 });
    await eventually(() => isGone(() => core.readNamespacedPod({ name: pod.metadata?.name ?? '', namespace: teamA })), { timeout: 30_000 });

    const cases: [string, string | undefined, RegExp][] = [
      ['no token', undefined, /credentials are required/],
      ['a bad token', bearer('not-a-token'), /the Kubernetes API server did not accept the bearer token/],
      ['the token of a deleted pod', bearer(token), /the Kubernetes API server did not accept the bearer token/],
    ];
    for (const [name, authorization, reason] of cases) {
      const answer = await call(lethe.port, 'PUT', `/metrics/job/refused/ns/${teamA}`, { ...(authorization === undefined ? {} : { authorization }), body: body() });
      expect({ name, status: answer.status }).toEqual({ name, status: 401 });
      expect(answer.body).toMatch(reason);
    }
    expect([...lethe.store.groups()].some((g) => g.key.labels.some((l) => l.value === 'refused'))).toBe(false);
  }, TIMEOUT);

  test('a static token pushes to the namespace the file gives it; a read-only token cannot push', async () => {
    const answer = await call(lethe.port, 'PUT', `/metrics/job/ci/ns/${teamB}`, { authorization: bearer(STATIC_TEAM_TOKEN), body: body(3) });
    expect(answer.status).toBe(200);
    const group = await waitForGroup(lethe, teamB, (g) => g.owner !== undefined);
    expect(group.attribution).toMatchObject({ source: 'token', namespace: teamB, user: 'static:ci-b' });
    expect(group.owner).toMatchObject({ kind: 'Namespace', name: teamB });

    const refused = await call(lethe.port, 'PUT', `/metrics/job/ci/ns/reader`, { authorization: reader, body: body() });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/not bound to a namespace/);
  }, TIMEOUT);

  test('the wipe needs an admin: a namespace token gets 403, a ServiceAccount named in --auth.kubernetes-admins wipes', async () => {
    const tokenA = await serviceAccountToken(kc, teamA);
    expect((await call(lethe.port, 'PUT', `/metrics/job/kept/ns/${teamA}`, { authorization: bearer(tokenA), body: body() })).status).toBe(200);
    const refused = await call(lethe.port, 'PUT', '/api/v1/admin/wipe', { authorization: bearer(tokenA) });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 'error', error: 'forbidden: this needs admin credentials' });
    expect(lethe.store.groupCount).toBeGreaterThan(0);

    const admin = await serviceAccountToken(kc, ops);
    expect((await call(lethe.port, 'PUT', '/api/v1/admin/wipe', { authorization: bearer(admin) })).status).toBe(202);
    await eventually(() => lethe.store.groupCount === 0);
  }, TIMEOUT);
});

describe('auth: --auth.token-audience', () => {
  let kc: KubeConfig;
  let lethe: TestLethe;
  let namespace: string;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    namespace = await createTestNamespace(kc, 'aud');
    lethe = await startTestLethe(process.env['LETHE_TEST_KUBECONFIG'], ['--auth.mode=kubernetes', '--auth.token-audience=lethe']);
    await untilReady(lethe);
  }, TIMEOUT);

  afterAll(async () => {
    await lethe.stop();
    await deleteTestNamespace(kc, namespace);
  }, TIMEOUT);

  test('a token for the audience is accepted; one for the API server is refused', async () => {
    const forLethe = await serviceAccountToken(kc, namespace, { audiences: ['lethe'] });
    const forApiServer = await serviceAccountToken(kc, namespace);
    expect((await call(lethe.port, 'PUT', `/metrics/job/aud/ns/${namespace}`, { authorization: bearer(forLethe), body: body() })).status).toBe(200);
    const refused = await call(lethe.port, 'PUT', `/metrics/job/aud2/ns/${namespace}`, { authorization: bearer(forApiServer), body: body() });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatch(/did not accept the bearer token/);
    // Reads are open (--auth.read=anyone, the default).
    expect((await call(lethe.port, 'GET', '/metrics')).status).toBe(200);
  }, TIMEOUT);
});
