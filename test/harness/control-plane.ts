/**
 * A real, throwaway Kubernetes control plane on loopback: etcd, kube-apiserver and
 * kube-controller-manager, started the way envtest does (TESTING.md §3).
 *
 * (About 350 lines: the start, readiness and stop of three processes that depend on each other,
 * and the kubeconfig and certificates they share.)
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { installCrds } from './kube.js';
import { adminKubeconfig, createPki, httpsStatus } from './pki.js';
import { freePort } from './ports.js';
import { TestProcess } from './processes.js';

const repoRoot = join(import.meta.dirname, '..', '..');

/** Controllers the tests rely on (TESTING.md §3.3); a list without `*` runs only these. */
export const CONTROLLERS = [
  'garbage-collector-controller',
  'namespace-controller',
  'job-controller',
  'cronjob-controller',
  'ttl-after-finished-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
] as const;

export interface ControlPlaneBinaries {
  readonly kubeApiServer: string;
  readonly kubeControllerManager: string;
  readonly kubectl: string;
  readonly etcd: string;
}

export interface ControlPlaneOptions {
  readonly binaries?: ControlPlaneBinaries;
  /** Directory whose *.yaml / *.yml CustomResourceDefinitions are installed before the controllers start. */
  readonly crdDir?: string;
  /** Per-process start-up timeout in ms (default 60 s: these machines have 2 cores). */
  readonly startTimeout?: number;
  /** False starts etcd and kube-apiserver only. */
  readonly controllerManager?: boolean;
  /** More kube-apiserver flags (e.g. an audit log for a test that counts requests). */
  readonly apiServerArgs?: readonly string[];
  /** Aborting it during start-up stops what was started, removes the temp dir and rejects. */
  readonly signal?: AbortSignal;
  /**
   * Address kube-apiserver listens on (default 127.0.0.1), e.g. 0.0.0.0 for containers in their
   * own network namespace; the kubeconfig and probes still use 127.0.0.1.
   */
  readonly apiServerBindAddress?: string;
  /** IP addresses its serving certificate names beside 127.0.0.1 (and DNS localhost). */
  readonly apiServerCertIps?: readonly string[];
  /**
   * For a control plane with nodes: the address kube-apiserver advertises (then the `kubernetes`
   * Service gets it as its endpoint, which pods reach through kube-proxy), the ServiceAccount
   * admission plugin (which gives pods their token volume), and controllers to run beside
   * CONTROLLERS (e.g. deployment-controller). Without them, no Service endpoint and no token volume.
   */
  readonly nodes?: {
    readonly advertiseAddress: string;
    readonly extraControllers: readonly string[];
  };
}

export interface ControlPlaneTimings {
  readonly etcdMs: number;
  readonly apiServerMs: number;
  readonly crdsMs: number;
  readonly controllerManagerMs: number;
  readonly totalMs: number;
}

export interface ControlPlane {
  /** Admin kubeconfig (system:masters, client certificate, harness CA embedded). */
  readonly kubeconfigPath: string;
  readonly apiServerUrl: string;
  /** Holds certificates, data, the kubeconfig and one log file per process. */
  readonly tmpDir: string;
  readonly timings: ControlPlaneTimings;
  /** Stops every process and removes tmpDir (kept when keepTmpDir is true). */
  stop(options?: { readonly keepTmpDir?: boolean }): Promise<void>;
  /**
   * Stops kube-apiserver only, to simulate an outage: SIGTERM, then SIGKILL after 5 s (with the
   * controller-manager's watches open it rarely exits sooner), or SIGKILL at once with `kill`.
   */
  stopApiServer(options?: { readonly kill?: boolean }): Promise<void>;
  /** Starts kube-apiserver again on the same port, against the same etcd, and waits until it is ready. */
  startApiServer(): Promise<void>;
}

/** Parses tools/versions.env (KEY=VALUE lines). */
export function toolVersions(): Readonly<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(join(repoRoot, 'tools', 'versions.env'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) versions[match[1]] = match[2];
  }
  return versions;
}

