/**
 * The image, run as the Helm chart runs it, against a real control plane: the chart's pod
 * template (args, downward-API env, uid 65532, read-only root, no capabilities, its volumes) with
 * a projected, pod-bound ServiceAccount token and KUBERNETES_SERVICE_HOST/PORT, in its own network
 * namespace. Lethe must find the cluster by its in-cluster configuration, take its Lease in its
 * own namespace, attribute a push made with a pod's bound token, and forget the group when that
 * pod's Job is deleted. Prints the image's size and layers and the container's start-to-ready time.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, type V1Deployment, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace } from '../harness/kube.js';
import { serviceAccountToken } from '../integration/auth-support.js';
import { renderChart, serverSideApply, type K8sObject } from '../integration/deploy-support.js';
import { podmanRunArgs } from './chart-pod.js';
import { defaultNetworkGateway, imageName, podman, podmanOk } from './podman.js';
import { PROMETHEUS_HEADERS } from '../harness/scrapers.js';

/** A scraper's request (only a scraper's complete response ends the scrape grace), in the text format. */
const SCRAPER = { ...PROMETHEUS_HEADERS, accept: 'text/plain;version=0.0.4' };

const TIMEOUT = 180_000;
const RELEASE = 'lethe';
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

const one = (objects: readonly K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};

interface GroupJson {
  readonly labels: Record<string, string>;
  readonly attribution: Record<string, unknown>;
  readonly owner: Record<string, unknown> | null;
}

