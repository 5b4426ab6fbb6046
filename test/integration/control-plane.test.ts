/**
 * Proves the harness control plane is real: the controllers Lethe relies on act on what the
 * tests create, and the API server can be stopped and restarted on the same address.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  AuthenticationV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1CronJob,
  type V1Job,
  type V1JobSpec,
  type V1Pod,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, isGone, loadTestKubeConfig } from '../harness/kube.js';

// The integration project's testTimeout does not reach the tests (Jest reads testTimeout from the
// global config only), so each slow hook and test names its own.
const TIMEOUT = 120_000;

const jobSpec = (): V1JobSpec => ({
  backoffLimit: 0,
  template: {
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
  },
});

const job = (name: string, mods: Partial<V1Job> = {}): V1Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: jobSpec(),
  ...mods,
});

const cronJob = (name: string, schedule: string, suspend = false): V1CronJob => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name },
  spec: { schedule, suspend, jobTemplate: { spec: jobSpec() } },
});

describe('shared control plane', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let namespace: string;

  beforeAll(() => {
    kc = loadTestKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    batch = kc.makeApiClient(BatchV1Api);
  });

  beforeEach(async () => {
    namespace = await createTestNamespace(kc);
  });

  afterEach(async () => {
    await deleteTestNamespace(kc, namespace);
  });

  test('deleting a namespace deletes its Jobs (namespace controller)', async () => {
    await batch.createNamespacedJob({ namespace, body: job('doomed') });

    await core.deleteNamespace({ name: namespace });

    await eventually(() => isGone(() => batch.readNamespacedJob({ name: 'doomed', namespace })), {
      timeout: 60_000,
      interval: 250,
    });
  }, TIMEOUT);

  test('a Job owned by a deleted CronJob is garbage-collected', async () => {
    const owner = await batch.createNamespacedCronJob({ namespace, body: cronJob('owner', '0 0 1 1 *', true) });
    await batch.createNamespacedJob({
      namespace,
      body: job('owner-manual', {
        metadata: {
          name: 'owner-manual',
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'CronJob',
              name: 'owner',
              uid: owner.metadata!.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
      }),
    });

    await batch.deleteNamespacedCronJob({ name: 'owner', namespace, propagationPolicy: 'Background' });

    await eventually(() => isGone(() => batch.readNamespacedJob({ name: 'owner-manual', namespace })), {
      timeout: 45_000,
      interval: 250,
    });
  }, TIMEOUT);

  test('a CronJob scheduled every minute gets a Job (cronjob controller)', async () => {
    const created = await batch.createNamespacedCronJob({ namespace, body: cronJob('every-minute', '* * * * *') });

    const spawned = await eventually(
      async () => {
        const jobs = await batch.listNamespacedJob({ namespace });
        const owned = jobs.items.find((j) =>
          j.metadata?.ownerReferences?.some((ref) => ref.uid === created.metadata!.uid && ref.controller === true),
        );
        if (owned === undefined) throw new Error(`no Job owned by the CronJob yet (${jobs.items.length} Jobs)`);
        return owned;
      },
      { timeout: 75_000, interval: 1_000 },
    );

    expect(spawned.metadata!.name).toMatch(/^every-minute-\d+$/);
  }, TIMEOUT);

  test('a token bound to a pod is reviewed as that pod (TokenRequest + TokenReview)', async () => {
    // The ServiceAccount admission plugin is off, so set serviceAccountName; the account
    // itself comes from the serviceaccount controller.
    await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace }), { timeout: 30_000 });
    const pod: V1Pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'pusher' },
        spec: { serviceAccountName: 'default', containers: [{ name: 'main', image: 'busybox' }] },
      },
    });

    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: 'default',
      namespace,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: 600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'pusher', uid: pod.metadata!.uid! },
        },
      },
    });
    const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token: tokenRequest.status!.token! } },
    });

    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${namespace}:default`);
    expect(review.status?.user?.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['pusher']);
  }, TIMEOUT);
});

describe('a dedicated control plane', () => {
  let plane: ControlPlane;

  beforeAll(async () => {
    plane = await startControlPlane({ controllerManager: false });
  }, TIMEOUT);

  afterAll(async () => {
    await plane.stop();
  }, TIMEOUT);

  test('restarts its API server on the same address with the same data', async () => {
    const kc = loadTestKubeConfig(plane.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await createTestNamespace(kc);

    await plane.stopApiServer();
    await expect(core.readNamespace({ name: namespace })).rejects.toThrow();

    await plane.startApiServer();
    const survivor = await core.readNamespace({ name: namespace });
    expect(survivor.metadata?.name).toBe(namespace);
    expect(kc.getCurrentCluster()?.server).toBe(plane.apiServerUrl);
  }, TIMEOUT);
});
