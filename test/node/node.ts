/**
 * One real Kubernetes node beside the harness control plane: containerd (Debian's) with runc and
 * the CNI bridge plugin, a kubelet and kube-proxy (iptables mode) built from the control plane's
 * module, and kube-scheduler. Everything lives under one temporary directory; stop() deletes the
 * node's pods first (so the kubelet tears their sandboxes and networks down), then stops the
 * processes and removes kube-proxy's rules and the bridge.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { toolVersions, type ControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';
import { TestProcess } from '../harness/processes.js';

const execFileAsync = promisify(execFile);

export const NODE_NAME = 'lethe-node';
export const POD_CIDR = '10.244.0.0/24';
export const BRIDGE = 'lethe0';
/** The service range the harness gives kube-apiserver, and the `kubernetes` Service's address in it. */
export const SERVICE_CIDR = '10.0.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';
/** Controllers a node needs beside the harness's: the chart's Deployment, Service endpoints,
 * the kube-root-ca.crt ConfigMap of token volumes, and the node's not-ready taint lifted. */
export const NODE_CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'endpointslice-controller',
  'root-ca-certificate-publisher-controller',
  'node-lifecycle-controller',
] as const;

export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubeScheduler: string;
  /** Docker archive of the pause image (tools/build-pause.sh). */
  readonly pauseImage: string;
}

export interface RunningNode {
  /** Runs `ctr` against this node's containerd, in the k8s.io namespace. */
  ctr(args: readonly string[]): Promise<string>;
  /** Imports an image archive (docker or OCI) into the node's containerd, where the kubelet finds it. */
  importImage(archive: string): Promise<void>;
  /** Deletes the node's pods, stops its processes, removes its rules, bridge and (unless kept) dir. */
  stop(options?: { readonly keepDir?: boolean }): Promise<void>;
}

/**
 * Where the node's binaries are: LETHE_NODE_BIN (set by the Makefile), else the Makefile's tool
 * cache ($LETHE_CACHE or ~/.cache/lethe) at tools/versions.env's Kubernetes version.
 */
export function nodeBinaries(env: NodeJS.ProcessEnv = process.env): NodeBinaries {
  const version = toolVersions()['K8S_VERSION'];
  if (version === undefined) throw new Error('tools/versions.env lacks K8S_VERSION');
  const cache = env['LETHE_CACHE'] !== undefined && env['LETHE_CACHE'] !== '' ? env['LETHE_CACHE'] : join(homedir(), '.cache', 'lethe');
  const dir = env['LETHE_NODE_BIN'] !== undefined && env['LETHE_NODE_BIN'] !== '' ? env['LETHE_NODE_BIN'] : join(cache, 'kubernetes', version);
  const binaries = {
    kubelet: join(dir, 'kubelet'),
    kubeProxy: join(dir, 'kube-proxy'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    pauseImage: join(dir, 'pause-image.tar'),
  };
  for (const path of Object.values(binaries)) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`make test-node\` (it builds the node's binaries and the pause image)`);
  }
  return binaries;
}

/** The IPv4 address of the interface that holds the default route: where pods reach the host. */
export function hostAddress(): string {
  const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  const iface = route.find((cols) => cols[1] === '00000000')?.[0];
  const address = iface === undefined ? undefined : networkInterfaces()[iface]?.find((a) => a.family === 'IPv4');
  if (address === undefined) throw new Error('no IPv4 address on the interface of the default route');
  return address.address;
}

