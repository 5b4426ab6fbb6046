/** Helpers for the authentication integration tests: ServiceAccount tokens, authenticated requests. */
import { request } from 'node:http';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1Pod, type V1PolicyRule } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { tokenKubeConfig, writeKubeConfig } from './deploy-support.js';

/** A ServiceAccount token from the TokenRequest API: for `default` in `namespace`, optionally bound to a pod. */
export async function serviceAccountToken(
  kc: KubeConfig,
  namespace: string,
  options: { readonly audiences?: readonly string[]; readonly pod?: V1Pod; readonly serviceAccount?: string; readonly seconds?: number } = {},
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = options.serviceAccount ?? 'default';
  // The default ServiceAccount is made by the controller-manager shortly after the namespace.
  await eventually(() => core.readNamespacedServiceAccount({ name, namespace }), { timeout: 30_000 });
  const pod = options.pod;
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: {
      spec: {
        audiences: [...(options.audiences ?? [])],
        expirationSeconds: options.seconds ?? 600,
        ...(pod === undefined ? {} : { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' } }),
      },
    },
  });
  const token = tr.status?.token;
  if (token === undefined) throw new Error('no token in the TokenRequest answer');
  return token;
}

/**
 * Lethe with less than the chart grants: a ServiceAccount `lethe` in `namespace`, bound to a new
 * ClusterRole `role` of `rules` (replace the role to grant more), and the path of a kubeconfig
 * written into `dir` that authenticates as it.
 */
export async function limitedServiceAccount(admin: KubeConfig, namespace: string, role: string, rules: V1PolicyRule[], dir: string): Promise<string> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'lethe' } } });
  await rbac.createClusterRole({ body: { metadata: { name: role }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: role },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name: 'lethe', namespace }],
    },
  });
  const token = await serviceAccountToken(admin, namespace, { serviceAccount: 'lethe' });
  return writeKubeConfig(tokenKubeConfig(admin, token, 'lethe'), join(dir, 'lethe.kubeconfig'));
}

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One HTTP request to Lethe on loopback, with an optional Authorization header. */
export function call(
  port: number,
  method: string,
  path: string,
  options: { readonly authorization?: string; readonly body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers: {
          'content-type': 'text/plain; version=0.0.4',
          ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(options.body ?? '');
  });
}

export const bearer = (token: string): string => `Bearer ${token}`;
