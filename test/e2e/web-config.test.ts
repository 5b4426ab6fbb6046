/**
 * --web.config.file with real clients: one web configuration file (as a Pushgateway's Secret
 * holds it) given to the newest Pushgateway and to Lethe, then curl, prom-client's Pushgateway
 * and client_golang's push (test/clients/go) push and scrape over TLS with bcrypt basic auth, and
 * over mutual TLS where only a client certificate with an allowed SAN gets in. The bcrypt hash
 * comes from Python's bcrypt, as an operator's script would make it. Where Lethe differs on
 * purpose (probes need no password) the test says so.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gauge, Pushgateway, Registry } from 'prom-client';
import { eventually } from '../harness/eventually.js';
import { runGoPushClient } from '../harness/go-push-client.js';
import { createWebPki, type WebPki } from '../harness/pki.js';
import { freePort } from '../harness/ports.js';
import { TestProcess } from '../harness/processes.js';
import { pushgatewayBinary } from './gateways.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const curl = process.env['LETHE_CURL'] ?? 'curl';
const PASSWORD = 'correct horse battery staple';

type Kind = 'pushgateway' | 'lethe';

interface Client {
  readonly cert?: string;
  readonly key?: string;
  readonly auth?: string;
}

/** One HTTPS request trusting the test CA; the status, or the connection error's code. */
function httpsGet(port: number, path: string, ca: string, client: Client = {}): Promise<{ status: number | string; headers: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        ca: readFileSync(ca),
        ...(client.cert === undefined ? {} : { cert: readFileSync(client.cert) }),
        ...(client.key === undefined ? {} : { key: readFileSync(client.key) }),
        headers: client.auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(client.auth).toString('base64')}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? err.message, headers: {} }));
    req.end();
  });
}

interface Curl {
  readonly exit: number | null;
  readonly status: string;
  readonly stderr: string;
}

function runCurl(args: readonly string[], stdin = ''): Promise<Curl> {
  return new Promise((resolve, reject) => {
    const child = spawn(curl, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ exit, status: out, stderr: err }));
    child.stdin.end(stdin);
  });
}

async function startWithWebConfig(kind: Kind, file: string, ready: Client, ca: string, logDir: string): Promise<{ port: number; proc: TestProcess }> {
  const port = await freePort();
  const args = [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', `--web.config.file=${file}`];
  const proc =
    kind === 'lethe'
      ? new TestProcess({ name: kind, command: process.execPath, args: [join(repoRoot, 'dist', 'main.js'), ...args], cwd: repoRoot, logFile: join(logDir, `lethe-${port}.log`) })
      : new TestProcess({ name: kind, command: pushgatewayBinary(), args, logFile: join(logDir, `pushgateway-${port}.log`) });
  await eventually(
    async () => {
      if (!proc.running) throw new Error(`${kind} exited`);
      const { status } = await httpsGet(port, '/-/ready', ca, ready);
      if (status !== 200) throw new Error(`not ready: ${status}`);
    },
    { timeout: 30_000, interval: 200 },
  );
  return { port, proc };
}

let dir: string;
let pki: WebPki;
let hash: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lethe-web-config-e2e-'));
  pki = await createWebPki(dir, ['allowed.client', 'other.client']);
  hash = execFileSync('/usr/bin/python3', ['-c', 'import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10)).decode())', PASSWORD], { encoding: 'utf8' }).trim();
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const logDir = join(repoRoot, 'test-artifacts', 'e2e');

describe.each<Kind>(['pushgateway', 'lethe'])('%s with TLS and bcrypt basic auth from --web.config.file', (kind) => {
  let gateway: { port: number; proc: TestProcess };
  const user = `pusher:${PASSWORD}`;
  const url = (): string => `https://127.0.0.1:${gateway.port}`;

  beforeAll(async () => {
    mkdirSync(logDir, { recursive: true });
    const file = join(dir, `basic-${kind}.yml`);
    writeFileSync(
      file,
      [
        'tls_server_config:',
        '  cert_file: server.crt',
        '  key_file: server.key',
        'http_server_config:',
        '  headers:',
        '    X-Frame-Options: deny',
        'basic_auth_users:',
        `  pusher: ${hash}`,
        '',
      ].join('\n'),
    );
    gateway = await startWithWebConfig(kind, file, { auth: user }, pki.ca, logDir);
  }, 60_000);

  afterAll(async () => {
    await gateway?.proc.stop();
  });

  test('curl pushes and scrapes with the password; without it, or with a wrong one, 401', async () => {
    const push = await runCurl(['--cacert', pki.ca, '-u', user, '--data-binary', '@-', `${url()}/metrics/job/curl`], 'curl_pushed 1\n');
    expect(push.status).toBe('200');
    expect((await runCurl(['--cacert', pki.ca, '--data-binary', '@-', `${url()}/metrics/job/curl`], 'curl_pushed 1\n')).status).toBe('401');
    expect((await runCurl(['--cacert', pki.ca, '-u', 'pusher:wrong', `${url()}/metrics`])).status).toBe('401');
    expect((await runCurl(['--cacert', pki.ca, '-u', `mallory:${PASSWORD}`, `${url()}/metrics`])).status).toBe('401');
    const scrape = await httpsGet(gateway.port, '/metrics', pki.ca, { auth: user });
    expect([scrape.status, scrape.headers['x-frame-options']]).toEqual([200, 'deny']);
  });

  test("prom-client's Pushgateway pushes over TLS with basic auth, and is refused without", async () => {
    const registry = new Registry();
    new Gauge({ name: 'web_config_node_pushed', help: 'Pushed by prom-client.', registers: [registry] }).set(3);
    const ca = readFileSync(pki.ca);
    const good = new Pushgateway(url(), { ca, headers: { Authorization: `Basic ${Buffer.from(user).toString('base64')}` } }, registry);
    const pushed = await good.pushAdd({ jobName: 'node' });
    expect((pushed.resp as { statusCode?: number }).statusCode).toBe(200);
    const bad = new Pushgateway(url(), { ca, headers: { Authorization: `Basic ${Buffer.from('pusher:nope').toString('base64')}` } }, registry);
    await expect(bad.pushAdd({ jobName: 'node' })).rejects.toThrow(/401/);
    const scrape = execFileSync(curl, ['-sS', '--cacert', pki.ca, '-u', user, `${url()}/metrics`], { encoding: 'utf8' });
    expect(scrape).toMatch(/\nweb_config_node_pushed\{instance="",job="node"\} 3\n/);
  });

  test("client_golang's push over TLS with basic auth, and refused without or with a wrong password", async () => {
    const push = (extra: readonly string[]) => runGoPushClient(['-url', url(), '-job', 'go', '-action', 'push', '-set', 'runs', '-ca', pki.ca, ...extra]);
    expect(await push(['-basic-auth', user])).toEqual({ code: 0, stderr: '' });
    const none = await push([]);
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining('unexpected status code 401')]);
    const wrong = await push(['-basic-auth', 'pusher:nope']);
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringContaining('unexpected status code 401')]);
    const scrape = execFileSync(curl, ['-sS', '--cacert', pki.ca, '-u', user, `${url()}/metrics`], { encoding: 'utf8' });
    expect(scrape).toMatch(/\ngo_batch_runs_total\{instance="",job="go"\} 1\n/);
  });

  test(kind === 'lethe' ? 'probes need no password (a difference: a kubelet probe has none)' : 'probes need the password upstream', async () => {
    const probe = await httpsGet(gateway.port, '/-/ready', pki.ca);
    expect(probe.status).toBe(kind === 'lethe' ? 200 : 401);
  });
});

