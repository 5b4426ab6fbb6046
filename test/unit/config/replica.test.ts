import { describe, expect, test } from '@jest/globals';
import { loadConfig, replicaNamespace, replicaOf, type Config, type ReplicaFacts } from '../../../src/config/index.js';

function config(argv: string[]): Config {
  const result = loadConfig(argv, {});
  if (result.kind !== 'config') throw new Error('no config');
  return result.config;
}

const facts = (env: Record<string, string>, serviceAccountNamespace = ''): ReplicaFacts => ({
  env,
  hostname: () => 'host-1',
  serviceAccountNamespace: () => serviceAccountNamespace,
});

describe("the replica's identity: one place for name and namespace", () => {
  test.each([
    ['the flag wins', ['--leader-election.identity=flagged'], { POD_NAME: 'pod-1' }, 'flagged'],
    ['else POD_NAME', [], { POD_NAME: 'pod-1' }, 'pod-1'],
    ['else the host name', [], {}, 'host-1'],
    ['an empty POD_NAME counts as none', [], { POD_NAME: '' }, 'host-1'],
  ])('name: %s', (_name, argv, env, expected) => {
    expect(replicaOf(config(argv), facts(env)).name).toBe(expected);
  });

  test.each([
    ['the flag wins', ['--leader-election.namespace=flagged'], { POD_NAMESPACE: 'ns-env' }, 'ns-file', 'flagged'],
    ['else POD_NAMESPACE', [], { POD_NAMESPACE: 'ns-env' }, 'ns-file', 'ns-env'],
    ['else the service-account namespace', [], {}, 'ns-file', 'ns-file'],
    ['else not known here (the kubeconfig decides)', [], {}, '', undefined],
  ])('namespace: %s', (_name, argv, env, file, expected) => {
    expect(replicaOf(config(argv), facts(env, file)).namespace).toBe(expected);
  });

  test('the host name and the service-account file are read only when nothing before them answers', () => {
    const read: string[] = [];
    const lazy: ReplicaFacts = {
      env: { POD_NAME: 'p', POD_NAMESPACE: 'n' },
      hostname: () => (read.push('hostname'), 'h'),
      serviceAccountNamespace: () => (read.push('file'), 'f'),
    };
    expect(replicaOf(config([]), lazy)).toEqual({ name: 'p', namespace: 'n' });
    expect(read).toEqual([]);
  });

  test.each([
    ['a known namespace wins over the context', 'lethe', 'ctx', 'lethe'],
    ["else the kubeconfig context's", undefined, 'ctx', 'ctx'],
    ['else default', undefined, undefined, 'default'],
  ])('final namespace: %s', (_name, known, context, expected) => {
    expect(replicaNamespace({ name: 'r', namespace: known }, context)).toBe(expected);
  });
});