describe('the image, run as the Helm chart runs it', () => {
  const image = imageName();
  const container = `lethe-image-test-${randomBytes(4).toString('hex')}`;
  let plane: ControlPlane | undefined;
  let kc: KubeConfig;
  let dir: string;
  let namespace: string;
  let podName: string;
  let leaseName: string;
  let chartArgs: string[];
  let url: string;

  const logTail = async (): Promise<string> => {
    const logs = await podman(['logs', '--tail', '30', container]);
    return `--- last lines of the container's log ---\n${logs.stdout}${logs.stderr}`;
  };
  /** eventually(), with the container's log in the error when it gives up. */
  const until = async <T>(fn: () => Promise<T>, timeout: number): Promise<T> => {
    try {
      return await eventually(fn, { timeout, interval: 100 });
    } catch (err) {
      throw new Error(`${String(err)}\n${await logTail()}`, { cause: err });
    }
  };
  const groups = async (): Promise<GroupJson[]> => {
    const res = await fetch(`${url}/api/v1/groups`);
    const body = (await res.json()) as { data: { groups: GroupJson[] } };
    return body.data.groups;
  };

  beforeAll(async () => {
    if ((await podman(['image', 'exists', image])).code !== 0) throw new Error(`the image ${image} is missing: run \`make image\` first`);
    // The container reaches the host through its network's gateway, so the API server listens
    // there too and its certificate names that address.
    const gateway = await defaultNetworkGateway();
    plane = await startControlPlane({ apiServerBindAddress: '0.0.0.0', apiServerCertIps: [gateway] });
    kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    dir = await mkdtemp(join(tmpdir(), 'lethe-image-test-'));
    namespace = await createTestNamespace(kc, 'lethe-system');

    // The chart's objects that a pod needs: its ServiceAccount and RBAC, applied as Helm would.
    const objects = await renderChart(RELEASE, namespace, ['--set', 'auth.mode=kubernetes', '--set', 'leaderElection.enabled=true']);
    for (const object of objects.filter((o) => RBAC_KINDS.includes(o.kind))) await serverSideApply(kc, object);
    const template = (one(objects, 'Deployment') as V1Deployment).spec?.template;
    if (template?.spec === undefined) throw new Error('the Deployment has no pod template');
    chartArgs = template.spec.containers[0]?.args ?? [];
    leaseName = chartArgs.find((a) => a.startsWith('--leader-election.lease-name='))?.split('=')[1] ?? '';

    // The pod its ReplicaSet would make; no scheduler or kubelet runs here, so the container
    // below is what a kubelet would start for it, with the token the kubelet would project.
    podName = `${RELEASE}-${randomBytes(4).toString('hex')}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const pod = await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: podName, labels: template.metadata?.labels ?? {} }, spec: template.spec },
    });
    const serviceAccount = template.spec.serviceAccountName ?? 'default';
    const token = await serviceAccountToken(kc, namespace, { pod, serviceAccount });
    const caData = kc.getCurrentCluster()?.caData;
    if (caData === undefined) throw new Error('the admin kubeconfig carries no CA');

    const args = await podmanRunArgs({
      image,
      name: container,
      spec: template.spec,
      pod: { name: podName, namespace },
      apiServer: { host: gateway, port: Number(new URL(plane.apiServerUrl).port) },
      serviceAccount: { token, caCrt: Buffer.from(caData, 'base64').toString('utf8') },
      dir,
    });
    const started = Date.now();
    await podmanOk(args);
    const ip = await podmanOk(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', container]);
    url = `http://${ip}:9091`;
    await until(async () => {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      if (res.status !== 200) throw new Error(`/-/ready answered ${res.status}`);
    }, 60_000);
    const ready = Date.now();
    const containerStarted = Number(await podmanOk(['inspect', '--format', '{{.State.StartedAt.UnixMilli}}', container]));
    const [size, layers] = (await podmanOk(['image', 'inspect', '--format', '{{.Size}} {{len .RootFS.Layers}}', image])).split(' ');
    process.stderr.write(
      `\nimage ${image}: ${(Number(size) / 1e6).toFixed(1)} MB in ${layers} layers; ready ${ready - containerStarted} ms after ` +
        `the container started (${ready - started} ms after podman run)\n`,
    );
  }, TIMEOUT);

  afterAll(async () => {
    await podman(['rm', '--force', '--time', '5', container]);
    await plane?.stop();
    await rm(dir, { recursive: true, force: true });
  }, TIMEOUT);

  test('its process runs the chart args as uid 65532 with no capabilities, no privilege escalation and a read-only root', async () => {
    const pid = await podmanOk(['inspect', '--format', '{{.State.Pid}}', container]);
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): string => status.split('\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
    expect(field('Uid').split(/\s+/)).toEqual(['65532', '65532', '65532', '65532']);
    expect(field('Gid').split(/\s+/)).toEqual(['65532', '65532', '65532', '65532']);
    expect(field('Groups').split(/\s+/)).toContain('65532');
    for (const caps of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect({ caps, value: field(caps) }).toEqual({ caps, value: '0000000000000000' });
    expect(field('NoNewPrivs')).toBe('1');
    expect(field('Seccomp')).toBe('2');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
    expect(cmdline).toEqual(['node', 'dist/main.js', ...chartArgs]);

    // Even root cannot write to the root filesystem; the store's volume is writable by 65532.
    const asRoot = await podman(['exec', '--user', '0', container, 'touch', '/app/written']);
    expect(asRoot.code).not.toBe(0);
    expect(asRoot.stderr).toMatch(/Read-only file system/);
    const store = await podman(['exec', container, 'sh', '-c', 'ls -ln /data']);
    expect(store.stdout).toMatch(/ 65532 +65532 .* lethe\.data/);
  }, TIMEOUT);

  test('its process runs with NODE_ENV=production', async () => {
    const pid = await podmanOk(['inspect', '--format', '{{.State.Pid}}', container]);
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter((e) => e !== '');
    expect(environ).toContain('NODE_ENV=production');
  }, TIMEOUT);

  test('the image holds the node binary and Lethe only: no npm, corepack or yarn, nothing a build step mounted', async () => {
    const root = await podmanOk(['image', 'mount', image]);
    try {
      const list = (path: string): string[] => (existsSync(join(root, path)) ? readdirSync(join(root, path)).sort() : []);
      expect(list('usr/local/bin')).toEqual(['node']);
      expect(list('usr/local/lib')).toEqual([]);
      expect(list('opt')).toEqual([]);
      // A build's bind mounts (npm's CA file and config) would leave empty files behind in a RUN layer.
      expect(list('usr/local/etc')).toEqual([]);
      expect(list('run').filter((name) => !statSync(join(root, 'run', name)).isDirectory())).toEqual([]);
      expect(list('app')).toEqual(['dist', 'node_modules', 'package.json']);
      const data = statSync(join(root, 'data'));
      expect({ uid: data.uid, gid: data.gid }).toEqual({ uid: 65532, gid: 65532 });
    } finally {
      await podman(['image', 'unmount', image]);
    }
  }, TIMEOUT);

  test('it finds the cluster by its in-cluster configuration and holds its Lease in its own namespace', async () => {
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const lease = await until(async () => {
      const found = await coordination.readNamespacedLease({ name: leaseName, namespace });
      if (found.spec?.holderIdentity !== podName) throw new Error(`the Lease is held by ${String(found.spec?.holderIdentity)}`);
      return found;
    }, 60_000);
    expect(lease.metadata?.namespace).toBe(namespace);
    const status = await until(async () => {
      const res = await fetch(`${url}/api/v1/groups`);
      const body = (await res.json()) as { data: { kubernetes: boolean; blockedBy: string[] } };
      if (body.data.blockedBy.length > 0) throw new Error(`deletions blocked by ${body.data.blockedBy.join(', ')}`);
      return body.data;
    }, 60_000);
    expect(status.kubernetes).toBe(true);
  }, TIMEOUT);

  test("a push with a pod's bound token is attributed to the pod and owned by its Job; the group goes when the Job is deleted", async () => {
    const tenant = await createTestNamespace(kc, 'team');
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    // A Job run by the real job controller, which makes its pod (Pending: there is no node).
    const body: V1Job = {
      metadata: { name: 'backup' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', serviceAccountName: 'default', containers: [{ name: 'main', image: 'busybox' }] } } },
    };
    const job = await batch.createNamespacedJob({ namespace: tenant, body });
    const pod = await until(async (): Promise<V1Pod> => {
      const pods = await core.listNamespacedPod({ namespace: tenant, labelSelector: 'batch.kubernetes.io/job-name=backup' });
      const found = pods.items[0];
      if (found === undefined) throw new Error('the job controller has not made the pod yet');
      return found;
    }, 60_000);
    const token = await serviceAccountToken(kc, tenant, { pod });

    const pushed = await fetch(`${url}/metrics/job/backup`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain; version=0.0.4' },
      body: '# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds 1.7e+09\n',
    });
    expect({ status: pushed.status, body: await pushed.text() }).toEqual({ status: 200, body: '' });
    const group = await until(async () => {
      const found = (await groups()).find((g) => g.labels['job'] === 'backup' && g.owner !== null);
      if (found === undefined) throw new Error('no owned group job=backup yet');
      return found;
    }, 30_000);
    expect(group.attribution).toEqual({ source: 'token', namespace: tenant, pod: pod.metadata?.name, user: `system:serviceaccount:${tenant}:default`, job: 'backup', run: { group: 'batch', kind: 'Job', name: 'backup', uid: job.metadata?.uid } });
    expect(group.owner).toEqual({ group: 'batch', kind: 'Job', namespace: tenant, name: 'backup', uid: job.metadata?.uid });
    // Prometheus' scrape: a group is deleted only after its last push was scraped.
    expect(await (await fetch(`${url}/metrics`, { headers: SCRAPER })).text()).toMatch(/^backup_last_success_timestamp_seconds\{.*job="backup".*\} 1\.7e\+09$/m);

    await batch.deleteNamespacedJob({ name: 'backup', namespace: tenant, propagationPolicy: 'Background' });
    await until(async () => {
      if ((await groups()).some((g) => g.labels['job'] === 'backup')) throw new Error('the group job=backup is still stored');
    }, 60_000);
    expect(await (await fetch(`${url}/metrics`)).text()).not.toContain('backup_last_success_timestamp_seconds');
  }, TIMEOUT);
});
