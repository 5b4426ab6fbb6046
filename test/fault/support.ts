/**
 * The fault tier's tools: a real small filesystem (tmpfs, as root), Lethe as a real process
 * (optionally under libfiu's fiu-run, whose failure points fiu-ctrl switches at run time), HTTP
 * helpers, a seeded random source, and the bookkeeping of every push's outcome.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';
import { TestProcess } from '../harness/processes.js';

const run = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The tier mounts filesystems: without root it fails here, saying so (CI runs as root). */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('the fault tier needs root: it mounts a tmpfs to fill a real disk (run make test-fault as root; CI does)');
  }
}

/** A tmpfs of `size` (e.g. 3m) mounted on a fresh directory. */
export async function mountTmpfs(size: string): Promise<string> {
  const dir = await mkdtemp(join(process.env['TMPDIR'] ?? '/tmp', 'lethe-fault-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  return dir;
}

/** Grows (or shrinks) a mounted tmpfs in place; its files stay. */
export async function resizeTmpfs(dir: string, size: string): Promise<void> {
  await run('mount', ['-o', `remount,size=${size}`, dir]);
}

/** Takes every byte still free on the filesystem of `dir` (a file named filler-<n>), as another writer would. */
export async function fillUp(dir: string): Promise<void> {
  const { bavail, bsize } = await statfs(dir);
  const file = join(dir, `filler-${Date.now()}`);
  await writeFile(file, Buffer.alloc(bavail * bsize)).catch(() => undefined);
  // Whatever is left (metadata rounding) goes page by page until the disk says no.
  for (;;) {
    try {
      await appendFile(file, Buffer.alloc(4096));
    } catch {
      return;
    }
  }
}

export async function unmount(dir: string): Promise<void> {
  await run('umount', ['-l', dir]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

/** mulberry32: a small seeded random source, so FAULT_SEED replays a run's schedule. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A batch job's group in the text format: a counter and a gauge (with help) of `perFamily` series
 * each, valued from `value` up; `ownLabel` gives every series the label g="<g>" too, so that groups
 * share no label values.
 */
export function groupBody(g: number, { perFamily = 5, value = g, ownLabel = false }: { perFamily?: number; value?: number; ownLabel?: boolean } = {}): string {
  const own = ownLabel ? `,g="${g}"` : '';
  let text = '';
  for (const [name, type] of [['jobs_done_total', 'counter'], ['job_seconds', 'gauge']] as const) {
    text += `# HELP ${name} What the job did (${type}).\n# TYPE ${name} ${type}\n`;
    for (let i = 0; i < perFamily; i++) text += `${name}{path="/api/v1/items/${i}",code="${i % 3 === 0 ? 500 : 200}"${own}} ${value + i}\n`;
  }
  return text;
}

export interface LetheOptions {
  readonly file: string;
  readonly flags?: readonly string[];
  /** node's own flags (before the script), e.g. a heap limit. */
  readonly nodeFlags?: readonly string[];
  /** Run under fiu-run with remote control on FIFOs named after this base (fiu-ctrl -f). */
  readonly fiuControl?: string;
  readonly name?: string;
}

export interface Lethe {
  readonly port: number;
  readonly url: string;
  readonly proc: TestProcess;
  readonly pid: number;
  readonly logFile: string;
  /** The JSON log lines written so far. */
  logLines(): Record<string, unknown>[];
}

let started = 0;

/** Starts dist/main.js (or LETHE_FAULT_MAIN, e.g. an older build to compare) and waits until it answers /-/healthy (not /-/ready: a full disk is not ready). */
export async function startLethe(options: LetheOptions): Promise<Lethe> {
  const port = await freePort();
  const logDir = join(repoRoot, 'test-artifacts', 'fault');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.name ?? 'lethe'}-${process.pid}-${++started}.log`);
  const main = process.env['LETHE_FAULT_MAIN'];
  const args = [
    ...(options.nodeFlags ?? []),
    main !== undefined && main !== '' ? main : join(repoRoot, 'dist', 'main.js'),
    `--web.listen-address=127.0.0.1:${port}`,
    `--persistence.file=${options.file}`,
    '--log.level=info',
    ...(options.flags ?? []),
  ];
  const proc =
    options.fiuControl === undefined
      ? new TestProcess({ name: 'lethe', command: process.execPath, args, cwd: repoRoot, logFile })
      : new TestProcess({ name: 'lethe', command: 'fiu-run', args: ['-x', '-f', options.fiuControl, process.execPath, ...args], cwd: repoRoot, logFile });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (!proc.running) throw new Error(`Lethe exited with ${String(await proc.wait())} (log: ${logFile})`);
      const res = await fetch(`${url}/-/healthy`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`/-/healthy answered ${res.status}`);
    },
    { timeout: 60_000, interval: 100 },
  );
  const pid = proc.child.pid ?? 0;
  return {
    port,
    url,
    proc,
    pid,
    logFile,
    logLines: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Runs libfiu remote-control commands in a process started under fiu-run. */
export async function fiuCtrl(lethe: Lethe, control: string, ...commands: string[]): Promise<void> {
  await run('fiu-ctrl', ['-f', control, ...commands.flatMap((c) => ['-c', c]), String(lethe.pid)]);
}

export type Outcome = 'acknowledged' | 'refused' | 'unknown';

/** One PUT of `v <value>` to group instance=<key>; 200 acknowledged, 503 refused, else unknown. */
export async function push(lethe: Lethe, key: string, value: number, padding = 0): Promise<{ outcome: Outcome; status: number; body: string }> {
  const lines = [`v ${value}`];
  for (let i = 0; i < padding; i++) lines.push(`pad{s="${i}"} ${value}`);
  try {
    const res = await fetch(`${lethe.url}/metrics/job/fault/instance/${key}`, {
      method: 'PUT',
      body: `${lines.join('\n')}\n`,
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.text();
    const outcome: Outcome = res.status === 200 ? 'acknowledged' : res.status === 503 ? 'refused' : 'unknown';
    return { outcome, status: res.status, body };
  } catch (err) {
    return { outcome: 'unknown', status: 0, body: String(err) };
  }
}

/** The value of `v` per group (instance) that /metrics serves now; undefined when it cannot be read. */
export async function scrape(lethe: Lethe): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(`${lethe.url}/metrics`, { signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) return undefined;
    const served = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      const match = /^v\{instance="([^"]*)",job="fault"\} (\S+)$/.exec(line);
      if (match?.[1] !== undefined) served.set(match[1], Number(match[2]));
    }
    return served;
  } catch {
    return undefined;
  }
}

/** Lethe's own sample lines of one metric name (e.g. lethe_persistence_errors_total). */
export async function ownSamples(lethe: Lethe, name: string): Promise<Map<string, number>> {
  const res = await fetch(`${lethe.url}/metrics`, { signal: AbortSignal.timeout(30_000) });
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      const space = line.lastIndexOf(' ');
      samples.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
  }
  return samples;
}

export async function status(lethe: Lethe, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${lethe.url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

/**
 * Every push of a run, in order per group (each group is pushed by one worker at a time), and
 * the values scrapes served. The checks of the fault tier are functions of this record.
 */
export class Ledger {
  /** Per group: its pushes in order. */
  readonly pushes = new Map<string, { value: number; outcome: Outcome }[]>();
  /** Per group: every value a scrape served. */
  readonly served = new Map<string, Set<number>>();

  record(key: string, value: number, outcome: Outcome): void {
    const list = this.pushes.get(key) ?? [];
    list.push({ value, outcome });
    this.pushes.set(key, list);
  }

  sawScrape(served: ReadonlyMap<string, number>): void {
    for (const [key, value] of served) {
      const seen = this.served.get(key) ?? new Set<number>();
      seen.add(value);
      this.served.set(key, seen);
    }
  }

  count(outcome: Outcome): number {
    let n = 0;
    for (const list of this.pushes.values()) for (const p of list) if (p.outcome === outcome) n++;
    return n;
  }

  /** Refused pushes whose value a scrape served: must be none. */
  servedWhileRefused(): string[] {
    const bad: string[] = [];
    for (const [key, list] of this.pushes) {
      for (const p of list) if (p.outcome === 'refused' && this.served.get(key)?.has(p.value) === true) bad.push(`${key}=${p.value}`);
    }
    return bad;
  }

  /**
   * Compares what a restart restored with the pushes: per group, the value must be the last
   * acknowledged one, or one pushed after it whose answer never came (a push in flight at the
   * kill). Returns the violations: acknowledged pushes lost, refused pushes restored.
   */
  checkRestored(restored: ReadonlyMap<string, number>): { lost: string[]; refusedRestored: string[]; restoredAcknowledged: number } {
    const lost: string[] = [];
    const refusedRestored: string[] = [];
    let restoredAcknowledged = 0;
    for (const [key, list] of this.pushes) {
      const value = restored.get(key);
      let lastAck = -1;
      list.forEach((p, i) => {
        if (p.outcome === 'acknowledged') lastAck = i;
      });
      const allowed = new Set(list.slice(Math.max(lastAck, 0)).filter((p, i) => (i === 0 && lastAck >= 0) || p.outcome === 'unknown').map((p) => p.value));
      if (list.some((p) => p.outcome === 'refused' && p.value === value)) refusedRestored.push(`${key}=${String(value)}`);
      if (lastAck >= 0) {
        if (value !== undefined && allowed.has(value)) restoredAcknowledged++;
        else lost.push(`${key}: acknowledged ${list[lastAck]?.value ?? '?'}, restored ${String(value)}`);
      } else if (value !== undefined && !allowed.has(value)) {
        lost.push(`${key}: nothing acknowledged, restored ${value}`);
      }
    }
    return { lost, refusedRestored, restoredAcknowledged };
  }
}
