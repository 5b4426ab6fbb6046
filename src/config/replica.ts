import type { Config } from './load.js';

/**
 * Who this replica is — worked out here and nowhere else. Its name is the holder of the
 * Kubernetes Lease and of the Redis lease and the reportingInstance of its Events; its namespace
 * holds the Lease and the Events about groups of no namespace.
 *
 *   name:      --leader-election.identity, else POD_NAME, else the host name
 *   namespace: --leader-election.namespace, else POD_NAMESPACE, else the mounted service-account
 *              namespace (in a pod), else the kubeconfig context's namespace, else `default`
 *
 * main.ts gathers the facts (environment, host name, service-account file); the kubeconfig
 * context is known only once kube/ has loaded it, which then calls replicaNamespace.
 */

export interface Replica {
  readonly name: string;
  /** Undefined: not given by a flag, the environment or the pod (see replicaNamespace). */
  readonly namespace: string | undefined;
}

/** What main.ts knows of the process. */
export interface ReplicaFacts {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: () => string;
  /** The mounted service-account namespace file's contents, trimmed; '' when there is none (not in a pod). */
  readonly serviceAccountNamespace: () => string;
}

export function replicaOf(config: Config, facts: ReplicaFacts): Replica {
  const { identity, namespace } = config.leaderElection;
  const name = identity || facts.env['POD_NAME'] || facts.hostname();
  const known = namespace || facts.env['POD_NAMESPACE'] || facts.serviceAccountNamespace();
  return { name, namespace: known === '' ? undefined : known };
}

/** The replica's namespace, with the kubeconfig context's namespace (if any) as the last but one resort. */
export function replicaNamespace(replica: Replica, contextNamespace: string | undefined): string {
  return replica.namespace ?? (contextNamespace !== undefined && contextNamespace !== '' ? contextNamespace : 'default');
}