/**
 * Where the binaries are: LETHE_CONTROL_PLANE_BIN / LETHE_ETCD_BIN (set by the Makefile), else the
 * Makefile's tool cache ($LETHE_CACHE or ~/.cache/lethe) at the versions in tools/versions.env.
 */
export function controlPlaneBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  const versions = toolVersions();
  const cache = nonEmpty(env['LETHE_CACHE']) ?? join(homedir(), '.cache', 'lethe');
  const k8sVersion = versions['K8S_VERSION'];
  const etcdVersion = versions['ETCD_VERSION'];
  if (k8sVersion === undefined || etcdVersion === undefined) {
    throw new Error('tools/versions.env lacks K8S_VERSION or ETCD_VERSION');
  }
  const binDir = nonEmpty(env['LETHE_CONTROL_PLANE_BIN']) ?? join(cache, 'kubernetes', k8sVersion);
  return {
    kubeApiServer: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubectl: join(binDir, 'kubectl'),
    etcd: nonEmpty(env['LETHE_ETCD_BIN']) ?? join(cache, 'etcd', etcdVersion, 'etcd'),
  };
}

const nonEmpty = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = options.binaries ?? controlPlaneBinaries();
  for (const path of [binaries.etcd, binaries.kubeApiServer, binaries.kubeControllerManager]) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new Error(`control-plane binary ${path} is missing or not executable: run \`make tools\` first`);
    }
  }
  const timeout = options.startTimeout ?? 60_000;
  const signal = options.signal;
  signal?.throwIfAborted();
  const began = Date.now();
  const tmpDir = await mkdtemp(join(tmpdir(), 'lethe-control-plane-'));
  let etcd: TestProcess | undefined;
  let apiServer: TestProcess | undefined;
  let controllerManager: TestProcess | undefined;
  const stopAll = async (): Promise<void> => {
    await controllerManager?.stop();
    await apiServer?.stop();
    await etcd?.stop();
  };

  try {
    const certDir = join(tmpDir, 'pki');
    await mkdir(certDir);
    const pki = await createPki(certDir, options.apiServerCertIps ?? []);
    const [etcdPort, etcdPeerPort, apiPort, kcmPort] = await distinctFreePorts(4);
    const apiServerUrl = `https://127.0.0.1:${apiPort}`;

    // etcd
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdLog = join(tmpDir, 'etcd.log');
    etcd = new TestProcess({
      name: 'etcd',
      command: binaries.etcd,
      args: [
        '--name=lethe-test',
        `--data-dir=${join(tmpDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=lethe-test=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      logFile: etcdLog,
    });
    await waitReady(etcd, etcdLog, { timeout, signal }, async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status !== 200 || !body.includes('"health":"true"')) throw new Error(`/health: ${res.status} ${body}`);
    });
    const etcdMs = Date.now() - began;

    // kube-apiserver
    const apiServerLog = join(tmpDir, 'kube-apiserver.log');
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${options.apiServerBindAddress ?? '127.0.0.1'}`,
      `--advertise-address=${options.nodes?.advertiseAddress ?? '127.0.0.1'}`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=${apiServerUrl}`,
      `--service-account-key-file=${pki.saPublicKey}`,
      `--service-account-signing-key-file=${pki.saPrivateKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      ...(options.nodes === undefined ? ['--disable-admission-plugins=ServiceAccount'] : []),
      '--allow-privileged=true',
      ...(options.nodes === undefined ? ['--endpoint-reconciler-type=none'] : []),
      ...(options.apiServerArgs ?? []),
    ];
    const startApiServer = async (startSignal?: AbortSignal): Promise<void> => {
      if (apiServer?.running === true) throw new Error('kube-apiserver is already running');
      const proc = new TestProcess({
        name: 'kube-apiserver',
        command: binaries.kubeApiServer,
        args: apiServerArgs,
        logFile: apiServerLog,
      });
      apiServer = proc;
      await waitReady(proc, apiServerLog, { timeout, signal: startSignal }, async () => {
        const status = await httpsStatus(`${apiServerUrl}/readyz`, pki.tls);
        if (status !== 200) throw new Error(`/readyz answered ${status}`);
      });
    };
    const apiStarted = Date.now();
    await startApiServer(signal);
    const apiServerMs = Date.now() - apiStarted;

    const kubeconfigPath = join(tmpDir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, adminKubeconfig(apiServerUrl, pki.tls), { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);

    const crdsStarted = Date.now();
    await installCrds(kc, options.crdDir ?? join(repoRoot, 'crds'), timeout);
    signal?.throwIfAborted();
    const crdsMs = Date.now() - crdsStarted;

    // kube-controller-manager
    const kcmStarted = Date.now();
    if (options.controllerManager !== false) {
      const kcmLog = join(tmpDir, 'kube-controller-manager.log');
      controllerManager = new TestProcess({
        name: 'kube-controller-manager',
        command: binaries.kubeControllerManager,
        args: [
          `--kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          `--controllers=${[...CONTROLLERS, ...(options.nodes?.extraControllers ?? [])].join(',')}`,
          `--service-account-private-key-file=${pki.saPrivateKey}`,
          `--root-ca-file=${pki.caCert}`,
          '--use-service-account-credentials=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(tmpDir, 'kcm-certs')}`,
          '--kube-api-qps=100',
          '--kube-api-burst=200',
        ],
        logFile: kcmLog,
      });
      const probe = await serviceAccountProbe(kc);
      await waitReady(controllerManager, kcmLog, { timeout, signal }, probe.check);
      await probe.cleanup();
    }
    const controllerManagerMs = Date.now() - kcmStarted;

    let stopping: Promise<void> | undefined;
    return {
      kubeconfigPath,
      apiServerUrl,
      tmpDir,
      timings: { etcdMs, apiServerMs, crdsMs, controllerManagerMs, totalMs: Date.now() - began },
      stop: (stopOptions = {}) => {
        stopping ??= (async () => {
          await stopAll();
          if (stopOptions.keepTmpDir !== true) await rm(tmpDir, { recursive: true, force: true });
        })();
        return stopping;
      },
      stopApiServer: async (stopOptions = {}) => {
        if (stopOptions.kill === true) await apiServer?.kill();
        else await apiServer?.stop();
      },
      startApiServer: () => startApiServer(),
    };
  } catch (err) {
    await stopAll();
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Readiness of the controller-manager, checked by what it does: a fresh namespace gets its
 * `default` ServiceAccount from serviceaccount-controller.
 */
async function serviceAccountProbe(
  kc: KubeConfig,
): Promise<{ check: () => Promise<void>; cleanup: () => Promise<void> }> {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = `lethe-probe-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  return {
    check: async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace });
    },
    cleanup: async () => {
      await core.deleteNamespace({ name: namespace });
    },
  };
}

/**
 * Polls `probe` until it passes. Fails, with the tail of the process's log, when the process
 * exits, `signal` aborts or `timeout` passes; the process is stopped then.
 */
async function waitReady(
  proc: TestProcess,
  logFile: string,
  { timeout, signal }: { readonly timeout: number; readonly signal: AbortSignal | undefined },
  probe: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  let failure: string | undefined;
  while (failure === undefined) {
    if (signal?.aborted === true) {
      failure = `start-up aborted (${String(signal.reason)})`;
    } else if (!proc.running) {
      failure = `exited with ${String(await proc.wait())} during start-up`;
    } else {
      try {
        await probe();
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() >= deadline) failure = `not ready after ${timeout} ms (last probe: ${String(lastError)})`;
      else await pause(200);
    }
  }
  await proc.stop(2_000);
  throw new Error(`${proc.name} failed to start: ${failure}\n--- last lines of its log ---\n${await logTail(logFile)}`, {
    cause: lastError,
  });
}

async function logTail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(log unreadable: ${String(err)})`;
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

