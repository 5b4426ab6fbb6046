/**
 * --web.config.file in the exporter-toolkit format: the file's rules, TLS with client
 * certificates on a listening server (reloaded), and the headers, rate limit and bcrypt basic
 * auth users on every request. bcrypt hashes are made by Python's bcrypt (Debian's
 * python3-bcrypt), as an operator's htpasswd or script would make them; Lethe checks them with
 * its own library.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { loadConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors.js';
import { WebConfigSource, listen, loadWebConfig, parseWebConfigText, type ListeningServer } from '../../../src/gateway/index.js';
import { clientCertificateProblem, sanAllowed, subjectAltNames } from '../../../src/gateway/server.js';
import { createMetrics } from '../../../src/observability/index.js';
import { startLethe } from '../../../src/wiring/index.js';
import { Registry } from 'prom-client';
import { FakeClock } from '../../harness/builders.js';
import { eventually } from '../../harness/eventually.js';
import { createWebPki, type WebPki } from '../../harness/pki.js';
import { authApp, basic, counter } from './auth-app.js';
import { quietLogger } from '../../harness/logger.js';

const logger = quietLogger();

/** bcrypt hashes made by Python's bcrypt, cost 4 (fast; the cost does not change the check). */
function bcryptHash(password: string, prefix: '2b' | '2y' = '2b'): string {
  const hash = execFileSync('/usr/bin/python3', ['-c', 'import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(4)).decode())', password], { encoding: 'utf8' }).trim();
  // htpasswd -B writes $2y$, Python $2b$: the same algorithm.
  return prefix === '2y' ? hash.replace(/^\$2b\$/, '$2y$') : hash;
}

describe('parseWebConfigText', () => {
  test('an empty file configures nothing', () => {
    const parsed = parseWebConfigText('');
    expect([parsed.users.size, parsed.headers.size, parsed.rateLimit]).toEqual([0, 0, undefined]);
  });

  test('users, headers and the rate limit', () => {
    const hash = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
    const parsed = parseWebConfigText(
      [
        'basic_auth_users:',
        `  alice: ${hash}`,
        'http_server_config:',
        '  http2: false',
        '  headers:',
        '    X-Frame-Options: deny',
        '    Strict-Transport-Security: max-age=31536000',
        'rate_limit:',
        '  interval: 1s',
        '  burst: 5',
      ].join('\n'),
    );
    expect(parsed.users).toEqual(new Map([['alice', hash]]));
    expect(parsed.headers).toEqual(new Map([['X-Frame-Options', 'deny'], ['Strict-Transport-Security', 'max-age=31536000']]));
    expect(parsed.rateLimit).toEqual({ burst: 5, intervalMs: 1000 });
  });

  test.each<[string, string, RegExp]>([
    ['an unknown key (the toolkit parses strictly)', 'tls_server_config:\n  cert_fiel: x\n', /tls_server_config: .*cert_fiel/],
    ['an unknown client_auth_type', 'tls_server_config:\n  client_auth_type: Sometimes\n', /invalid ClientAuth: Sometimes/],
    ['an unknown cipher', 'tls_server_config:\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n', /unknown cipher: TLS_RSA_WITH_RC4_128_SHA/],
    ['an unknown curve', 'tls_server_config:\n  curve_preferences: [P-256]\n', /unknown curve: P-256/],
    ['an unknown TLS version', 'tls_server_config:\n  min_version: TLS14\n', /unknown TLS version: TLS14/],
    ['a header the toolkit does not allow', 'http_server_config:\n  headers:\n    Server: lethe\n', /"Server" can not be configured/],
    ['a header value the toolkit does not allow', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /invalid value for X-Frame-Options/],
    ['a password that is not a bcrypt hash', 'basic_auth_users:\n  alice: plain-password\n', /basic_auth_users\.alice: not a bcrypt hash/],
    ['a bcrypt cost out of range', 'basic_auth_users:\n  alice: $2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n', /not a bcrypt hash/],
    ['a rate limit interval that is not a duration', 'rate_limit:\n  interval: often\n', /rate_limit\.interval: not a duration/],
    ['not YAML', 'a: [\n', /not valid YAML \(line/],
    ['a duplicate key', 'basic_auth_users: {}\nbasic_auth_users: {}\n', /not valid YAML/],
  ])('%s is refused', (_name, text, message) => {
    expect(() => parseWebConfigText(text)).toThrow(message);
  });

  test('an error never quotes a password hash', () => {
    expect(() => parseWebConfigText('basic_auth_users:\n  alice: secret-in-clear\n')).toThrow(/^(?!.*secret-in-clear)/s);
  });
});

let dir: string;
let pki: WebPki;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lethe-web-config-'));
  pki = await createWebPki(dir, ['allowed.client', 'other.client']);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadWebConfig: TLS', () => {
  test('files are relative to the configuration file, and every file is watched', async () => {
    const file = join(dir, 'relative.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: web-ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n');
    const config = await loadWebConfig(file);
    expect(config.tls?.clientAuth).toBe('RequireAndVerifyClientCert');
    expect(config.tls?.cert).toEqual(await readFile(pki.server.cert));
    expect(config.files).toEqual([file, pki.server.cert, pki.server.key, pki.ca]);
  });

  test.each<[string, string, RegExp]>([
    ['a key without a certificate', 'tls_server_config:\n  key_file: server.key\n', /missing one of cert or cert_file/],
    ['a client CA without a client auth policy', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: web-ca.crt\n', /without a Client Auth Policy/],
    ['a file that is not there', 'tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n', /cert_file: cannot read/],
    ['a key that does not match', 'tls_server_config:\n  cert_file: server.crt\n  key_file: rogue.key\n', /does not load/],
    ['min_version above max_version', 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n', /min_version is above max_version/],
  ])('%s is refused', async (_name, text, message) => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, text);
    await expect(loadWebConfig(file)).rejects.toThrow(message);
  });

  test('Go cipher and curve names become OpenSSL names', async () => {
    const file = join(dir, 'ciphers.yml');
    writeFileSync(
      file,
      'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n  max_version: TLS12\n',
    );
    const tls = (await loadWebConfig(file)).tls;
    expect([tls?.ciphers, tls?.ecdhCurve, tls?.maxVersion]).toEqual([
      'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
      'X25519:P-256',
      'TLSv1.2',
    ]);
  });
});

