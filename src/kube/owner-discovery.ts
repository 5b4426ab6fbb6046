import { ApiException, ApisApi, CustomObjectsApi, KubeConfig, setHeaderOptions, type Cluster, type RequestContext, type V1APIGroup } from '@kubernetes/client-node';
import type { OwnerKindName } from '../config/index.js';
import { apiErrorFields } from './client.js';

/**
 * Discovery of a configured owner kind (`workflows.argoproj.io`): which version serves it, its
 * Kind and scope, and whether Lethe may list it. Discovery documents are readable by every
 * authenticated user (the system:discovery role), so looking costs no extra permission; the
 * access check is the list Lethe needs anyway, for one metadata-only item.
 */

export const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface DiscoveredKind {
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export type Discovery =
  | ({ readonly outcome: 'found' } & DiscoveredKind)
  | { readonly outcome: 'absent' | 'unknown'; readonly message: string };

/** The groups the API server serves, by name (one `GET /apis` for all kinds of a round). */
export async function servedGroups(kc: KubeConfig): Promise<ReadonlyMap<string, V1APIGroup>> {
  const list = await kc.makeApiClient(ApisApi).getAPIVersions();
  return new Map(list.groups.map((g) => [g.name, g]));
}

/** The versions of a group to look in: the preferred one first, then the others in the server's order. */
function versionsOf(group: V1APIGroup): string[] {
  const preferred = group.preferredVersion?.version;
  const all = group.versions.map((v) => v.version);
  return preferred === undefined ? all : [preferred, ...all.filter((v) => v !== preferred)];
}

/** Finds `name` among the served groups; `unknown` when the API server could not say. */
export async function discoverKind(kc: KubeConfig, name: OwnerKindName, groups: ReadonlyMap<string, V1APIGroup>): Promise<Discovery> {
  const group = groups.get(name.group);
  if (group === undefined) return { outcome: 'absent', message: `the API group ${name.group} is not served (is its CustomResourceDefinition installed?)` };
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const version of versionsOf(group)) {
    let resources;
    try {
      resources = await custom.getAPIResources({ group: name.group, version });
    } catch (err) {
      // A version listed a moment ago may be gone (a CRD changing): look at the next one.
      if (err instanceof ApiException && err.code === 404) continue;
      return { outcome: 'unknown', message: `discovery of ${name.group}/${version} failed: ${describe(err)}` };
    }
    const resource = resources.resources.find((r) => r.name === name.resource);
    if (resource === undefined) continue;
    const verbs = new Set(resource.verbs);
    if (!verbs.has('list') || !verbs.has('watch')) {
      return { outcome: 'absent', message: `${name.name} (${name.group}/${version}) cannot be listed and watched (verbs: ${resource.verbs.join(', ')})` };
    }
    return { outcome: 'found', version, kind: resource.kind, namespaced: resource.namespaced };
  }
  return { outcome: 'absent', message: `the API group ${name.group} has no resource ${name.resource} (is its CustomResourceDefinition installed?)` };
}

export type Access = 'readable' | 'forbidden' | 'absent' | 'unknown';

/** Lists one item, metadata only, across all namespaces: can Lethe list this kind? */
export async function checkAccess(kc: KubeConfig, name: OwnerKindName, version: string): Promise<{ access: Access; message: string }> {
  try {
    await kc
      .makeApiClient(CustomObjectsApi)
      .listClusterCustomObject({ group: name.group, version, plural: name.resource, limit: 1 }, setHeaderOptions('Accept', ACCEPT_METADATA_LIST));
    return { access: 'readable', message: '' };
  } catch (err) {
    const code = err instanceof ApiException ? err.code : undefined;
    if (code === 403) return { access: 'forbidden', message: `listing ${name.name} is forbidden: ${describe(err)} (grant get, list and watch on it; the chart does for the kinds it is given)` };
    if (code === 404) return { access: 'absent', message: `listing ${name.name} answered 404 (its CustomResourceDefinition was removed?)` };
    return { access: 'unknown', message: `listing ${name.name} failed: ${describe(err)}` };
  }
}

/** The HTTP status and the API server's Status message, never the exception text (it carries headers). */
export function describe(err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err);
  const { message } = apiErrorFields(err);
  return `HTTP ${err.code}${typeof message === 'string' ? `: ${message}` : ''}`;
}

/**
 * A KubeConfig for client-node's Watch that asks for PartialObjectMetadata: Watch sends the
 * headers `applySecurityAuthentication` sets, so this adds Accept to the base config's auth.
 */
export class MetadataWatchConfig extends KubeConfig {
  constructor(private readonly base: KubeConfig) {
    super();
  }

  override getCurrentCluster(): Cluster | null {
    return this.base.getCurrentCluster();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.base.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', ACCEPT_METADATA);
  }
}
