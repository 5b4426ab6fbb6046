/** Helpers for the authentication integration tests: ServiceAccount tokens, authenticated requests. */
import { request } from 'node:http';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';

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
