/**
 * Lethe on a real node: the chart installed with helm, its pod run by a kubelet through
 * containerd and runc on a CNI bridge, with the token the kubelet projects; a CronJob whose pods
 * push with a real client (prom-client's Pushgateway) from their own pod IPs through the Service
 * (kube-proxy); and Lethe forgetting their groups when the CronJob is deleted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AppsV1Api, BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, type V1CronJob, type V1Pod } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace } from '../harness/kube.js';
import { chartDir, helm, helmErrors } from '../integration/deploy-support.js';
import { imageName, podmanOk } from '../image/podman.js';
import { KUBERNETES_SERVICE_IP, NODE_CONTROLLERS, NODE_NAME, hostAddress, nodeBinaries, startNode, type RunningNode } from './node.js';
import { PROMETHEUS_HEADERS } from '../harness/scrapers.js';

/** A scraper's request (only a scraper's complete response ends the scrape grace), in the text format. */
const SCRAPER = { ...PROMETHEUS_HEADERS, accept: 'text/plain;version=0.0.4' };

const TIMEOUT = 600_000;
const NAMESPACE = 'lethe';
const CRONJOB = 'nightly-backup';

/** What each run of the CronJob does: push two gauges with prom-client, as a batch job would. */
const PUSH_SCRIPT = `
const client = require('/app/node_modules/prom-client');
const registry = new client.Registry();
new client.Gauge({ name: 'backup_last_success_timestamp_seconds', help: 'When the backup last succeeded.', registers: [registry] }).setToCurrentTime();
new client.Gauge({ name: 'backup_runner_info', help: 'Where the backup ran.', labelNames: ['pod_ip'], registers: [registry] }).set({ pod_ip: process.env.POD_IP }, 1);
new client.Pushgateway(process.env.PUSHGATEWAY_URL, {}, registry)
  .push({ jobName: '${CRONJOB}' })
  .then(({ resp, body }) => { console.log('pushed from', process.env.POD_IP, resp.statusCode, body); process.exit(resp.statusCode === 200 ? 0 : 1); })
  .catch((err) => { console.error(err); process.exit(1); });
`;

interface GroupJson {
  readonly labels: Record<string, string>;
  readonly attribution: Record<string, unknown>;
  readonly owner: Record<string, unknown> | null;
}

