/** Client-side helpers for tests that run against the harness control plane. */
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { eventually } from './eventually.js';

/** Set by the integration globalSetup: path of the admin kubeconfig of the shared control plane. */
export const KUBECONFIG_ENV = 'LETHE_TEST_KUBECONFIG';
/** Set by the integration globalSetup: https URL of the shared kube-apiserver. */
export const API_SERVER_ENV = 'LETHE_TEST_API_SERVER';
/** Set by the integration globalSetup: the shared control plane's temp dir (logs live there). */
export const CONTROL_PLANE_DIR_ENV = 'LETHE_TEST_CONTROL_PLANE_DIR';

/** Label put on every namespace a test creates. */
export const TEST_LABEL = 'lethe.dev/test';

/** Loads a kubeconfig file, by default the shared control plane's (LETHE_TEST_KUBECONFIG). */
export function loadTestKubeConfig(path = process.env[KUBECONFIG_ENV]): KubeConfig {
  if (path === undefined || path === '') {
    throw new Error(`${KUBECONFIG_ENV} is not set: run this test in the integration project (its globalSetup starts the control plane)`);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** `prefix-` plus 8 random hex characters: a valid DNS-1123 label when prefix is one. */
export function randomName(prefix = 'lethe-test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Creates a randomly named namespace, labelled lethe.dev/test, and returns its name. */
export async function createTestNamespace(kc: KubeConfig, prefix = 'lethe-test'): Promise<string> {
  const name = randomName(prefix);
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { [TEST_LABEL]: 'true' } } },
  });
  return name;
}

/** Starts deleting a namespace; one already gone (404) or already terminating (409) is fine. Does not wait. */
export async function deleteTestNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
  } catch (err) {
    if (!(err instanceof ApiException && (err.code === 404 || err.code === 409))) throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/**
 * True when `read` fails with 404, false when it succeeds; any other error is rethrown.
 * Use inside `eventually`: `await eventually(() => isGone(() => batch.readNamespacedJob({ name, namespace })))`.
 */
export async function isGone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}

/**
 * Creates every CustomResourceDefinition found in `dir` and waits until each is Established,
 * so that the garbage collector's discovery sees them at start-up (TESTING.md §3.4).
 */
export async function installCrds(kc: KubeConfig, dir: string, timeout = 60_000): Promise<void> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return;
    throw err;
  }
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of files) {
    for (const doc of yamlDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (!isCrd(doc)) continue;
      const created = await api.createCustomResourceDefinition({ body: doc });
      if (created.metadata?.name !== undefined) names.push(created.metadata.name);
    }
  }
  for (const name of names) {
    await eventually(
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
      },
      { timeout, interval: 100 },
    );
  }
}

/**
 * Parses a multi-document YAML text. Empty documents (a trailing `---`, comments only) are
 * skipped: client-node's loadAllYaml throws on them.
 */
function yamlDocuments(text: string): unknown[] {
  return text
    .split(/^---[ \t]*$/m)
    .filter((doc) => doc.split('\n').some((line) => line.trim() !== '' && !line.trimStart().startsWith('#')))
    .map((doc): unknown => loadYaml(doc));
}

function isCrd(doc: unknown): doc is V1CustomResourceDefinition {
  return (
    typeof doc === 'object' &&
    doc !== null &&
    'kind' in doc &&
    doc.kind === 'CustomResourceDefinition' &&
    'apiVersion' in doc &&
    doc.apiVersion === 'apiextensions.k8s.io/v1'
  );
}
