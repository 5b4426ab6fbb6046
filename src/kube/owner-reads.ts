import { BatchV1Api, CoreV1Api, CustomObjectsApi, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { ChainLink, ChainObject, OwnerAnnotations, OwnerObjectInfo, Presence } from '../lifecycle/index.js';
import { CRONJOB, JOB, METRICSGROUP, NAMESPACE, POD, isKind, type ObjectKind, type OwnerRef } from '../model/index.js';
import { F, type Logger } from '../observability/index.js';
import { apiErrorFields, classifyApiError } from './client.js';
import { METRICS_GROUP } from './metrics-group.js';
import { parseJob, parsePod } from './objects.js';
import { ACCEPT_METADATA } from './owner-discovery.js';
import type { OwnerKinds } from './owner-kinds.js';
import { parseOwnerObject } from './owner-objects.js';

/**
 * Live reads of one owner from the API server, for when the caches cannot be trusted to know:
 * an owner on a pushing pod's chain that the watch has not delivered yet, and an owner the
 * lifecycle is about to delete groups for (is it really gone?).
 */

/** An object on a chain, with what its annotations say (the schedule key of a run). */
export type ReadOwner = ChainObject & Partial<OwnerAnnotations>;

type Identified = { metadata?: { uid?: string; deletionTimestamp?: Date | string } } | undefined;

export class OwnerReads {
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly log: Logger;

  constructor(
    kubeConfig: KubeConfig,
    logger: Logger,
    private readonly ownerKinds: OwnerKinds,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.log = logger.child({ [F.component]: 'kube' });
  }

  /**
   * An owner on a chain that the caches lack: a Job, a pod, or an object of a configured kind.
   * `absent` when it does not exist (or has another UID), `unknown` when the API server could not
   * say or Lethe does not read that kind.
   */
  async read(link: Pick<ChainLink, 'group' | 'kind' | 'namespace' | 'name' | 'uid'>): Promise<ReadOwner | 'absent' | 'unknown'> {
    const { namespace, name, uid } = link;
    try {
      let found: ReadOwner | undefined;
      if (isKind(link, JOB)) found = parseJob(await this.batch.readNamespacedJob({ name, namespace }));
      else if (isKind(link, POD)) found = parsePod(await this.core.readNamespacedPod({ name, namespace }));
      else return await this.readConfigured(link);
      if (found === undefined) return 'unknown';
      return found.uid === uid ? found : 'absent';
    } catch (err) {
      if (classifyApiError(err) === 'absent') return 'absent';
      this.log.warn('Failed to read an owner of a pushing pod', { [F.kind]: link.kind, [F.namespace]: namespace, name, [F.err]: apiErrorFields(err) });
      return 'unknown';
    }
  }

  /**
   * One object of a configured kind, metadata only unless Lethe reads its spec: `unknown` when
   * its kind is not watched now. A reference without a UID means whatever object has that name.
   */
  async readConfigured(owner: Pick<ChainLink, 'group' | 'kind' | 'namespace' | 'name' | 'uid'>): Promise<OwnerObjectInfo | 'absent' | 'unknown'> {
    const target = this.ownerKinds.readTarget(owner);
    if (target === undefined) return 'unknown';
    const { group, version, plural } = target;
    const accept = target.reader === undefined ? setHeaderOptions('Accept', ACCEPT_METADATA) : undefined;
    try {
      const body: unknown = target.namespaced
        ? await this.custom.getNamespacedCustomObject({ group, version, plural, namespace: owner.namespace, name: owner.name }, accept)
        : await this.custom.getClusterCustomObject({ group, version, plural, name: owner.name }, accept);
      const parsed = parseOwnerObject(body, target.identity, target.reader);
      if (parsed === undefined) return 'unknown';
      return owner.uid !== '' && parsed.uid !== owner.uid ? 'absent' : parsed;
    } catch (err) {
      if (classifyApiError(err) === 'absent') return 'absent';
      this.log.warn('Failed to read an owner', { [F.owner]: owner, [F.err]: apiErrorFields(err) });
      return 'unknown';
    }
  }

  /**
   * Whether an owner is gone, asked of the API server (ClusterView.confirmAbsent): `unknown` when
   * it cannot tell (unreachable, a kind Lethe does not read). A namespace, or an object of a
   * configured kind, that is being deleted counts as gone.
   */
  async confirmAbsent(owner: OwnerRef): Promise<Presence> {
    if (!isBuiltIn(owner)) {
      const found = await this.readConfigured(owner);
      return found === 'absent' || found === 'unknown' ? found : found.deleting ? 'absent' : 'present';
    }
    const { namespace, name, uid } = owner;
    try {
      let found: Identified;
      if (isKind(owner, NAMESPACE)) found = await this.core.readNamespace({ name });
      else if (isKind(owner, POD)) found = await this.core.readNamespacedPod({ name, namespace });
      else if (isKind(owner, JOB)) found = await this.batch.readNamespacedJob({ name, namespace });
      else if (isKind(owner, CRONJOB)) found = await this.batch.readNamespacedCronJob({ name, namespace });
      else {
        const { group, version, plural } = METRICS_GROUP;
        found = (await this.custom.getNamespacedCustomObject({ group, version, plural, namespace, name })) as Identified;
      }
      if (uid !== '' && found?.metadata?.uid !== uid) return 'absent';
      if (isKind(owner, NAMESPACE) && found?.metadata?.deletionTimestamp !== undefined) return 'absent';
      return 'present';
    } catch (err) {
      if (classifyApiError(err) === 'absent') return 'absent';
      this.log.warn('Failed to confirm that an owner is gone', { [F.owner]: owner, [F.err]: apiErrorFields(err) });
      return 'unknown';
    }
  }
}

const BUILT_IN: readonly ObjectKind[] = [NAMESPACE, POD, JOB, CRONJOB, METRICSGROUP];
const isBuiltIn = (kind: ObjectKind): boolean => BUILT_IN.some((k) => isKind(kind, k));
