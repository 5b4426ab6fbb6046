import { describe, expect, test } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { classifyApiError, loadKubeConfig } from '../../../src/kube/index.js';
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
