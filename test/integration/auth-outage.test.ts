/**
 * --auth.mode=kubernetes while the API server is away, on a control plane of its own (so that
 * its API server can be stopped): a token reviewed before the outage keeps working from the
 * cache; a token that cannot be reviewed gets 503 and nothing is written (never a push taken
 * unchecked, nor attributed by a guess); scrapes keep working; nothing is deleted meanwhile;
 * once the API server is back, the new token works and due deletions happen.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { consistently, eventually } from '../harness/eventually.js';
import { createTestNamespace, loadTestKubeConfig } from '../harness/kube.js';
import { bearer, call, serviceAccountToken } from './auth-support.js';
import { TIMEOUT, body, createJob, hasSeries, jobBody, podOfJob, freshIp, scrape, startTestLethe, untilReady, waitForGroup, type TestLethe } from './lifecycle-support.js';

describe('auth: an API server outage', () => {
  let plane: ControlPlane;
  let kc: KubeConfig;
  let lethe: TestLethe | undefined;

  beforeAll(async () => {
    plane = await startControlPlane({ controllerManager: false });
    kc = loadTestKubeConfig(plane.kubeconfigPath);
  }, TIMEOUT);

  afterAll(async () => {
    await lethe?.stop();
    await plane.stop();
  }, TIMEOUT);

  test('cached tokens keep pushing, unreviewable ones get 503 with nothing written, scrapes go on, nothing is deleted', async () => {
    lethe = await startTestLethe(plane.kubeconfigPath, ['--auth.mode=kubernetes', '--auth.cache-ttl=10m']);
    const l = lethe;
    await untilReady(l, 60_000);
    // Without the controller-manager there is no default ServiceAccount: make it.
    const namespace = await createTestNamespace(kc, 'outage');
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default' } } });
    const due = await createJob(kc, namespace, jobBody('due', { annotations: { 'lethe.dev/ttl': '3s' } }));
    const pod = await podOfJob(kc, namespace, due, freshIp());
    const ofPod = await serviceAccountToken(kc, namespace, { pod });
    // Used before the outage (so its review is cached); not bound to the pod, so its groups are the namespace's (no ttl).
    const known = await serviceAccountToken(kc, namespace);
    const unseen = await serviceAccountToken(kc, namespace);

    expect((await call(l.port, 'PUT', `/metrics/job/due/ns/${namespace}`, { authorization: bearer(ofPod), body: body(1) })).status).toBe(200);
    expect((await call(l.port, 'PUT', `/metrics/job/steady/ns/${namespace}`, { authorization: bearer(known), body: body(1) })).status).toBe(200);
    await waitForGroup(l, 'due', (g) => g.owner?.uid === due.metadata?.uid);
    // No scrape before the outage: until one, the scrape grace holds `due` however slowly the
    // outage starts, so its deletion can only come due once the health gate is closed (the first
    // scrape is inside the outage below).

    await plane.stopApiServer();
    await eventually(() => l.loop.gates().includes('health'), { timeout: 15_000, interval: 50 });

    // The ttl of `due` runs out during the outage; it must stay until the API server is back.
    await consistently(
      async () => {
        const cached = await call(l.port, 'PUT', `/metrics/job/during/ns/${namespace}`, { authorization: bearer(known), body: body(2) });
        expect(cached.status).toBe(200);
        const refused = await call(l.port, 'PUT', `/metrics/job/unseen/ns/${namespace}`, { authorization: bearer(unseen), body: body(3) });
        expect(refused.status).toBe(503);
        expect(refused.body).toBe(
          'service unavailable: the bearer token could not be checked (the Kubernetes API server did not answer the TokenReview); nothing was written, retry later\n',
        );
        const text = await scrape(l.port);
        return hasSeries(text, 'work_done', { job: 'due' }) && hasSeries(text, 'work_done', { job: 'during' }) && !hasSeries(text, 'work_done', { job: 'unseen' });
      },
      { duration: 6_000, interval: 300 },
    );
    expect([...l.store.groups()].find((g) => g.key.labels.some((x) => x.value === 'during'))?.attribution).toMatchObject({ source: 'token', namespace });
    expect([...l.store.groups()].some((g) => g.key.labels.some((x) => x.value === 'unseen'))).toBe(false);

    await plane.startApiServer();
    await untilReady(l, 60_000);
    expect((await call(l.port, 'PUT', `/metrics/job/unseen/ns/${namespace}`, { authorization: bearer(unseen), body: body(3) })).status).toBe(200);
    expect([...l.store.groups()].find((g) => g.key.labels.some((x) => x.value === 'unseen'))?.attribution).toMatchObject({ source: 'token', namespace });
    await eventually(async () => !hasSeries(await scrape(l.port), 'work_done', { job: 'due', ns: namespace }), { timeout: 15_000 });
    expect(hasSeries(await scrape(l.port), 'work_done', { job: 'during', ns: namespace })).toBe(true);
  }, TIMEOUT);
});
