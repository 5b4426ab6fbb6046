import { describe, expect, test } from '@jest/globals';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { replicaNamespace } from '../../../src/config/index.js';
import { classifyApiError, contextNamespace, loadKubeConfig } from '../../../src/kube/index.js';
import { ConfigError } from '../../../src/errors.js';

// Proves that Jest (ESM mode) loads the ESM-only client-node through the module that wraps it.
describe('kube client edge', () => {
  test.each([
    ['404 means the object is absent', 404, 'absent'],
    ['409 means retry on the next pass', 409, 'conflict'],
    ['500 means the API server is unavailable', 500, 'unavailable'],
    ['429 means the API server is unavailable', 429, 'unavailable'],
    ['403 is a rejection', 403, 'rejected'],
  ])('%s', (_name, code, outcome) => {
    expect(classifyApiError(new ApiException(code, 'x', {}, {}))).toBe(outcome);
  });

  test('a network error means unavailable', () => {
    expect(classifyApiError(new Error('ECONNREFUSED'))).toBe('unavailable');
  });

  test('no configuration is a ConfigError, never a localhost:8080 fallback', () => {
    expect(() => loadKubeConfig({ inCluster: false })).toThrow(ConfigError);
  });

  test('a missing kubeconfig file is a ConfigError naming the problem', () => {
    expect(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig', inCluster: false })).toThrow(
      /cannot load Kubernetes configuration/,
    );
  });
});

describe("Lethe's own namespace (its Lease)", () => {
  const kubeconfig = (namespace: string | undefined): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u', ...(namespace === undefined ? {} : { namespace }) }],
      currentContext: 'ctx',
    });
    return kc;
  };

  test.each([
    ['the flag, POD_NAMESPACE or the service-account file (config/replica.ts) wins', 'lethe', 'team-a', 'lethe'],
    ["else the kubeconfig context's namespace", undefined, 'team-a', 'team-a'],
    ['else default', undefined, undefined, 'default'],
    ['an empty context namespace counts as none', undefined, '', 'default'],
  ])('%s', (_name, known, context, expected) => {
    expect(replicaNamespace({ name: 'r', namespace: known }, contextNamespace(kubeconfig(context)))).toBe(expected);
  });
});
