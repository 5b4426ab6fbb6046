/** An app with authentication for the auth unit tests: a LocalGroupStore, static credentials, a fake attributor. */
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { parseText } from '../../../src/exposition/index.js';
import {
  ConnectionLimit,
  StaticAuthenticator,
  createApp,
  createWebAccess,
  staticUser,
  type Authenticator,
  type PushOrigin,
  type WebConfigSource,
} from '../../../src/gateway/index.js';
import { unattributed, type Attribution } from '../../../src/model/index.js';
import { createLogger, createMetrics, type Logger, type Metrics } from '../../../src/observability/index.js';
import { LocalGroupStore } from '../../../src/store/index.js';
import { FakeClock } from '../../harness/builders.js';

export const TOKENS = {
  teamA: 'team-a-token-0123456789',
  teamB: 'team-b-token-0123456789',
  reader: 'reader-token-0123456789',
  admin: 'admin-token-01234567890',
} as const;

/** The static file the tests use: a token per team, a reader (Prometheus), an admin, a basic-auth user. */
export const STATIC_FILE = JSON.stringify({
  tokens: [
    { name: 'ci-a', token: TOKENS.teamA, namespace: 'team-a' },
    { name: 'ci-b', token: TOKENS.teamB, namespace: 'team-b' },
    { name: 'prometheus', token: TOKENS.reader },
    { name: 'ops', token: TOKENS.admin, admin: true },
  ],
  users: [{ name: 'jenkins', password: 'jenkins-password-0123', namespace: 'team-b' }],
});

export const bearer = (token: string): string => `Bearer ${token}`;
export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface AuthApp {
  readonly app: Express;
  readonly config: Config;
  readonly logger: Logger;
  readonly connections: ConnectionLimit;
  readonly store: LocalGroupStore;
  readonly metrics: Metrics;
  readonly registry: Registry;
  readonly origins: PushOrigin[];
  readonly quits: number[];
}

const quiet = new Writable({ write: (_c, _e, cb) => cb() });

/** Attribution as the real attributors do it: a static principal's namespace; else what `fallback` says. */
function fakeAttributor(origins: PushOrigin[], fallback: Attribution) {
  return {
    attribute: (origin: PushOrigin): Promise<Attribution> => {
      origins.push(origin);
      const { principal } = origin;
      if (principal.source !== 'anonymous') {
        return Promise.resolve(
          principal.namespace === undefined
            ? unattributed
            : { source: 'token', namespace: principal.namespace, user: principal.source === 'static' ? staticUser(principal) : principal.name },
        );
      }
      return Promise.resolve(fallback);
    },
  };
}

export async function authApp(
  argv: readonly string[],
  options: {
    readonly authenticators?: readonly Authenticator[];
    readonly fallback?: Attribution;
    /** --web.config.file, already loaded. */
    readonly webConfig?: WebConfigSource;
    readonly clock?: FakeClock;
  } = {},
): Promise<AuthApp> {
  const result = loadConfig(argv, {});
  if (result.kind !== 'config') throw new Error('no config');
  const config: Config = result.config;
  const registry = new Registry();
  const metrics = createMetrics(registry, 'test');
  const clock = options.clock ?? new FakeClock();
  const store = await LocalGroupStore.open({
    clock,
    ownType: () => undefined,
    consistencyCheck: config.push.consistencyCheck,
    maxGroups: config.limits.groups,
    persistenceFile: '',
  });
  const origins: PushOrigin[] = [];
  const quits: number[] = [];
  const authenticators = options.authenticators ?? (config.auth.staticFile === '' ? [] : [StaticAuthenticator.of(STATIC_FILE)]);
  const connections = new ConnectionLimit(config.limits.maxConnections, metrics);
  const logger = createLogger({ level: 'error', format: 'json', stream: quiet });
  const app = createApp({
    store,
    config,
    logger,
    metrics,
    overLimit: connections.overLimit,
    clock,
    attributor: fakeAttributor(origins, options.fallback ?? unattributed),
    authenticators,
    ...(options.webConfig === undefined ? {} : { webAccess: createWebAccess(options.webConfig, { metrics, logger, now: () => clock.now() }) }),
    build: { version: 'test', revision: 'r', startTime: new Date(0) },
    ownFamilies: async () => parseText(Buffer.from(await registry.metrics())),
    onQuit: () => quits.push(1),
  });
  return { app, config, logger, connections, store, metrics, registry, origins, quits };
}

/** The value of a counter with these labels. */
export async function counter(registry: Registry, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

/** Sample lines of pushed series (Lethe's own and the meta series left out). */
export const pushed = (text: string): string[] =>
  text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !/^(lethe_|process_|nodejs_|push_)/.test(l));

/** A static file path argument that the app does not read (the tests hand the authenticator in). */
export const STATIC = ['--auth.mode=static', '--auth.static-file=/unused/auth.json'];
