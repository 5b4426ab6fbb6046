import { describe, expect, test } from '@jest/globals';
import { loadConfig, type Config } from '../../../src/config/index.js';

function config(argv: string[], env: Record<string, string> = {}): Config {
  const result = loadConfig(argv, env);
  if (result.kind !== 'config') throw new Error('no config');
  return result.config;
}

describe('store and HA flags', () => {
  test('the file store is the default', () => {
    const c = config([]);
    expect(c.store.backend).toBe('file');
    expect(c.ha).toEqual({ lease: 'auto', leaseDurationMs: 15_000 });
  });

  test('a Redis URL selects the Redis store; the status page never shows its password', () => {
    const c = config(['--store.redis.url=redis://:pw@r:6379', '--store.redis.min-replicas=1', '--ha.lease=redis', '--ha.lease-duration=5s'], {
      LETHE_STORE_REDIS_TIMEOUT: '250ms',
    });
    expect(c.store).toEqual({ backend: 'redis', redis: { url: 'redis://:pw@r:6379', keyPrefix: 'lethe:', timeoutMs: 250, minReplicas: 1 } });
    expect(c.ha).toEqual({ lease: 'redis', leaseDurationMs: 5_000 });
    expect(c.flags['store.redis.url']).toBe('redis://:***@r:6379');
  });

  test.each([
    ['--store=redis without a URL', ['--store=redis'], /--store="redis": needs --store.redis.url/],
    ['a URL of another scheme', ['--store.redis.url=http://r'], /--store.redis.url="http:\/\/r": expected redis:\/\//],
    ['an unknown lease', ['--ha.lease=etcd'], /--ha.lease="etcd"/],
    ['a lease shorter than a second', ['--ha.lease-duration=500ms'], /at least 1s/],
  ])('refuses %s', (_name, argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(message);
  });
});
