/**
 * Installs the batch systems' CRDs (test/fixtures/crds/<system>-<version>/) into the shared test
 * control plane, for the test files that need them (call it in beforeAll; the other files do not
 * pay for it). CRDs are cluster-scoped and the integration tests share one control plane, so:
 * installing is idempotent (a CRD already there is kept), fixture CRDs are never deleted by a test,
 * and a test that needs a kind to be missing uses one no fixture installs.
 *
 * A CRD created after kube-controller-manager started is invisible to its garbage collector until
 * the collector's next discovery (every 30 s, TESTING.md §3.4). So after the CRDs are Established,
 * each kind is probed: an object of it owns a ConfigMap, the object is deleted, and the install
 * returns once the garbage collector has removed the ConfigMap. After that, ownerReference tests
 * of these kinds need no long timeouts.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiException, ApiextensionsV1Api, CoreV1Api, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import {
  OWNER_API,
  controllerRef,
  createOwnerObject,
  cronWorkflowBody,
  deleteOwnerObject,
  jobSetBody,
  pipelineRunBody,
  standaloneTaskRunBody,
  workflowBody,
  type Body,
  type OwnerApi,
} from './batch-owners.js';
import { eventually } from './eventually.js';
import { createTestNamespace, deleteTestNamespace, isGone, randomName } from './kube.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'crds');

/** Each system's fixture folder, named with the pinned version (test/fixtures/crds/README.md). */
export const FIXTURE_CRDS = {
  jobset: 'jobset-v0.10.1',
  'argo-workflows': 'argo-workflows-v3.6.5',
  tekton: 'tekton-pipeline-v1.0.0',
} as const;

export type FixtureSystem = keyof typeof FIXTURE_CRDS;

/** An object of each fixture kind, to probe the garbage collector with. */
const PROBES: Readonly<Record<string, { readonly api: OwnerApi; readonly body: (name: string) => Body }>> = {
  'jobsets.jobset.x-k8s.io': { api: OWNER_API.jobSet, body: (n) => jobSetBody(n, { suspend: true }) },
  'workflows.argoproj.io': { api: OWNER_API.workflow, body: (n) => workflowBody(n) },
  'cronworkflows.argoproj.io': { api: OWNER_API.cronWorkflow, body: (n) => cronWorkflowBody(n) },
  'pipelineruns.tekton.dev': { api: OWNER_API.pipelineRun, body: (n) => pipelineRunBody(n) },
  'taskruns.tekton.dev': { api: OWNER_API.taskRun, body: (n) => standaloneTaskRunBody(n) },
};

function isCrd(doc: unknown): doc is V1CustomResourceDefinition {
  return typeof doc === 'object' && doc !== null && 'kind' in doc && doc.kind === 'CustomResourceDefinition';
}

/** The CRDs of a system's fixture folder, parsed. */
export async function fixtureCrds(system: FixtureSystem): Promise<V1CustomResourceDefinition[]> {
  const dir = join(fixtures, FIXTURE_CRDS[system]);
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc: unknown = loadYaml(await readFile(join(dir, file), 'utf8'));
    if (!isCrd(doc)) throw new Error(`${dir}/${file} is not one CustomResourceDefinition`);
    crds.push(doc);
  }
  return crds;
}

/**
 * Creates the CRDs of `systems` (a plain create: JobSet's CRD is 780 KB and server-side apply
 * would add managed fields for every schema node), waits until each is Established and the
 * garbage collector handles its kind. Returns the CRD names.
 */
export async function installFixtureCrds(kc: KubeConfig, systems: readonly FixtureSystem[], timeout = 120_000): Promise<string[]> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const system of systems) {
    for (const crd of await fixtureCrds(system)) {
      const name = crd.metadata?.name ?? '';
      try {
        await api.createCustomResourceDefinition({ body: crd });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
      names.push(name);
    }
  }
  for (const name of names) {
    await eventually(
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') !== true) throw new Error(`${name} is not Established`);
      },
      { timeout, interval: 100 },
    );
  }
  await untilGarbageCollected(kc, names, timeout);
  return names;
}

/** Returns once the garbage collector deletes the dependents of each kind's deleted objects. */
export async function untilGarbageCollected(kc: KubeConfig, crdNames: readonly string[], timeout = 120_000): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = await createTestNamespace(kc, 'lethe-gc-probe');
  try {
    await Promise.all(
      crdNames.map(async (crd) => {
        const probe = PROBES[crd];
        if (probe === undefined) throw new Error(`no garbage-collector probe for ${crd}`);
        const owner = await createOwnerObject(kc, namespace, probe.api, probe.body(randomName('probe')));
        const dependent = randomName('dependent');
        await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: dependent, ownerReferences: [controllerRef(owner)] } } });
        await deleteOwnerObject(kc, namespace, probe.api, owner.metadata.name);
        await eventually(() => isGone(() => core.readNamespacedConfigMap({ name: dependent, namespace })), { timeout, interval: 250 });
      }),
    );
  } finally {
    await deleteTestNamespace(kc, namespace);
  }
}