async function exec(command: string, args: readonly string[]): Promise<string> {
  try {
    return (await execFileAsync(command, [...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? String(err.stderr) : '';
    throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${stderr || String(err)}`, { cause: err });
  }
}

const yamlJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

export async function startNode(options: {
  readonly plane: ControlPlane;
  readonly kc: KubeConfig;
  readonly binaries: NodeBinaries;
  readonly hostIp: string;
  readonly dir: string;
}): Promise<RunningNode> {
  const { plane, kc, binaries, hostIp, dir } = options;
  const kubeconfig = plane.kubeconfigPath;
  const caFile = join(plane.tmpDir, 'pki', 'ca.crt');
  const sock = join(dir, 'containerd', 'containerd.sock');
  const processes: TestProcess[] = [];
  const start = (name: string, command: string, args: readonly string[]): TestProcess => {
    const proc = new TestProcess({ name, command, args, logFile: join(dir, `${name}.log`) });
    processes.push(proc);
    return proc;
  };
  const alive = (proc: TestProcess): void => {
    if (!proc.running) throw new Error(`${proc.name} exited; see ${join(dir, `${proc.name}.log`)}`);
  };
  const ctr = (args: readonly string[]): Promise<string> => exec('ctr', ['--address', sock, '--namespace', 'k8s.io', ...args]);

  const listNetns = (): Set<string> => new Set(existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : []);
  const netnsBefore = listNetns();
  let stopped = false;
  const stop = async ({ keepDir = false }: { readonly keepDir?: boolean } = {}): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const core = kc.makeApiClient(CoreV1Api);
    // The kubelet tears each pod down (containers, sandbox, CNI) once its object is gone; delete
    // the namespaces that hold them, so that no controller makes new ones meanwhile.
    try {
      const onNode = async (): Promise<V1Pod[]> => (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${NODE_NAME}` })).items;
      for (const namespace of new Set((await onNode()).map((p) => p.metadata?.namespace ?? ''))) {
        if (!['default', 'kube-system', 'kube-public'].includes(namespace)) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
      }
      await eventually(async () => (await onNode()).length === 0, { timeout: 90_000, interval: 500 });
    } catch (err) {
      process.stderr.write(`node: pods not all gone before stopping the kubelet: ${String(err)}\n`);
    }
    // Stop kube-proxy and the kubelet; kill whatever containerd still runs (a sandbox the kubelet
    // had no time to stop), then stop containerd and the scheduler.
    const [scheduler, ...rest] = processes;
    for (const proc of rest.slice(1).reverse()) await proc.stop(10_000);
    const tasks = await ctr(['tasks', 'list', '--quiet']).catch(() => '');
    for (const id of tasks.split('\n').filter((t) => t !== '')) {
      await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => undefined);
      await eventually(() => ctr(['tasks', 'delete', id]), { timeout: 10_000, interval: 200 }).catch(() => undefined);
    }
    await rest[0]?.stop(10_000);
    await scheduler?.stop();
    await exec(binaries.kubeProxy, ['--cleanup']).catch(() => undefined);
    for (const iptables of ['iptables', 'ip6tables']) {
      for (const chain of ['INPUT', 'OUTPUT']) await exec(iptables, ['-D', chain, '-j', 'KUBE-FIREWALL']).catch(() => undefined);
      await exec(iptables, ['-F', 'KUBE-FIREWALL']).catch(() => undefined);
      await exec(iptables, ['-X', 'KUBE-FIREWALL']).catch(() => undefined);
      for (const table of ['filter', 'nat', 'mangle']) {
        for (const chain of ['KUBE-KUBELET-CANARY', 'KUBE-PROXY-CANARY', 'KUBE-IPTABLES-HINT']) await exec(iptables, ['-t', table, '-X', chain]).catch(() => undefined);
      }
    }
    // Network namespaces of sandboxes that never got their CNI teardown.
    for (const netns of listNetns()) {
      if (netns.startsWith('cni-') && !netnsBefore.has(netns)) await exec('ip', ['netns', 'delete', netns]).catch(() => undefined);
    }
    await exec('ip', ['link', 'delete', BRIDGE]).catch(() => undefined);
    // The kubelet bind-mounts its root directory onto itself, and volumes below it stay mounted
    // when a pod was not torn down: unmount everything under dir, deepest first.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point === dir || point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) await exec('umount', ['--lazy', point]).catch(() => undefined);
    if (!keepDir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    await mkdir(dir, { recursive: true });
    // kube-scheduler
    const schedulerPort = await freePort();
    start('kube-scheduler', binaries.kubeScheduler, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
    ]);

    // containerd, with the CRI plugin pointed at runc, the CNI bridge and a pause image we import.
    const containerdDir = join(dir, 'containerd');
    const cniConfDir = join(dir, 'cni', 'net.d');
    await mkdir(containerdDir, { recursive: true });
    await mkdir(cniConfDir, { recursive: true });
    // The pause image's name, from its archive's manifest (RepoTags).
    const manifest = JSON.parse(await exec('tar', ['-xOf', binaries.pauseImage, 'manifest.json'])) as { RepoTags?: string[] }[];
    const pauseImage = manifest[0]?.RepoTags?.[0];
    if (pauseImage === undefined) throw new Error(`${binaries.pauseImage} names no image`);
    await writeFile(
      join(containerdDir, 'config.toml'),
      [
        'version = 2',
        `root = "${join(containerdDir, 'root')}"`,
        `state = "${join(containerdDir, 'state')}"`,
        '[grpc]',
        `  address = "${sock}"`,
        '[ttrpc]',
        `  address = "${sock}.ttrpc"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${join(containerdDir, 'opt')}"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${pauseImage}"`,
        // No oom_score_adj below containerd's own (-998 for a sandbox): lowering it needs
        // CAP_SYS_RESOURCE, which a containerd in a container or a sandboxed VM may not have.
        '  restrict_oom_score_adj = true',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = "${cniConfDir}"`,
        '',
      ].join('\n'),
    );
    await writeFile(
      join(cniConfDir, '10-lethe.conflist'),
      yamlJson({
        cniVersion: '1.0.0',
        name: 'lethe-node',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'cni', 'ipam') },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
    const containerd = start('containerd', 'containerd', ['--config', join(containerdDir, 'config.toml')]);
    await eventually(
      async () => {
        alive(containerd);
        await ctr(['version']);
      },
      { timeout: 30_000, interval: 200 },
    );
    await ctr(['images', 'import', binaries.pauseImage]);

    // kubelet: cgroup v1 allowed, cgroupfs, this containerd, its files under dir.
    const kubeletDir = join(dir, 'kubelet');
    await mkdir(kubeletDir, { recursive: true });
    const [kubeletPort, healthzPort, proxyHealthz, proxyMetrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    await writeFile(
      join(dir, 'kubelet-config.yaml'),
      yamlJson({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        containerRuntimeEndpoint: `unix://${sock}`,
        address: '127.0.0.1',
        port: kubeletPort,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort,
        authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
        authorization: { mode: 'AlwaysAllow' },
        podLogsDir: join(dir, 'pod-logs'),
        failSwapOn: false,
        evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        shutdownGracePeriod: '0s',
        // No KUBE-FIREWALL or hint chains in the host's iptables (kube-proxy keeps its own copy).
        makeIPTablesUtilChains: false,
      }),
    );
    const kubelet = start('kubelet', binaries.kubelet, [
      `--config=${join(dir, 'kubelet-config.yaml')}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${kubeletDir}`,
      `--cert-dir=${join(kubeletDir, 'pki')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${hostIp}`,
      '--v=2',
    ]);
    const core = kc.makeApiClient(CoreV1Api);
    await eventually(
      async () => {
        alive(kubelet);
        const node = await core.readNode({ name: NODE_NAME });
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(`node not Ready: ${ready?.reason ?? 'no condition'} ${ready?.message ?? ''}`);
        if ((node.spec?.taints ?? []).length > 0) throw new Error(`node tainted: ${JSON.stringify(node.spec?.taints)}`);
      },
      { timeout: 120_000, interval: 500 },
    );

    // kube-proxy, iptables mode; traffic from outside the pod range is masqueraded, pods' is not.
    await writeFile(
      join(dir, 'kube-proxy-config.yaml'),
      yamlJson({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        clientConnection: { kubeconfig },
        hostnameOverride: NODE_NAME,
        mode: 'iptables',
        clusterCIDR: POD_CIDR,
        healthzBindAddress: `127.0.0.1:${proxyHealthz}`,
        metricsBindAddress: `127.0.0.1:${proxyMetrics}`,
        conntrack: { maxPerCore: 0, min: 0 },
        // No NodePorts on 127.0.0.1, so kube-proxy leaves the host's route_localnet alone.
        iptables: { syncPeriod: '5s', minSyncPeriod: '0s', localhostNodePorts: false },
        nodePortAddresses: ['primary'],
      }),
    );
    const proxy = start('kube-proxy', binaries.kubeProxy, [`--config=${join(dir, 'kube-proxy-config.yaml')}`, '--v=2']);
    await eventually(
      async () => {
        alive(proxy);
        const res = await fetch(`http://127.0.0.1:${proxyHealthz}/healthz`);
        if (res.status !== 200) throw new Error(`kube-proxy /healthz answered ${res.status}`);
      },
      { timeout: 60_000, interval: 200 },
    );
  } catch (err) {
    await stop({ keepDir: true });
    throw new Error(`the node did not start (its logs are in ${dir}): ${String(err)}`, { cause: err });
  }

  return {
    ctr,
    importImage: async (archive) => {
      await ctr(['images', 'import', archive]);
    },
    stop,
  };
}
