import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { ConfigError, LetheError, UnavailableError } from '../errors.js';
import { errorFields } from '../observability/index.js';

export interface KubeSource {
  /** An explicit kubeconfig path (`--kubeconfig` or `KUBECONFIG`). */
  readonly kubeconfig?: string;
  /** True when running in a pod (KUBERNETES_SERVICE_HOST is set and the token file exists). */
  readonly inCluster: boolean;
}

/**
 * Loads the cluster configuration explicitly: a kubeconfig when one is named, else in-cluster.
 * Never falls back to client-node's default chain, which would try http://localhost:8080.
 */
export function loadKubeConfig(source: KubeSource): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (source.kubeconfig !== undefined) {
      kc.loadFromFile(source.kubeconfig);
    } else if (source.inCluster) {
      kc.loadFromCluster();
    } else {
      throw new ConfigError('LETHE_CONFIG', 'no Kubernetes configuration: pass --kubeconfig or run in a pod');
    }
  } catch (err) {
    if (err instanceof LetheError) throw err;
    throw new ConfigError('LETHE_CONFIG', `cannot load Kubernetes configuration: ${String(err)}`, { cause: err });
  }
  if (kc.getCurrentCluster() === null) {
    throw new ConfigError('LETHE_CONFIG', 'Kubernetes configuration has no current cluster');
  }
  return kc;
}

/**
 * The namespace of the kubeconfig's current context, if it names one (in a pod, client-node sets
 * it from the service-account namespace file). config/replica.ts decides when it counts.
 */
export function contextNamespace(kc: KubeConfig): string | undefined {
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return namespace === '' ? undefined : namespace;
}

export type ApiOutcome = 'absent' | 'conflict' | 'unavailable' | 'rejected';

/** Classifies an error from the API server the way the lifecycle needs it (STYLE.md, kube edge). */
export function classifyApiError(err: unknown): ApiOutcome {
  if (err instanceof ApiException) {
    const code = err.code;
    if (code === 404) return 'absent';
    if (code === 409) return 'conflict';
    if (code >= 500 || code === 429) return 'unavailable';
    return 'rejected';
  }
  return 'unavailable';
}

/** Turns any API error into a LetheError so no ApiException leaves kube/. */
export function toLetheError(err: unknown, what: string): LetheError {
  if (err instanceof LetheError) return err;
  const code = err instanceof ApiException ? err.code : undefined;
  return new UnavailableError('LETHE_KUBE_API', `${what} failed${code === undefined ? '' : ` (HTTP ${code})`}`, {
    cause: err,
  });
}

/**
 * Loggable fields of an API error: the HTTP status and the Status message from the body, never
 * the exception's message, which carries the response headers (TESTING.md §5.2).
 */
export function apiErrorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof ApiException)) return errorFields(err);
  const body: unknown = err.body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') message = parsed.message;
    } catch {
      message = body.slice(0, 200);
    }
  } else if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') {
    message = body.message;
  }
  return { name: 'ApiException', code: err.code, ...(message === undefined ? {} : { message }) };
}