describe('client certificate SANs', () => {
  test('subjectAltNames reads what Node prints', () => {
    expect(subjectAltNames('DNS:a.example, IP Address:127.0.0.1, URI:"spiffe://x/y,z", email:ops@example.org')).toEqual([
      'a.example',
      '127.0.0.1',
      'spiffe://x/y,z',
      'ops@example.org',
    ]);
    expect(subjectAltNames(undefined)).toEqual([]);
  });

  test('IP addresses compare as addresses', () => {
    expect(sanAllowed(['0:0:0:0:0:0:0:1'], ['::1'])).toBe(true);
    expect(sanAllowed(['10.0.0.1'], ['10.0.0.2', 'x'])).toBe(false);
  });

  test.each<[string, string, boolean, Record<string, string>, string | undefined]>([
    ['RequireAnyClientCert: none given', 'RequireAnyClientCert', false, {}, 'no client certificate'],
    ['RequireAnyClientCert: any certificate', 'RequireAnyClientCert', false, { subjectaltname: 'DNS:x' }, undefined],
    ['VerifyClientCertIfGiven: none given', 'VerifyClientCertIfGiven', false, {}, undefined],
    ['VerifyClientCertIfGiven: one the CA did not sign', 'VerifyClientCertIfGiven', false, { subjectaltname: 'DNS:x' }, 'client certificate not verified by client_ca'],
    ['RequestClientCert: an unverified one is fine', 'RequestClientCert', false, { subjectaltname: 'DNS:x' }, undefined],
  ])('%s', (_name, clientAuth, authorized, cert, expected) => {
    const tls = { clientAuth, allowedSans: undefined } as unknown as Parameters<typeof clientCertificateProblem>[0];
    expect(clientCertificateProblem(tls, { authorized, getPeerCertificate: () => cert as never })).toBe(expected);
  });
});

