import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { eventually } from './eventually.js';

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** File that receives the process's stdout and stderr. */
  readonly logFile?: string;
}

/** A child process started by a test, stopped for sure by stop() (and on harness exit). */
export class TestProcess {
  readonly name: string;
  readonly child: ChildProcess;
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(options: StartOptions) {
    this.name = options.name;
    this.child = spawn(options.command, [...options.args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    if (options.logFile !== undefined) {
      const log = createWriteStream(options.logFile, { flags: 'a' });
      this.child.stdout?.pipe(log);
      this.child.stderr?.pipe(log);
    } else {
      this.child.stdout?.resume();
      this.child.stderr?.resume();
    }
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve(this.exitCode);
      });
      this.child.on('error', () => {
        this.exitCode = -1;
        resolve(-1);
      });
    });
    liveProcesses.add(this);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves with the exit code (null when killed by a signal). */
  wait(): Promise<number | null> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    liveProcesses.delete(this);
  }

  /** SIGKILL, no grace: for crash tests. */
  async kill(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    liveProcesses.delete(this);
  }
}

const liveProcesses = new Set<TestProcess>();
process.on('exit', () => {
  for (const p of liveProcesses) p.child.kill('SIGKILL');
});

/** Waits until `url` answers with a status below 400; fails early if the process exits. */
export async function waitForHttp(proc: TestProcess, url: string, timeout = 30_000): Promise<void> {
  await eventually(
    async () => {
      if (!proc.running) throw new Error(`${proc.name} exited with ${String(await proc.wait())}`);
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status >= 400) throw new Error(`${url} answered ${res.status}`);
    },
    { timeout, interval: 100 },
  );
}