describe.each<Kind>(['pushgateway', 'lethe'])('%s with mutual TLS from --web.config.file', (kind) => {
  let gateway: { port: number; proc: TestProcess };
  const url = (): string => `https://127.0.0.1:${gateway.port}`;

  beforeAll(async () => {
    const file = join(dir, `mtls-${kind}.yml`);
    writeFileSync(
      file,
      [
        'tls_server_config:',
        '  cert_file: server.crt',
        '  key_file: server.key',
        '  client_auth_type: RequireAndVerifyClientCert',
        '  client_ca_file: web-ca.crt',
        '  client_allowed_sans: [allowed.client]',
        '',
      ].join('\n'),
    );
    gateway = await startWithWebConfig(kind, file, pki.clients['allowed.client'] ?? {}, pki.ca, logDir);
  }, 60_000);

  afterAll(async () => {
    await gateway?.proc.stop();
  });


  test('curl without a certificate, with one the CA did not sign, or without an allowed SAN is refused; with an allowed SAN it is served', async () => {
    const push = (extra: readonly string[]) => runCurl(['--cacert', pki.ca, ...extra, '--data-binary', '@-', `${url()}/metrics/job/mtls`], 'mtls_pushed 1\n');
    const none = await push([]);
    expect(none.status === '200').toBe(false);
    const rogue = await push(['--cert', pki.rogue.cert, '--key', pki.rogue.key]);
    expect(rogue.status === '200').toBe(false);
    const other = pki.clients['other.client'];
    const wrongSan = await push(['--cert', other?.cert ?? '', '--key', other?.key ?? '']);
    expect(wrongSan.status === '200').toBe(false);
    const allowed = pki.clients['allowed.client'];
    const ok = await push(['--cert', allowed?.cert ?? '', '--key', allowed?.key ?? '']);
    expect([ok.status, ok.stderr]).toEqual(['200', '']);
  });

  test("client_golang's push with the allowed client certificate; without one, or with another SAN, it fails", async () => {
    const push = (extra: readonly string[]) => runGoPushClient(['-url', url(), '-job', 'go-mtls', '-action', 'push', '-set', 'runs', '-ca', pki.ca, ...extra]);
    const allowed = pki.clients['allowed.client'];
    expect(await push(['-cert', allowed?.cert ?? '', '-key', allowed?.key ?? ''])).toEqual({ code: 0, stderr: '' });
    expect((await push([])).code).toBe(1);
    const other = pki.clients['other.client'];
    expect((await push(['-cert', other?.cert ?? '', '-key', other?.key ?? ''])).code).toBe(1);
  });

  test("prom-client's Pushgateway with the allowed client certificate", async () => {
    const allowed = pki.clients['allowed.client'];
    const registry = new Registry();
    new Gauge({ name: 'mtls_node_pushed', help: 'Pushed by prom-client over mTLS.', registers: [registry] }).set(1);
    const client = new Pushgateway(url(), { ca: readFileSync(pki.ca), cert: readFileSync(allowed?.cert ?? ''), key: readFileSync(allowed?.key ?? '') }, registry);
    const pushed = await client.push({ jobName: 'node-mtls' });
    expect((pushed.resp as { statusCode?: number }).statusCode).toBe(200);
    const noCert = new Pushgateway(url(), { ca: readFileSync(pki.ca) }, registry);
    await expect(noCert.push({ jobName: 'node-mtls' })).rejects.toThrow();
  });
});