describe('a server with --web.config.file', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(text: string, name: string): Promise<{ port: number; source: WebConfigSource; registry: Registry; file: string }> {
    const file = join(dir, name);
    writeFileSync(file, text);
    const registry = new Registry();
    const metrics = createMetrics(registry, 'test');
    const source = await WebConfigSource.open(file, { logger, metrics, pollMs: 50 });
    const built = await authApp([], { webConfig: source });
    server = await listen(built.app, '127.0.0.1', 0, {
      headerTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      connections: built.connections,
      logger,
      metrics,
      webConfig: source,
    });
    const close = server.close.bind(server);
    server = { ...server, close: async () => { source.close(); await close(); } };
    return { port: server.port, source, registry, file };
  }

  /** GET /-/healthy over HTTPS with an optional client pair; the status, or the connection error. */
  function get(port: number, client?: { cert: string; key: string }): Promise<number | string> {
    return new Promise((resolve) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/-/healthy',
          agent: false,
          ca: execFileSync('cat', [pki.ca]),
          ...(client === undefined ? {} : { cert: execFileSync('cat', [client.cert]), key: execFileSync('cat', [client.key]) }),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end();
    });
  }

  const tlsFile = (extra: string): string => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`;

  test('RequireAndVerifyClientCert: no certificate and a foreign one are refused, the CA\'s is served', async () => {
    const { port } = await serve(tlsFile('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: web-ca.crt\n'), 'mtls.yml');
    expect(await get(port)).not.toBe(200);
    expect(await get(port, pki.rogue)).not.toBe(200);
    expect(await get(port, pki.clients['allowed.client'])).toBe(200);
  });

  test('client_allowed_sans: only a certificate with an allowed SAN is served, and a refusal is counted', async () => {
    const { port, registry } = await serve(
      tlsFile('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: web-ca.crt\n  client_allowed_sans: [allowed.client]\n'),
      'sans.yml',
    );
    expect(await get(port, pki.clients['other.client'])).not.toBe(200);
    expect(await get(port, pki.clients['allowed.client'])).toBe(200);
    expect(await counter(registry, 'lethe_auth_failures_total', { reason: 'client_certificate' })).toBe(1);
  });

  test('a changed file applies to new connections: client certificates stop being required', async () => {
    const { port, file, registry } = await serve(tlsFile('  client_auth_type: RequireAnyClientCert\n'), 'reload.yml');
    expect(await get(port)).not.toBe(200);
    writeFileSync(file, tlsFile(''));
    await eventually(async () => (await get(port)) === 200, { timeout: 10_000, interval: 100 });
    expect(await counter(registry, 'lethe_file_reloads_total', { file: 'web_config', result: 'success' })).toBeGreaterThanOrEqual(1);
    // A file that does not load keeps the configuration in force.
    writeFileSync(file, tlsFile('  client_auth_type: Never\n'));
    await eventually(async () => (await counter(registry, 'lethe_file_reloads_total', { file: 'web_config', result: 'error' })) >= 1, { timeout: 10_000, interval: 100 });
    expect(await get(port)).toBe(200);
  });
});

describe('headers, rate limit and basic auth users on every request', () => {
  const hash = bcryptHash('s3cret-password', '2y');

  async function app(text: string, clock = new FakeClock()) {
    const config = parseWebConfigText(text);
    const registry = new Registry();
    const source = WebConfigSource.of({ tls: undefined, headers: config.headers, users: config.users, rateLimit: config.rateLimit, files: [] }, { logger, metrics: createMetrics(registry, 'x') });
    return authApp([], { webConfig: source, clock });
  }

  test('a bcrypt user gets in; a wrong password, an unknown user and no credentials get 401 with a Basic challenge', async () => {
    const { app: a, registry } = await app(`basic_auth_users:\n  alice: '${hash}'\n`);
    await request(a).put('/metrics/job/j').set('Authorization', basic('alice', 's3cret-password')).send('m 1\n').expect(200);
    const wrong = await request(a).get('/metrics').set('Authorization', basic('alice', 'wrong')).expect(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic');
    await request(a).get('/metrics').set('Authorization', basic('mallory', 's3cret-password')).expect(401);
    await request(a).get('/api/v1/metrics').expect(401);
    await request(a).get('/metrics').set('Authorization', 'Bearer some-token').expect(401);
    expect(await counter(registry, 'lethe_auth_failures_total', { reason: 'bad_credentials' })).toBe(3);
    expect(await counter(registry, 'lethe_auth_failures_total', { reason: 'missing_credentials' })).toBe(1);
    // Probes need no password.
    await request(a).get('/-/healthy').expect(200);
    await request(a).get('/-/ready').expect(200);
  });

  test('configured headers are on every answer, errors and probes included', async () => {
    const { app: a } = await app('http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Content-Security-Policy: "default-src \'none\'"\n');
    for (const path of ['/-/healthy', '/metrics', '/nope']) {
      const res = await request(a).get(path);
      expect([res.headers['x-frame-options'], res.headers['content-security-policy']]).toEqual(['deny', "default-src 'none'"]);
    }
  });

  test('the rate limit answers 429 beyond the burst and lets one more through per interval', async () => {
    const clock = new FakeClock();
    const { app: a, registry } = await app('rate_limit:\n  interval: 1s\n  burst: 2\n', clock);
    await request(a).get('/metrics').expect(200);
    await request(a).get('/metrics').expect(200);
    await request(a).get('/metrics').expect(429, /rate_limit/);
    await request(a).get('/-/ready').expect(200);
    clock.advance(1000);
    await request(a).get('/metrics').expect(200);
    await request(a).get('/metrics').expect(429);
    expect(await counter(registry, 'lethe_limit_rejections_total', { limit: 'rate_limit' })).toBe(2);
  });
});

describe('start-up', () => {
  test('basic_auth_users and --auth.mode other than none are refused together', async () => {
    const file = join(dir, 'users.yml');
    writeFileSync(file, "basic_auth_users:\n  alice: '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi'\n");
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ tokens: [{ name: 'x', token: 'a-token-of-16-characters' }] }));
    const result = loadConfig([`--web.config.file=${file}`, '--auth.mode=static', `--auth.static-file=${join(dir, 'auth.json')}`, '--web.listen-address=127.0.0.1:0'], {});
    if (result.kind !== 'config') throw new Error('no config');
    const err = await startLethe(result.config, { logger, version: 'test' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/basic_auth_users cannot be combined with --auth.mode=static/);
  });

  test('--web.config.file and --web.tls.cert-file are refused together', () => {
    expect(() => loadConfig(['--web.config.file=/x.yml', '--web.tls.cert-file=/c', '--web.tls.key-file=/k'], {})).toThrow(/configure TLS in one place/);
  });

  test('a file that does not load stops start-up, naming the flag', async () => {
    const file = join(dir, 'broken.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n');
    const result = loadConfig([`--web.config.file=${file}`, '--web.listen-address=127.0.0.1:0'], {});
    if (result.kind !== 'config') throw new Error('no config');
    const err = await startLethe(result.config, { logger, version: 'test' }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/--web\.config\.file=.*cert_file: cannot read/);
  });
});
