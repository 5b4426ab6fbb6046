import type { Express } from 'express';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createApp, type GatewayDeps } from '../../src/gateway/index.js';
import { unattributed, type Clock } from '../../src/model/index.js';
import { createMetrics, type Logger, type Metrics } from '../../src/observability/index.js';
import type { GroupStore, LocalGroupStore, LocalStoreOptions } from '../../src/store/index.js';
import { ownFamilies } from '../../src/wiring/own-metrics.js';
import { FakeClock } from './builders.js';
import { quietLogger } from './logger.js';
import { openLocalStore } from './stores.js';

/**
 * The gateway's app as tests drive it (supertest, or listen() on a loopback port): flags parsed
 * as main.ts parses them, an in-memory file store, a FakeClock, Lethe's own metrics gathered the
 * way the running process gathers them, an attributor that attributes nothing. Any dependency can
 * be replaced.
 */

export interface TestAppParts {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly store: LocalGroupStore;
}

export interface TestAppOptions {
  /** Command-line flags. */
  readonly argv?: readonly string[];
  /** Default: a FakeClock (keep your own to move it). */
  readonly clock?: Clock;
  /** Default: a quiet logger (see logger.ts for one that keeps its lines). */
  readonly logger?: Logger;
  /** Changes to the store's options (by default they follow the flags). */
  readonly storeOptions?: Partial<LocalStoreOptions>;
  /** The store the app sees, made from the real one (a fake of our own port, e.g. a failing one). */
  readonly wrapStore?: (store: LocalGroupStore) => GroupStore;
  /** Any other dependency of the app, or a function of the parts already built. */
  readonly deps?: Partial<GatewayDeps> | ((parts: TestAppParts) => Partial<GatewayDeps>);
}

export interface TestApp extends TestAppParts {
  readonly app: Express;
  /** One entry per /-/quit answered. */
  readonly quits: number[];
}

export function configOf(argv: readonly string[] = []): Config {
  const result = loadConfig(argv, {});
  if (result.kind !== 'config') throw new Error('unexpected help/version');
  return result.config;
}

export async function buildApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = configOf(options.argv);
  const clock = options.clock ?? new FakeClock();
  const logger = options.logger ?? quietLogger();
  const registry = new Registry();
  const metrics = createMetrics(registry, 'test');
  const store = await openLocalStore({
    clock,
    consistencyCheck: config.push.consistencyCheck,
    maxGroups: config.limits.groups,
    ...options.storeOptions,
  });
  metrics.observeStore(store);
  const parts: TestAppParts = { config, clock, logger, metrics, registry, store };
  const quits: number[] = [];
  const extra = typeof options.deps === 'function' ? options.deps(parts) : (options.deps ?? {});
  const app = createApp({
    store: options.wrapStore?.(store) ?? store,
    config,
    logger,
    metrics,
    clock,
    attributor: { attribute: () => Promise.resolve(unattributed) },
    build: { version: 'test', revision: 'r', startTime: new Date(0) },
    ownFamilies: () => ownFamilies(registry),
    onQuit: () => quits.push(1),
    ...extra,
  });
  return { ...parts, app, quits };
}
