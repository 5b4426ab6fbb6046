/**
 * Helpers for the deploy tests: helm and kubectl run as child processes, the chart rendered to
 * objects, server-side apply of those objects, and a kubeconfig that authenticates with a
 * ServiceAccount token instead of the harness' admin certificate.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { controlPlaneBinaries, toolVersions } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'deploy', 'helm', 'lethe');
export const FIELD_MANAGER = 'lethe-deploy-test';

/** helm: LETHE_HELM_BIN (set by the Makefile), else the Makefile's tool cache at tools/versions.env's version. */
export function helmBinary(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['LETHE_HELM_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const version = toolVersions()['HELM_VERSION'];
  if (version === undefined) throw new Error('tools/versions.env lacks HELM_VERSION');
  const cache = env['LETHE_CACHE'] !== undefined && env['LETHE_CACHE'] !== '' ? env['LETHE_CACHE'] : join(homedir(), '.cache', 'lethe');
  return join(cache, 'helm', version, 'helm');
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never rejects on a non-zero exit (the caller checks `code`). */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, cwd: repoRoot }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`${command} could not be run: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** helm's stderr without its notice about the chart's crds symbolic link. */
export function helmErrors(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.includes('found symbolic link in path'))
    .join('\n');
}

export function helm(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run(helmBinary(), args, env === undefined ? {} : { env });
}

export function kubectl(args: readonly string[], kubeconfigPath: string): Promise<RunResult> {
  return run(controlPlaneBinaries().kubectl, ['--kubeconfig', kubeconfigPath, ...args]);
}

/** Parses a multi-document YAML text, skipping empty documents. */
export function yamlDocuments(text: string): unknown[] {
  return text
    .split(/^---[ \t]*$/m)
    .filter((doc) => doc.split('\n').some((line) => line.trim() !== '' && !line.trimStart().startsWith('#')))
    .map((doc): unknown => loadYaml(doc));
}

export interface K8sObject extends KubernetesObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  readonly [field: string]: unknown;
}

function isObject(doc: unknown): doc is K8sObject {
  if (typeof doc !== 'object' || doc === null) return false;
  if (!('apiVersion' in doc) || typeof doc.apiVersion !== 'string') return false;
  if (!('kind' in doc) || typeof doc.kind !== 'string') return false;
  return 'metadata' in doc && typeof doc.metadata === 'object' && doc.metadata !== null && 'name' in doc.metadata && typeof doc.metadata.name === 'string';
}

export function k8sObjects(text: string): K8sObject[] {
  return yamlDocuments(text).map((doc) => {
    if (!isObject(doc)) throw new Error(`not a Kubernetes object: ${JSON.stringify(doc).slice(0, 200)}`);
    return doc;
  });
}

/** `helm template` of the chart; rejects with helm's message when rendering fails. */
export async function renderChart(release: string, namespace: string, args: readonly string[] = []): Promise<K8sObject[]> {
  const result = await helm(['template', release, chartDir, '--namespace', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed: ${helmErrors(result.stderr)}`);
  return k8sObjects(result.stdout);
}

/** Every optional part of the chart switched on (leader election, ServiceMonitor, PrometheusRule, PDB, PVC). */
export const EVERYTHING_ON = [
  '--set', 'leaderElection.enabled=true',
  '--set', 'serviceMonitor.enabled=true',
  '--set', 'prometheusRule.enabled=true',
  '--set', 'podDisruptionBudget.enabled=true',
  '--set', 'persistence.enabled=true',
] as const;

/** Server-side applies one object (force: the test owns every field it sets). */
export async function serverSideApply(kc: KubeConfig, object: K8sObject): Promise<K8sObject> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const applied = await api.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  if (!isObject(applied)) throw new Error(`server-side apply of ${object.kind} ${object.metadata.name} returned no object`);
  return applied;
}

/** Deletes objects, ignoring those already gone. */
export async function deleteObjects(kc: KubeConfig, objects: readonly K8sObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
    try {
      await api.delete(object);
    } catch (err) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 404)) throw err;
    }
  }
}

/**
 * Installs every CustomResourceDefinition in `dir` with server-side apply (idempotent, so several
 * test files may do it on the shared control plane) and waits until each is Established.
 */
export async function applyCrds(kc: KubeConfig, dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const file of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const object of k8sObjects(await readFile(join(dir, file), 'utf8'))) {
      if (object.kind !== 'CustomResourceDefinition') continue;
      await serverSideApply(kc, object);
      names.push(object.metadata.name);
    }
  }
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const name of names) {
    await eventually(
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') !== true) throw new Error(`${name} is not Established`);
      },
      { timeout: 60_000, interval: 100 },
    );
  }
  return names;
}

/** A kubeconfig for the same API server (and CA) as `admin`, authenticating with `token`. */
export function tokenKubeConfig(admin: KubeConfig, token: string, user: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}

/** Writes `kc` to a file (Lethe and kubectl take a path). */
export async function writeKubeConfig(kc: KubeConfig, path: string): Promise<string> {
  await writeFile(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
