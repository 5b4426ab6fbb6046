import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { helpText, loadConfig, type Config } from './config/index.js';
import { ConfigError, messageOf } from './errors.js';
import { parseText } from './exposition/index.js';
import { createApp, listen, type Attributor } from './gateway/index.js';
import { systemClock, unattributed, type MetricType } from './model/index.js';
import { F, createLogger, createMetrics, errorFields, type Logger } from './observability/index.js';
import { LocalGroupStore } from './store/index.js';

/** The composition root: the only place that reads argv/env, handles signals or exits. */

function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Fall through: a missing package.json only loses the version label.
  }
  return 'unknown';
}

const standaloneAttributor: Attributor = { attribute: () => Promise.resolve(unattributed) };

async function start(config: Config, logger: Logger, version: string): Promise<void> {
  const log = logger.child({ [F.component]: 'main' });
  const registry = new Registry();
  const metrics = createMetrics(registry, version);
  const ownTypes = new Map<string, MetricType>();
  for (const metric of registry.getMetricsAsArray()) {
    const type = String(metric.type);
    if (type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary') ownTypes.set(metric.name, type);
  }

  const storeLog = logger.child({ [F.component]: 'store' });
  const store = await LocalGroupStore.open({
    clock: systemClock,
    ownType: (name) => ownTypes.get(name),
    consistencyCheck: config.push.consistencyCheck,
    maxGroups: config.limits.groups,
    persistenceFile: config.persistence.file,
    events: {
      onExcluded: (key, reason) => {
        metrics.excludedGroups.set(store.excludedCount);
        storeLog.warn('Excluded metric group from scrapes', { [F.groupingKey]: key.id, [F.reason]: reason });
      },
      onFlush: (records, seconds) => {
        metrics.persistenceWrites.inc();
        metrics.persistenceFlushDuration.observe(seconds);
        void records;
      },
      onPersistenceError: (err) => {
        metrics.persistenceErrors.inc();
        storeLog.error('Failed to write persistence file', { [F.err]: errorFields(err) });
      },
    },
  });
  log.info('Opened store', { groups: store.groupCount, series: store.seriesCount, file: config.persistence.file || undefined });

  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('Shutting down', { signal });
    await server.close().catch((err: unknown) => log.warn('Failed to close HTTP server', { [F.err]: errorFields(err) }));
    await store.close();
    log.info('Stopped');
    process.exit(0);
  };

  const app = createApp({
    store,
    config,
    logger,
    metrics,
    clock: systemClock,
    attributor: standaloneAttributor,
    build: { version, revision: 'unknown', startTime: new Date() },
    ownFamilies: async () => {
      metrics.excludedGroups.set(store.excludedCount);
      return parseText(Buffer.from(await registry.metrics()));
    },
    onQuit: () => void shutdown('/-/quit'),
  });
  const server = await listen(app, config.web.listenHost, config.web.listenPort);
  log.info('Listening', { address: `${config.web.listenHost}:${server.port}`, mode: 'standalone' });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function main(): void {
  const version = readVersion();
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
    logger.error(what, { [F.component]: 'main', [F.err]: errorFields(err) });
    process.exitCode = 1;
    setImmediate(() => process.exit(1));
  };
  process.on('unhandledRejection', fatal('Unhandled rejection'));
  process.on('uncaughtException', fatal('Uncaught exception'));
  start(config, logger, version).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`lethe: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    fatal('Failed to start')(err);
  });
}

main();
