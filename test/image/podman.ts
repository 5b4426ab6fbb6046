/**
 * podman, run the way the image tests need it: with runc (crun refuses a host whose cgroup v2
 * hierarchy holds controllers beside the v1 ones) and with resource limits this process may set.
 */
import { readFileSync } from 'node:fs';
import { run, type RunResult } from '../integration/deploy-support.js';

/** The image `make image` built (the Makefile passes LETHE_IMAGE). */
export function imageName(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['LETHE_IMAGE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `localhost/lethe:${pkg.version}`;
}

export async function podman(args: readonly string[]): Promise<RunResult> {
  return run('podman', ['--runtime', 'runc', ...args]);
}

/** Like podman(), but rejects with podman's message on a non-zero exit. */
export async function podmanOk(args: readonly string[]): Promise<string> {
  const result = await podman(args);
  if (result.code !== 0) throw new Error(`podman ${args.slice(0, 2).join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/**
 * --ulimit flags for nofile and nproc. podman's own defaults (1048576) exceed what a process
 * without CAP_SYS_RESOURCE may set, and the runtime's setrlimit then fails; these are this
 * process's hard limits, nproc no higher than pid_max (conmon runs with that, at most).
 */
export function ulimitFlags(): string[] {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = (label: string): number | undefined => {
    const line = limits.split('\n').find((l) => l.startsWith(label));
    const value = line?.slice(label.length).trim().split(/\s+/)[1];
    return value === undefined || value === 'unlimited' ? undefined : Number(value);
  };
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  const nofile = hard('Max open files') ?? 1_048_576;
  const nproc = Math.min(hard('Max processes') ?? pidMax, pidMax);
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

/** The gateway of podman's default network: the host as containers on that network reach it. */
export async function defaultNetworkGateway(): Promise<string> {
  const out = await podmanOk(['network', 'inspect', 'podman', '--format', '{{range .Subnets}}{{.Gateway}} {{end}}']);
  const gateway = out.split(/\s+/).find((g) => /^\d+\.\d+\.\d+\.\d+$/.test(g));
  if (gateway === undefined) throw new Error(`podman's default network has no IPv4 gateway: ${out}`);
  return gateway;
}
