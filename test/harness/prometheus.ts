/**
 * A real Prometheus for the tests: Prometheus 3, built by the Makefile from its Go module into the
 * tool cache (LETHE_PROMETHEUS_BIN names it; tools/versions.env pins the version), or Debian's
 * Prometheus 2.42 (`prometheus` on PATH) where an older Prometheus is the case under test.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { TestProcess, waitForHttp } from './processes.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function toolVersion(name: string): string {
  const env = readFileSync(join(repoRoot, 'tools', 'versions.env'), 'utf8');
  const match = new RegExp(`^${name}=(.+)$`, 'm').exec(env);
  if (match?.[1] === undefined) throw new Error(`${name} missing from tools/versions.env`);
  return match[1].trim();
}

/** Prometheus 3 as the Makefile builds it. */
export function prometheusBinary(): string {
  const fromEnv = process.env['LETHE_PROMETHEUS_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const cache = process.env['LETHE_CACHE'] ?? join(homedir(), '.cache', 'lethe');
  return join(cache, 'prometheus', toolVersion('PROMETHEUS_VERSION'), 'prometheus');
}

export interface PrometheusOptions {
  /** Working directory: the config file, the TSDB and the log go there. */
  readonly dir: string;
  /** prometheus.yml contents (JSON is YAML). */
  readonly config: unknown;
  /** Files to write next to the config (e.g. rule files), by name. */
  readonly files?: Readonly<Record<string, string>>;
  /** Debian's Prometheus 2.42 instead of Prometheus 3. */
  readonly older?: boolean;
  readonly extraArgs?: readonly string[];
  /** Where the log goes (default: `<dir>/prometheus.log`). */
  readonly logFile?: string;
}

export interface RunningPrometheus {
  readonly url: string;
  readonly process: TestProcess;
  stop(): Promise<void>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const configFile = join(options.dir, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(options.config, null, 2));
  for (const [name, text] of Object.entries(options.files ?? {})) await writeFile(join(options.dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = new TestProcess({
    name: options.older === true ? 'prometheus-2' : 'prometheus',
    command: options.older === true ? 'prometheus' : prometheusBinary(),
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(options.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.extraArgs ?? []),
    ],
    logFile: options.logFile ?? join(options.dir, 'prometheus.log'),
  });
  try {
    await waitForHttp(proc, `${url}/-/ready`, 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, process: proc, stop: () => proc.stop() };
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly histogram?: [number, { readonly count: string; readonly sum: string; readonly buckets?: readonly unknown[] }];
}

/** An instant query; throws unless Prometheus answers success. */
export async function promQuery(url: string, query: string): Promise<PromSample[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`query ${query} failed: ${body.error ?? res.status}`);
  return body.data.result;
}
