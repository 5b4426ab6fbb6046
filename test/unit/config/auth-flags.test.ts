import { describe, expect, test } from '@jest/globals';
import { loadConfig, type Config } from '../../../src/config/index.js';

function config(argv: string[], env: Record<string, string> = {}): Config {
  const result = loadConfig(argv, env);
  if (result.kind !== 'config') throw new Error('no config');
  return result.config;
}

describe('auth, TLS and limit flags', () => {
  test('the defaults are the Pushgateway\'s: no authentication, everything readable, plain HTTP, no quotas', () => {
    const c = config([]);
    expect(c.auth).toEqual({ enabled: false, kubernetes: false, staticFile: '', tokenAudiences: [], cacheTtlMs: 60_000, kubernetesAdmins: [], read: 'anyone' });
    expect(c.web.tls).toBeUndefined();
    expect(c.limits).toMatchObject({ namespaceGroups: 0, namespaceSeries: 0, maxConnections: 0, headerTimeoutMs: 60_000, requestTimeoutMs: 300_000 });
  });

  test('kubernetes and static together, with audiences, admins and restricted reads', () => {
    const c = config([
      '--auth.mode=kubernetes+static',
      '--auth.static-file=/etc/lethe/auth/auth.json',
      '--auth.token-audience=lethe, pushgateway',
      '--auth.kubernetes-admins=system:serviceaccount:ops:admin',
      '--auth.read=authenticated',
      '--auth.cache-ttl=30s',
    ]);
    expect(c.auth).toEqual({
      enabled: true,
      kubernetes: true,
      staticFile: '/etc/lethe/auth/auth.json',
      tokenAudiences: ['lethe', 'pushgateway'],
      cacheTtlMs: 30_000,
      kubernetesAdmins: ['system:serviceaccount:ops:admin'],
      read: 'authenticated',
    });
  });

  test('TLS and limits from the environment', () => {
    const c = config([], {
      LETHE_WEB_TLS_CERT_FILE: '/tls/tls.crt',
      LETHE_WEB_TLS_KEY_FILE: '/tls/tls.key',
      LETHE_LIMITS_MAX_CONNECTIONS: '512',
      LETHE_LIMITS_NAMESPACE_GROUPS: '100',
      LETHE_LIMITS_NAMESPACE_SERIES: '10000',
      LETHE_LIMITS_HEADER_TIMEOUT: '10s',
      LETHE_LIMITS_REQUEST_TIMEOUT: '30s',
    });
    expect(c.web.tls).toEqual({ certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
    expect(c.limits).toMatchObject({ maxConnections: 512, namespaceGroups: 100, namespaceSeries: 10_000, headerTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  });

  test.each([
    ['static without a file', ['--auth.mode=static'], /--auth.mode="static": needs --auth.static-file/],
    ['a file without static', ['--auth.static-file=/x'], /--auth.static-file: needs --auth.mode=static or kubernetes\+static/],
    ['an audience without kubernetes', ['--auth.mode=static', '--auth.static-file=/x', '--auth.token-audience=lethe'], /--auth.token-audience: needs --auth.mode=kubernetes/],
    ['admins without kubernetes', ['--auth.kubernetes-admins=u'], /--auth.kubernetes-admins: needs --auth.mode=kubernetes/],
    ['restricted reads without authentication', ['--auth.read=authenticated'], /--auth.read="authenticated": needs --auth.mode other than none/],
    ['an unknown mode', ['--auth.mode=oidc'], /--auth.mode="oidc"/],
    ['a certificate without a key', ['--web.tls.cert-file=/c'], /--web.tls.cert-file and --web.tls.key-file: set both or neither/],
    ['a header timeout over the request timeout', ['--limits.header-timeout=10m'], /--limits.header-timeout: must not be longer than --limits.request-timeout/],
    ['a negative quota', ['--limits.namespace-groups=-1'], /--limits.namespace-groups="-1"/],
  ])('refuses %s', (_name, argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(message);
  });
});
