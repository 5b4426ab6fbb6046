/** An app with authentication for the auth unit tests: a LocalGroupStore, static credentials, a fake attributor. */
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Config } from '../../../src/config/index.js';
import {
  ConnectionLimit,
  StaticAuthenticator,
  createWebAccess,
  staticUser,
  type Authenticator,
  type PushOrigin,
  type WebConfigSource,
} from '../../../src/gateway/index.js';
import { unattributed, type Attribution } from '../../../src/model/index.js';
import type { Logger, Metrics } from '../../../src/observability/index.js';
import type { LocalGroupStore } from '../../../src/store/index.js';
import { buildApp } from '../../harness/app.js';
import type { FakeClock } from '../../harness/builders.js';

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
  const origins: PushOrigin[] = [];
  let connections: ConnectionLimit | undefined;
  const made = await buildApp({
    argv,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    deps: ({ config, metrics, logger, clock }) => {
      connections = new ConnectionLimit(config.limits.maxConnections, metrics);
      return {
        overLimit: connections.overLimit,
        attributor: fakeAttributor(origins, options.fallback ?? unattributed),
        authenticators: options.authenticators ?? (config.auth.staticFile === '' ? [] : [StaticAuthenticator.of(STATIC_FILE)]),
        ...(options.webConfig === undefined ? {} : { webAccess: createWebAccess(options.webConfig, { metrics, logger, now: () => clock.now() }) }),
      };
    },
  });
  if (connections === undefined) throw new Error('no connection limit');
  const { app, config, logger, store, metrics, registry, quits } = made;
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
