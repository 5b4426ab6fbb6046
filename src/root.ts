import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { helpText, loadConfig, replicaOf, type Config, type Replica } from './config/index.js';
import { ConfigError, messageOf } from './errors.js';
import { F, createLogger, errorFields, type Logger } from './observability/index.js';
import { startLethe, type ClusterOptions } from './wiring/index.js';

/**
 * The composition root: the only place that reads argv/env, handles signals or exits. main.ts
 * loads it once the start-up settings that must precede everything else are made.
 */

// ---- Kubernetes mode: which cluster, if any (DESIGN.md; TESTING.md §5.8) ----
// A cluster is configured by --kubeconfig, else KUBECONFIG, else the in-cluster service account
// (KUBERNETES_SERVICE_HOST set and its token file present). With none, Lethe runs standalone
// and never loads kube/. Who this replica is comes from config/replica.ts, with the facts read here.
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const inCluster = (env: NodeJS.ProcessEnv): boolean => (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(`${SERVICE_ACCOUNT_DIR}/token`);

function clusterOf(config: Config, env: NodeJS.ProcessEnv): ClusterOptions | undefined {
  // KUBECONFIG may list several files; Lethe reads the first (no merging, no ~/.kube/config).
  const kubeconfig = config.kubeconfig !== '' ? config.kubeconfig : (env['KUBECONFIG'] ?? '').split(':')[0] ?? '';
  const pod = inCluster(env);
  if (kubeconfig === '' && !pod) return undefined;
  return { source: kubeconfig === '' ? { inCluster: pod } : { kubeconfig, inCluster: pod } };
}

function replicaFrom(config: Config, env: NodeJS.ProcessEnv): Replica {
  const serviceAccountNamespace = (): string => {
    if (!inCluster(env)) return '';
    try {
      return readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return replicaOf(config, { env, hostname, serviceAccountNamespace });
}
// ---- end of Kubernetes mode ----

async function start(config: Config, logger: Logger, version: string, writeStarted: () => void): Promise<void> {
  const log = logger.child({ [F.component]: 'main' });
  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('Shutting down', { signal });
    await lethe.stop();
    log.info('Stopped');
    process.exit(0);
  };
  const cluster = clusterOf(config, process.env);
  const lethe = await startLethe(config, {
    logger,
    version,
    ...(cluster === undefined ? {} : { cluster }),
    replica: replicaFrom(config, process.env),
    onQuit: () => void shutdown('/-/quit'),
    writeStarted,
  });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** `writeStarted`: told of each write request as it arrives (main.ts: V8's young generation). */
export function main(version: string, writeStarted: () => void = () => {}): void {
  let config: Config;
  try {
    const result = loadConfig(process.argv.slice(2), process.env);
    if (result.kind === 'help') {
      process.stdout.write(helpText());
      return;
    }
    if (result.kind === 'version') {
      process.stdout.write(`lethe ${version} (node ${process.versions.node})\n`);
      return;
    }
    config = result.config;
  } catch (err) {
    process.stderr.write(`lethe: ${messageOf(err)}\n`);
    process.exit(err instanceof ConfigError ? err.exitCode : 1);
  }
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const fatal = (what: string) => (err: unknown) => {
    if (err instanceof ConfigError) {
      // Damage in the persistence file found after start-up: stop as start-up would have.
      process.stderr.write(`lethe: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    logger.error(what, { [F.component]: 'main', [F.err]: errorFields(err) });
    process.exitCode = 1;
    setImmediate(() => process.exit(1));
  };
  process.on('unhandledRejection', fatal('Unhandled rejection'));
  process.on('uncaughtException', fatal('Uncaught exception'));
  start(config, logger, version, writeStarted).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`lethe: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    fatal('Failed to start')(err);
  });
}
