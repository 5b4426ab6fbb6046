/**
 * The gateways under test: Lethe (dist/main.js), Debian's Pushgateway and the newest upstream
 * release built by the Makefile. Each is started on a loopback port, timed from spawn to the
 * first 200 on /-/ready, measured through /proc, and stopped with SIGTERM (which makes the
 * Pushgateway write its persistence file).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/harness/ports.js';

export type GatewayKind = 'lethe' | 'pushgateway-1.5' | 'pushgateway';

/** The clone: the nearest directory above this file that holds tools/versions.env. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tools', 'versions.env'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (tools/versions.env) above the bench runner');
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRepoRoot();

export interface GatewaySpec {
  readonly kind: GatewayKind;
  /** Column title, e.g. "Pushgateway 1.5.1 (Debian)". */
  readonly title: string;
  readonly version: string;
  readonly command: string;
  readonly baseArgs: readonly string[];
  /** Why the gateway cannot be run here, when it cannot. */
  readonly missing?: string;
}

export interface StartFlags {
  readonly persistenceFile?: string;
  /** The Pushgateway's --push.disable-consistency-check (used only to fill it quickly). */
  readonly disableConsistencyCheck?: boolean;
}

function toolVersion(name: string): string {
  const env = readFileSync(join(repoRoot, 'tools', 'versions.env'), 'utf8');
  const match = new RegExp(`^${name}=(.+)$`, 'm').exec(env);
  if (match?.[1] === undefined) throw new Error(`${name} missing from tools/versions.env`);
  return match[1].trim();
}

function onPath(command: string): string | undefined {
  if (command.includes('/')) return existsSync(command) ? command : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    if (dir !== '' && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** `--version` output's first "version x.y.z" (1.5.1 prints it to stderr, later ones to stdout). */
function reportedVersion(binary: string): string | undefined {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const match = /version\s+(\d+\.\d+\.\d+)/.exec(`${out.stdout}${out.stderr}`);
  return match?.[1];
}

export function gatewaySpecs(): GatewaySpec[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string };
  const lethe: GatewaySpec = {
    kind: 'lethe',
    title: 'Lethe',
    version: pkg.version ?? 'unknown',
    command: process.execPath,
    baseArgs: [join(repoRoot, 'dist', 'main.js')],
    ...(existsSync(join(repoRoot, 'dist', 'main.js')) ? {} : { missing: 'dist/main.js is not built (make build)' }),
  };

  const debianName = process.env['LETHE_PUSHGATEWAY_1_5_BIN'] || 'prometheus-pushgateway';
  const debian = onPath(debianName);
  const debianVersion = debian === undefined ? undefined : reportedVersion(debian);
  const older: GatewaySpec = {
    kind: 'pushgateway-1.5',
    title: `Pushgateway ${debianVersion ?? '?'} (Debian)`,
    version: debianVersion ?? 'unknown',
    command: debian ?? debianName,
    baseArgs: [],
    ...(debian === undefined ? { missing: `${debianName} is not installed` } : {}),
  };

  const pinned = toolVersion('PUSHGATEWAY_VERSION');
  const cache = process.env['LETHE_CACHE'] || join(homedir(), '.cache', 'lethe');
  const upstreamBin = process.env['LETHE_PUSHGATEWAY_BIN'] || join(cache, 'pushgateway', pinned, 'pushgateway');
  const upstream: GatewaySpec = {
    kind: 'pushgateway',
    title: `Pushgateway ${pinned} (upstream)`,
    // Built from the Go module without release ldflags, so --version is empty: the pin is the truth.
    version: pinned,
    command: upstreamBin,
    baseArgs: [],
    ...(existsSync(upstreamBin) ? {} : { missing: `the upstream ${pinned} build is missing (make bench builds it when Go is available)` }),
  };
  return [lethe, older, upstream];
}

/** Resident memory of a process in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}

/** User plus system CPU seconds a process has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

function readyStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/-/ready', agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export class RunningGateway {
  readonly child: ChildProcess;
  readonly exited: Promise<string>;
  private exitDescription: string | undefined;

  private constructor(
    readonly spec: GatewaySpec,
    readonly port: number,
    args: readonly string[],
    logFile: string,
  ) {
    this.child = spawn(spec.command, [...spec.baseArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
    const log = createWriteStream(logFile, { flags: 'a' });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitDescription = signal === null ? `exited with status ${code ?? '?'}` : `was killed by ${signal}`;
        resolve(this.exitDescription);
      });
      this.child.on('error', (err) => {
        this.exitDescription = `could not start: ${err.message}`;
        resolve(this.exitDescription);
      });
    });
  }

  /** Starts the gateway and waits for /-/ready; resolves with it and the ms from spawn to ready. */
  static async start(spec: GatewaySpec, flags: StartFlags, logFile: string, timeoutMs: number): Promise<{ gateway: RunningGateway; readyMs: number }> {
    const port = await freePort();
    const args = [`--web.listen-address=127.0.0.1:${port}`, `--persistence.file=${flags.persistenceFile ?? ''}`];
    if (flags.disableConsistencyCheck === true) args.push('--push.disable-consistency-check');
    const started = performance.now();
    const gateway = new RunningGateway(spec, port, args, logFile);
    for (;;) {
      if (gateway.exitDescription !== undefined) throw new Error(`${spec.title} ${gateway.exitDescription} before it was ready (log: ${logFile})`);
      if ((await readyStatus(port)) === 200) return { gateway, readyMs: performance.now() - started };
      if (performance.now() - started > timeoutMs) {
        await gateway.stop();
        throw new Error(`${spec.title} was not ready within ${Math.round(timeoutMs / 1000)} s`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Why the process ended, or undefined while it runs. */
  get exit(): string | undefined {
    return this.exitDescription;
  }

  /** SIGTERM and wait (the Pushgateway persists on the way out); SIGKILL after `graceMs`. */
  async stop(graceMs = 120_000): Promise<string> {
    if (this.exitDescription !== undefined) return this.exitDescription;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const how = await this.exited;
    clearTimeout(timer);
    return how;
  }
}