describe('Lethe on a real node', () => {
  const image = imageName();
  let plane: ControlPlane | undefined;
  let node: RunningNode | undefined;
  let kc: KubeConfig;
  let dir: string;
  let serviceUrl: string;

  const groups = async (): Promise<GroupJson[]> => {
    const res = await fetch(`${serviceUrl}/api/v1/groups`, { signal: AbortSignal.timeout(5_000) });
    return ((await res.json()) as { data: { groups: GroupJson[] } }).data.groups;
  };

  beforeAll(async () => {
    const hostIp = hostAddress();
    const binaries = nodeBinaries();
    // Pods reach kube-apiserver through the `kubernetes` Service (10.0.0.1) and its endpoint, the host.
    plane = await startControlPlane({
      apiServerBindAddress: '0.0.0.0',
      apiServerCertIps: [hostIp, KUBERNETES_SERVICE_IP],
      nodes: { advertiseAddress: hostIp, extraControllers: NODE_CONTROLLERS },
    });
    kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    dir = await mkdtemp(join(tmpdir(), 'lethe-node-test-'));
    node = await startNode({
      plane,
      kc,
      hostIp,
      dir: join(dir, 'node'),
      binaries,
    });

    // The image reaches the node as from a registry: an archive imported into containerd's k8s.io namespace.
    const archive = join(dir, 'lethe-image.tar');
    await podmanOk(['save', '--format', 'docker-archive', '--output', archive, image]);
    await node.importImage(archive);
    await rm(archive);

    const [repository, tag] = [image.slice(0, image.lastIndexOf(':')), image.slice(image.lastIndexOf(':') + 1)];
    const installed = await helm([
      'install', 'lethe', chartDir, '--kubeconfig', plane.kubeconfigPath, '--namespace', NAMESPACE, '--create-namespace',
      '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never',
      '--set', 'leaderElection.enabled=true', '--wait', '--timeout', '5m',
    ]);
    if (installed.code !== 0) throw new Error(`helm install failed: ${helmErrors(installed.stderr)}\n${installed.stdout}`);
    const service = await kc.makeApiClient(CoreV1Api).readNamespacedService({ name: 'lethe', namespace: NAMESPACE });
    serviceUrl = `http://${service.spec?.clusterIP ?? ''}:9091`;
  }, TIMEOUT);

  afterAll(async () => {
    await node?.stop();
    await plane?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, TIMEOUT);

  test("the chart's pod runs on the node, ready, with the kubelet's token, and holds its Lease", async () => {
    const deployment = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'lethe', namespace: NAMESPACE });
    expect(deployment.status?.availableReplicas).toBe(1);
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app.kubernetes.io/name=lethe' });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0] as V1Pod;
    expect(pod.spec?.nodeName).toBe(NODE_NAME);
    expect(pod.status?.podIP).toMatch(/^10\.244\.0\.\d+$/);
    // The ServiceAccount admission plugin's token volume, which the kubelet fills.
    expect(pod.spec?.containers[0]?.volumeMounts?.map((m) => m.mountPath)).toContain('/var/run/secrets/kubernetes.io/serviceaccount');
    const lease = await eventually(
      async () => {
        const found = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'lethe', namespace: NAMESPACE });
        if (found.spec?.holderIdentity !== pod.metadata?.name) throw new Error(`the Lease is held by ${String(found.spec?.holderIdentity)}`);
        return found;
      },
      { timeout: 60_000, interval: 500 },
    );
    expect(lease.spec?.holderIdentity).toBe(pod.metadata?.name);
    expect((await fetch(`${serviceUrl}/-/ready`)).status).toBe(200);
    const started = pod.status?.containerStatuses?.[0]?.state?.running?.startedAt;
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
    process.stderr.write(`\nLethe's pod ${pod.metadata?.name ?? ''} on ${NODE_NAME}: container started ${String(started?.toISOString())}, Ready ${String(ready?.toISOString())} (the kubelet probes every 2 s)\n`);
  }, TIMEOUT);

  test("a CronJob's pods push from their own pod IPs through the Service; the groups go when the CronJob is deleted", async () => {
    const tenant = await createTestNamespace(kc, 'team');
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const cronJob: V1CronJob = {
      metadata: { name: CRONJOB },
      spec: {
        schedule: '* * * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          spec: {
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'backup',
                    image,
                    imagePullPolicy: 'Never',
                    command: ['node', '-e', PUSH_SCRIPT],
                    env: [
                      { name: 'PUSHGATEWAY_URL', value: serviceUrl },
                      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                    ],
                    securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                  },
                ],
              },
            },
          },
        },
      },
    };
    const created = await batch.createNamespacedCronJob({ namespace: tenant, body: cronJob });

    // The first run (the schedule fires at the next minute) succeeds: its push was answered 200.
    const run = await eventually(
      async (): Promise<V1Pod> => {
        const pods = await core.listNamespacedPod({ namespace: tenant });
        const done = pods.items.find((p) => p.status?.phase === 'Succeeded');
        const failed = pods.items.find((p) => p.status?.phase === 'Failed');
        if (failed !== undefined) throw new Error(`run ${failed.metadata?.name ?? ''} failed: ${JSON.stringify(failed.status?.containerStatuses?.[0]?.state)}`);
        if (done === undefined) throw new Error(`no run has succeeded yet (${pods.items.map((p) => `${p.metadata?.name ?? ''}: ${p.status?.phase ?? ''}`).join(', ')})`);
        return done;
      },
      { timeout: 150_000, interval: 1_000 },
    );
    const runIp = run.status?.podIP ?? '';
    expect(runIp).toMatch(/^10\.244\.0\.\d+$/);
    const jobName = run.metadata?.ownerReferences?.find((o) => o.kind === 'Job')?.name;

    // Attributed by its source address alone (no token): the pod with that IP, its Job and CronJob.
    const group = await eventually(
      async () => {
        const found = (await groups()).find((g) => g.labels['job'] === CRONJOB);
        if (found === undefined) throw new Error(`no group job=${CRONJOB}`);
        return found;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(group.attribution).toMatchObject({ source: 'pod-ip', namespace: tenant, cronJob: CRONJOB });
    // A later run may have replaced the first one's push: it names one of the CronJob's pods.
    const pods = (await core.listNamespacedPod({ namespace: tenant })).items;
    const pusher = pods.find((p) => p.metadata?.name === group.attribution['pod']);
    expect(pusher?.status?.podIP).toMatch(/^10\.244\.0\.\d+$/);
    expect(group.owner).toMatchObject({ namespace: tenant, cronJob: CRONJOB });
    const metrics = await (await fetch(`${serviceUrl}/metrics`, { headers: SCRAPER })).text();
    expect(metrics).toContain(`backup_runner_info{instance="",job="${CRONJOB}",pod_ip="${pusher?.status?.podIP ?? ''}"} 1`);
    expect(jobName).toBeDefined();
    process.stderr.write(`\nCronJob run ${run.metadata?.name ?? ''} (pod IP ${runIp}) pushed; group attributed to pod ${String(group.attribution['pod'])}\n`);

    await batch.deleteNamespacedCronJob({ name: CRONJOB, namespace: tenant, propagationPolicy: 'Background' });
    await eventually(
      async () => {
        if ((await groups()).some((g) => g.labels['job'] === CRONJOB)) throw new Error(`the group job=${CRONJOB} is still stored`);
      },
      { timeout: 90_000, interval: 1_000 },
    );
    expect(await (await fetch(`${serviceUrl}/metrics`)).text()).not.toContain('backup_runner_info');
    expect(created.metadata?.uid).toBeDefined();
  }, TIMEOUT);
});
