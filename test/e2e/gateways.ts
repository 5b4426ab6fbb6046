/**
 * Starts and stops the gateways the e2e tests compare: Lethe (dist/main.js), the newest upstream
 * Pushgateway (the reference) and an older upstream release (1.5.1, the second reference used
 * to validate the tests themselves while Lethe is not there yet). Also a raw HTTP client that
 * sends a request target exactly as written (fetch and URL would normalise `//`, `/./`, `%zz`).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { freePort } from '../harness/ports.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';

export type GatewayKind = 'lethe' | 'pushgateway' | 'pushgateway-1.5';

export interface GatewayFlags {
  readonly adminApi?: boolean;
  readonly lifecycle?: boolean;
  readonly disableConsistencyCheck?: boolean;
  readonly persistenceFile?: string;
  /** More flags, for Lethe only. */
  readonly lethe?: readonly string[];
  /** --push.enable-utf8-names (upstream 1.11 and Lethe). */
  readonly utf8Names?: boolean;
  /** More flags, as given. */
  readonly extraArgs?: readonly string[];
}

export interface Gateway {
  readonly kind: GatewayKind;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly process: TestProcess;
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Lethe's entry point: the build in dist/ unless LETHE_E2E_MAIN names another. */
export function letheMain(): string {
  const fromEnv = process.env['LETHE_E2E_MAIN'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(repoRoot, 'dist', 'main.js');
}

function toolVersion(name: string): string {
  const env = readFileSync(join(repoRoot, 'tools', 'versions.env'), 'utf8');
  const match = new RegExp(`^${name}=(.+)$`, 'm').exec(env);
  if (match?.[1] === undefined) throw new Error(`${name} missing from tools/versions.env`);
  return match[1].trim();
}

/** The newest upstream Pushgateway, as the Makefile builds it into the tool cache. */
export function pushgatewayBinary(): string {
  const fromEnv = process.env['LETHE_PUSHGATEWAY_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const cache = process.env['LETHE_CACHE'] ?? join(homedir(), '.cache', 'lethe');
  return join(cache, 'pushgateway', toolVersion('PUSHGATEWAY_VERSION'), 'pushgateway');
}

/** The older upstream release (Debian's package); found on PATH unless the environment says. */
function olderPushgatewayBinary(): string {
  const fromEnv = process.env['LETHE_PUSHGATEWAY_1_5_BIN'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'prometheus-pushgateway';
}

/**
 * What the differential and client tests check. `lethe` (the default) once dist/main.js exists;
 * `pushgateway-1.5` replays the corpus against the older upstream release instead, to check the
 * corpus and its expectations while Lethe is being written.
 */
export function subjectKind(): GatewayKind {
  const value = process.env['LETHE_E2E_SUBJECT'] ?? 'lethe';
  if (value === 'lethe' || value === 'pushgateway' || value === 'pushgateway-1.5') return value;
  throw new Error(`LETHE_E2E_SUBJECT must be lethe, pushgateway or pushgateway-1.5, not ${value}`);
}

function flagArgs(flags: GatewayFlags): string[] {
  return [
    `--persistence.file=${flags.persistenceFile ?? ''}`,
    ...(flags.adminApi === true ? ['--web.enable-admin-api'] : []),
    ...(flags.lifecycle === true ? ['--web.enable-lifecycle'] : []),
    ...(flags.disableConsistencyCheck === true ? ['--push.disable-consistency-check'] : []),
    ...(flags.utf8Names === true ? ['--push.enable-utf8-names'] : []),
    ...(flags.extraArgs ?? []),
  ];
}

export async function startGateway(kind: GatewayKind, flags: GatewayFlags = {}): Promise<Gateway> {
  const port = await freePort();
  const listen = `--web.listen-address=127.0.0.1:${port}`;
  const args = [listen, ...flagArgs(flags), ...(kind === 'lethe' ? (flags.lethe ?? []) : [])];
  const logDir = join(repoRoot, 'test-artifacts', 'e2e');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${kind}-${port}.log`);
  let proc: TestProcess;
  switch (kind) {
    case 'lethe':
      proc = new TestProcess({
        name: kind,
        command: process.execPath,
        args: [letheMain(), ...args],
        cwd: repoRoot,
        logFile,
      });
      break;
    case 'pushgateway':
      proc = new TestProcess({ name: kind, command: pushgatewayBinary(), args, logFile });
      break;
    case 'pushgateway-1.5':
      proc = new TestProcess({ name: kind, command: olderPushgatewayBinary(), args, logFile });
      break;
    default: {
      const never: never = kind;
      throw new Error(`unknown gateway ${String(never)}`);
    }
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(proc, `${url}/-/ready`);
  } catch (err) {
    await proc.stop();
    throw new Error(`${kind} did not become ready (log: ${logFile})`, { cause: err });
  }
  return { kind, port, url, process: proc, stop: () => proc.stop() };
}

export interface RawRequest {
  readonly method: string;
  /** The request target, sent byte for byte. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Send the body with chunked transfer encoding instead of a Content-Length. */
  readonly chunked?: boolean;
  readonly timeoutMs?: number;
}

export interface RawResponse {
  /** HTTP status, or 0 when the connection failed or no answer came in time (see `error`). */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as received (still gzipped if the server gzipped it). */
  readonly body: Buffer;
  readonly error?: string;
}

/** One request on a fresh connection, target and headers exactly as given. */
export function rawRequest(gateway: Pick<Gateway, 'port'>, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined && req.chunked !== true) headers['Content-Length'] = String(req.body.length);
    const r = request(
      { host: '127.0.0.1', port: gateway.port, method: req.method, path: req.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
          }
          resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: err.message }));
      },
    );
    r.setTimeout(req.timeoutMs ?? 5_000, () => r.destroy(new Error('no answer in time')));
    r.on('error', (err) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: err.message }));
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/** The response body as text, un-gzipped when the server gzipped it. */
export function bodyText(res: RawResponse): string {
  const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body;
  return body.toString('utf8');
}

export async function getJson(gateway: Pick<Gateway, 'port'>, path: string): Promise<unknown> {
  const res = await rawRequest(gateway, { method: 'GET', path });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${bodyText(res)}`);
  return JSON.parse(bodyText(res)) as unknown;
}
