import { describe, expect, test } from '@jest/globals';
import { ConfigError } from '../../../src/errors.js';
import { computeRoutePrefix, loadConfig, type Config } from '../../../src/config/index.js';

function load(argv: string[], env: Record<string, string> = {}): Config {
  const result = loadConfig(argv, env);
  if (result.kind !== 'config') throw new Error(`expected a config, got ${result.kind}`);
  return result.config;
}

describe('loadConfig', () => {
  test('defaults match the Pushgateway', () => {
    const c = load([]);
    expect(c.web).toMatchObject({ listenHost: '', listenPort: 9091, telemetryPath: '/metrics', routePrefix: '', enableAdminApi: false, enableLifecycle: false });
    expect(c.persistence).toEqual({ file: '', intervalMs: 300_000, retryIntervalMs: 5_000, compactBytes: 64 * 1024 * 1024 });
    expect(c.push.consistencyCheck).toBe(true);
  });

  test.each([
    ['--flag=value', ['--web.listen-address=127.0.0.1:1234'], { listenHost: '127.0.0.1', listenPort: 1234 }],
    ['--flag value', ['--web.listen-address', '127.0.0.1:1234'], { listenHost: '127.0.0.1', listenPort: 1234 }],
    ['a bare boolean flag', ['--web.enable-admin-api'], { enableAdminApi: true }],
    ['a --no- boolean flag', ['--web.enable-admin-api', '--no-web.enable-admin-api'], { enableAdminApi: false }],
    ['an explicit boolean', ['--web.enable-lifecycle=true'], { enableLifecycle: true }],
    ['an IPv6 address', ['--web.listen-address=[::1]:9091'], { listenHost: '::1', listenPort: 9091 }],
  ])('reads %s', (_name, argv, want) => {
    expect(load(argv).web).toMatchObject(want);
  });

  test('environment variables set flags, and flags win over them', () => {
    expect(load([], { LETHE_PERSISTENCE_FILE: '/tmp/x' }).persistence.file).toBe('/tmp/x');
    expect(load(['--persistence.file=/tmp/y'], { LETHE_PERSISTENCE_FILE: '/tmp/x' }).persistence.file).toBe('/tmp/y');
  });

  test.each([
    ['a bad listen address', ['--web.listen-address=nonsense'], /--web.listen-address="nonsense": expected \[host\]:port/],
    ['a port out of range', ['--web.listen-address=:99999'], /port out of range/],
    ['an unknown flag', ['--web.listen-adress=:1'], /unknown flag --web.listen-adress/],
    ['a bad duration', ['--persistence.interval=5 minutes'], /--persistence.interval="5 minutes": not a duration/],
    ['a bad log level', ['--log.level=loud'], /--log.level="loud"/],
    ['a non-numeric limit', ['--limits.groups=many'], /--limits.groups="many"/],
    ['a zero limit', ['--limits.body-bytes=0'], /--limits.body-bytes="0"/],
    ['a heap share over 1', ['--limits.heap-share=1.5'], /--limits.heap-share="1.5": must be between 0 and 1/],
    ['a heap share in percent', ['--limits.heap-share=80%'], /--limits.heap-share="80%": not a number between 0 and 1/],
    ['a negative heap share', ['--limits.heap-share=-0.1'], /--limits.heap-share="-0.1": not a number between 0 and 1/],
    ['a missing value', ['--persistence.file'], /--persistence.file: a value is required/],
    ['a stray argument', ['serve'], /unexpected argument "serve"/],
  ])('rejects %s with a ConfigError naming the flag', (_name, argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(message);
  });

  test.each([
    [[], 0.7],
    [['--limits.heap-share=0.6'], 0.6],
    [['--limits.heap-share=.75'], 0.75],
    [['--limits.heap-share=1'], 1],
    [['--limits.heap-share=0'], 0],
  ])('reads the heap share %j', (argv, share) => {
    expect(load(argv).limits.heapShare).toBe(share);
  });

  test('every problem is listed at once', () => {
    expect(() => loadConfig(['--log.level=x', '--limits.groups=y'], {})).toThrow(/limits.groups[\s\S]*log.level/);
  });

  test('help and version are recognised', () => {
    expect(loadConfig(['--help'], {}).kind).toBe('help');
    expect(loadConfig(['--version'], {}).kind).toBe('version');
  });
});

describe('computeRoutePrefix', () => {
  test.each([
    ['nothing set', '', '', ''],
    ['a slash only', '/', '', ''],
    ['a prefix without leading slash', 'pg/', '', '/pg'],
    ['a prefix with trailing slash', '/pg/', '', '/pg'],
    ['the external URL path', '', 'http://example.com/gw/', '/gw'],
    ['the route prefix over the external URL', '/a', 'http://example.com/gw', '/a'],
  ])('%s', (_name, prefix, external, want) => {
    expect(computeRoutePrefix(prefix, external)).toBe(want);
  });
});
