/**
 * A real control plane (etcd, kube-apiserver, kube-controller-manager on loopback) with Lethe
 * in-process at production timings, and the API and HTTP calls the forgetting benchmark makes
 * on it: Jobs with a pod each, pushes from a pod's IP, /metrics polled until a group is gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { loadConfig } from '../src/config/index.js';
import { startLethe, type RunningLethe } from '../src/wiring/index.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../test/harness/control-plane.js';
import { PROMETHEUS_HEADERS } from '../test/harness/scrapers.js';
import { discardingLogger } from './forgetting-world.js';

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Scraper {
  /** Polls /metrics every `intervalMs` until `gone(text)`; resolves with the time of the answer that showed it. */
  until(gone: (text: string) => boolean, intervalMs: number, timeoutMs: number): Promise<number>;
  text(): Promise<string>;
  close(): void;
}

export function scraper(port: number): Scraper {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const text = (): Promise<string> =>
    new Promise((resolve, reject) => {
      // As Prometheus: only a scraper's complete response ends a group's scrape grace.
      const req = request({ host: '127.0.0.1', port, path: '/metrics', agent, headers: PROMETHEUS_HEADERS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`/metrics answered ${res.statusCode ?? 0}`))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    text,
    async until(gone, intervalMs, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const body = await text();
        const at = performance.now();
        if (gone(body)) return at;
        if (at > deadline) throw new Error(`still in /metrics after ${timeoutMs} ms`);
        await pause(intervalMs);
      }
    },
    close: () => agent.destroy(),
  };
}

/** PUTs a text body to /metrics/job/<job>/instance/<instance> from `localAddress`. */
export function push(port: number, job: string, instance: string, body: string, localAddress?: string, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: `/metrics/job/${job}/instance/${instance}`,
        headers: { 'content-type': 'text/plain; version=0.0.4' },
        ...(localAddress === undefined ? {} : { localAddress }),
        ...(agent === undefined ? {} : { agent }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `fn` over `items` with at most `concurrency` at a time. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i] as T, i);
    }),
  );
}

/** Retries a call the API server refused for load (429) or a conflict of the moment. */
export async function retrying<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let a = 1; ; a++) {
    try {
      return await fn();
    } catch (err) {
      const retriable = err instanceof ApiException && (err.code === 429 || err.code === 409 || err.code >= 500);
      if (!retriable || a >= attempts) throw err;
      await pause(50 * 2 ** a);
    }
  }
}

export function jobBody(name: string): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      // Not the job controller's: it would start pods of its own. The benchmark makes the one pod.
      managedBy: 'lethe.dev/bench',
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } },
    },
  };
}

/** 127.77.x.y for the i-th pod (i < 64,000). */
export const podIp = (i: number): string => `127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`;

/** The clone: the nearest directory above this file that holds tools/versions.env (also when compiled to dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tools', 'versions.env'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (tools/versions.env)');
    dir = parent;
  }
  return dir;
}

/**
 * The harness's binaries and CRDs, found from the clone rather than from the harness file (which
 * may run from a compiled copy): LETHE_CONTROL_PLANE_BIN / LETHE_ETCD_BIN as the Makefile sets
 * them, else the Makefile's tool cache at the versions in tools/versions.env.
 */
function controlPlaneOptions(env: NodeJS.ProcessEnv = process.env): ControlPlaneOptions {
  const root = repoRoot();
  const versions = new Map<string, string>();
  for (const line of readFileSync(join(root, 'tools', 'versions.env'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) versions.set(match[1], match[2]);
  }
  const set = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const cache = set('LETHE_CACHE') ?? join(homedir(), '.cache', 'lethe');
  const bin = set('LETHE_CONTROL_PLANE_BIN') ?? join(cache, 'kubernetes', versions.get('K8S_VERSION') ?? '');
  return {
    crdDir: join(root, 'crds'),
    binaries: {
      kubeApiServer: join(bin, 'kube-apiserver'),
      kubeControllerManager: join(bin, 'kube-controller-manager'),
      kubectl: join(bin, 'kubectl'),
      etcd: set('LETHE_ETCD_BIN') ?? join(cache, 'etcd', versions.get('ETCD_VERSION') ?? '', 'etcd'),
    },
  };
}

export interface Cluster {
  readonly plane: ControlPlane;
  readonly kc: KubeConfig;
  readonly lethe: RunningLethe;
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
}

export async function startCluster(log: (m: string) => void): Promise<Cluster> {
  const plane = await startControlPlane(controlPlaneOptions());
  log(`control plane ready in ${(plane.timings.totalMs / 1000).toFixed(1)} s`);
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    // Production settings: the flag defaults, the default debounce (100 ms), informer and lease timings.
    const loaded = loadConfig(['--web.listen-address=127.0.0.1:0', '--leader-election.lease-name=lethe-bench'], {});
    if (loaded.kind !== 'config') throw new Error('unexpected help/version');
    const lethe = await startLethe(loaded.config, {
      logger: discardingLogger(),
      version: 'bench',
      cluster: { source: { kubeconfig: plane.kubeconfigPath, inCluster: false } },
      replica: { name: 'lethe-bench', namespace: 'default' },
    });
    const deadline = Date.now() + 60_000;
    while (lethe.loop.gates().length > 0) {
      if (Date.now() > deadline) throw new Error(`Lethe not ready: ${lethe.loop.gates().join(', ')}`);
      await pause(50);
    }
    return { plane, kc, lethe, core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
  } catch (err) {
    await plane.stop();
    throw err;
  }
}

export async function createNamespace(c: Cluster, name: string): Promise<void> {
  await c.core.createNamespace({ body: { metadata: { name } } });
}

