import { describe, expect, test } from '@jest/globals';
import { redisOptionsOf } from '../../../src/store/redis/connection.js';
import { redactRedisUrl } from '../../../src/store/index.js';

describe('Redis URLs', () => {
  test.each([
    ['plain', 'redis://127.0.0.1:6379/2', { url: 'redis://127.0.0.1:6379/2', options: {} }],
    ['TLS', 'rediss://user:pw@redis.example:6380', { url: 'rediss://user:pw@redis.example:6380', options: {} }],
    ['valkey is redis', 'valkey://v:6379', { url: 'redis://v:6379', options: {} }],
    [
      'Sentinel with password, two sentinels and a db',
      'redis+sentinel://:s3cret@s1:26379,s2/mymaster/1?sentinelPassword=x',
      { options: { sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'mymaster', db: 1, password: 's3cret', sentinelPassword: 'x' } },
    ],
    [
      'Sentinel over TLS',
      'rediss+sentinel://s1:26380/primary',
      { options: { sentinels: [{ host: 's1', port: 26380 }], name: 'primary', tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } },
    ],
  ])('%s', (_name, url, expected) => {
    expect(redisOptionsOf(url)).toEqual(expected);
  });

  test.each([
    ['another scheme', 'http://x:6379', /expected redis:\/\//],
    ['a Sentinel URL without the primary name', 'redis+sentinel://s1:26379', /primary name/],
  ])('refuses %s', (_name, url, message) => {
    expect(() => redisOptionsOf(url)).toThrow(message);
  });

  test('passwords are left out of what is shown', () => {
    expect(redactRedisUrl('redis://user:pw@h:1/0')).toBe('redis://user:***@h:1/0');
    expect(redactRedisUrl('redis://h:1')).toBe('redis://h:1');
  });
});
