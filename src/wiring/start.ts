import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import { parseText } from '../exposition/index.js';
import { ConfigError, ErrorCode } from '../errors.js';
import {
  ConnectionLimit,
  StaticAuthenticator,
  WebConfigSource,
  createApp,
  createWebAccess,
  listen,
  staticUser,
  type Attributor,
  type Authenticator,
  type ListeningServer,
} from '../gateway/index.js';
import type { InformerOptions, KubeMode, KubeSource, OwnerKindOptions } from '../kube/index.js';
import { LifecycleLoop, staticClusterView, type ClusterView, type Leadership, type LifecycleReporter } from '../lifecycle/index.js';
import { systemClock, unattributed, type Clock, type MetricType, type Policy } from '../model/index.js';
import { F, createLifecycleMetrics, createMetrics, errorFields, type Logger } from '../observability/index.js';
import type { GroupStore } from '../store/index.js';
import { leaseModeOf, openStore } from './store.js';

/**
 * Builds and starts one Lethe from a Config: store, lifecycle, gateway, and — only when a cluster
 * is configured — the Kubernetes side, loaded with a dynamic import so that a standalone Lethe
 * never loads kube/ (or client-node). main.ts calls this; integration tests call it in-process.
 */

export interface ClusterOptions {
  readonly source: KubeSource;
  /** This replica's name: the Lease holder and the reportingInstance of Events. */
  readonly identity: string;
  /**
   * Lethe's own namespace (its Lease lives there): --leader-election.namespace, POD_NAMESPACE or the
   * service-account namespace file; empty: the kubeconfig context's namespace, else `default`.
   */
  readonly namespace: string;
}

/** Timings tests shorten; production uses the defaults. */
export interface Tuning {
  readonly informers?: InformerOptions;
  readonly lease?: { readonly leaseDurationMs: number; readonly renewDeadlineMs: number; readonly retryPeriodMs: number };
  readonly debounceMs?: number;
  readonly scrapePollMs?: number;
  /** How often the TLS pair and the static auth file are re-read without a change event (ms). */
  readonly filePollMs?: number;
  /** How often an owner kind that is not watched is looked up again. */
  readonly ownerKinds?: OwnerKindOptions;
}

export interface LetheDeps {
  readonly logger: Logger;
  readonly version: string;
  /** Absent: standalone. */
  readonly cluster?: ClusterOptions;
  readonly clock?: Clock;
  readonly tuning?: Tuning;
  /** Called after answering /-/quit (with --web.enable-lifecycle). */
  readonly onQuit?: () => void;
  /** This replica's name when standalone (POD_NAME, else the host name): the Redis lease holder. */
  readonly identity?: string;
}

export interface RunningLethe {
  readonly port: number;
  readonly store: GroupStore;
  readonly loop: LifecycleLoop;
  readonly registry: Registry;
  /** Present in Kubernetes mode. */
  readonly kube: KubeMode | undefined;
  /** Stops in order: HTTP, lifecycle, cluster watches and Lease, then the store (flushed). */
  stop(): Promise<void>;
}

/** Standalone: a static principal's namespace, else nothing (there are no pods to match). */
const standaloneAttributor: Attributor = {
  attribute: ({ principal }) =>
    Promise.resolve(
      principal.source === 'static' && principal.namespace !== undefined
        ? { source: 'token', namespace: principal.namespace, user: staticUser(principal) }
        : unattributed,
    ),
};

export function defaultPolicyOf(config: Config): Policy {
  const l = config.lifecycle;
  return {
    ttlMs: l.ttlMs,
    keepLast: l.keepLast,
    maxGraceMs: l.maxGraceMs,
    deletionPolicy: 'Delete',
    keepUntilSuperseded: l.keepUntilSuperseded,
    overdueAfterMs: l.overdueAfterMs,
  };
}

export async function startLethe(config: Config, deps: LetheDeps): Promise<RunningLethe> {
  const { logger, version } = deps;
  if (config.auth.kubernetes && deps.cluster === undefined) {
    throw new ConfigError(
      ErrorCode.config,
      `invalid configuration:\n  --auth.mode="${config.flags['auth.mode'] ?? ''}": Kubernetes tokens need a cluster (--kubeconfig, KUBECONFIG or the in-cluster service account), and none is configured`,
    );
  }
  const clock = deps.clock ?? systemClock;
  const log = logger.child({ [F.component]: 'main' });
  const registry = new Registry();
  const metrics = createMetrics(registry, version);
  const ownTypes = new Map<string, MetricType>();
  for (const metric of registry.getMetricsAsArray()) {
    const type = String(metric.type);
    if (type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary') ownTypes.set(metric.name, type);
  }

  // ---- Store: the file store, or Redis with the lease that picks the serving replica ----
  const leaseMode = leaseModeOf(config, deps.cluster !== undefined);
  const kubeLease: { current: Leadership | undefined } = { current: undefined };
  const { store, leadership: storeLeadership } = await openStore(config, {
    clock,
    ownTypes,
    logger,
    metrics,
    identity: deps.cluster?.identity ?? deps.identity ?? hostname(),
    leaseMode,
    holdsKubernetesLease: () => kubeLease.current?.isLeader() === true,
  });

  // ---- Cluster (Kubernetes mode) or none (standalone) ----
  let kube: KubeMode | undefined;
  let view: ClusterView = staticClusterView();
  let attributor: Attributor = standaloneAttributor;
  let leadership: Leadership | undefined;
  let reporter: LifecycleReporter | undefined;
  // The attributor kicks the loop, which is built after it.
  const kick = { loop: undefined as LifecycleLoop | undefined };
  const lifecycleMetrics = createLifecycleMetrics(registry);
  if (deps.cluster === undefined) {
    log.info('Running standalone');
  } else {
    const { createKubeMode } = await import('../kube/index.js');
    kube = createKubeMode(
      {
        source: deps.cluster.source,
        identity: deps.cluster.identity,
        namespace: deps.cluster.namespace,
        leaderElection: {
          enabled: config.leaderElection.enabled && leaseMode !== 'redis',
          leaseName: config.leaderElection.leaseName,
          ...(deps.tuning?.lease === undefined ? {} : { timings: deps.tuning.lease }),
        },
        ...(deps.tuning?.informers === undefined ? {} : { informers: deps.tuning.informers }),
        tokenReview: { cacheTtlMs: config.auth.cacheTtlMs, audiences: config.auth.tokenAudiences },
        admins: config.auth.kubernetesAdmins,
        ownerKinds: {
          runs: config.lifecycle.runKinds,
          schedules: config.lifecycle.scheduleKinds,
          ...(deps.tuning?.ownerKinds === undefined ? {} : { options: deps.tuning.ownerKinds }),
        },
      },
      {
        logger,
        clock,
        registry,
        onAttributed: () => kick.loop?.kick(),
        onEventError: () => lifecycleMetrics.reportErrors.inc({ what: 'event' }),
      },
    );
    view = kube.view;
    attributor = kube.attributor;
    leadership = kube.leadership;
    reporter = kube.reporter;
  }

  kubeLease.current = leadership;
  if (storeLeadership !== undefined) leadership = storeLeadership;

  const lifecycle = new LifecycleLoop({
    store,
    view,
    ...(leadership === undefined ? {} : { leadership }),
    ...(reporter === undefined ? {} : { reporter }),
    clock,
    logger,
    metrics: lifecycleMetrics,
    groupsDeleted: metrics.groupsDeleted,
    options: {
      defaults: defaultPolicyOf(config),
      resyncIntervalMs: config.lifecycle.resyncIntervalMs,
      debounceMs: deps.tuning?.debounceMs ?? 100,
      scrapePollMs: deps.tuning?.scrapePollMs ?? 1_000,
    },
  });
  kick.loop = lifecycle;

  // ---- Authentication (docs/security.md, "Authentication"): static file first, then TokenReview ----
  const filePollMs = deps.tuning?.filePollMs;
  const authenticators: Authenticator[] = [];
  let staticAuth: StaticAuthenticator | undefined;
  let webConfig: WebConfigSource | undefined;
  try {
    if (config.auth.staticFile !== '') {
      staticAuth = await StaticAuthenticator.open(config.auth.staticFile, { logger, metrics, ...(filePollMs === undefined ? {} : { pollMs: filePollMs }) });
      authenticators.push(staticAuth);
    }
    if (config.web.configFile !== '') {
      webConfig = await WebConfigSource.open(config.web.configFile, { logger, metrics, ...(filePollMs === undefined ? {} : { pollMs: filePollMs }) });
      if (webConfig.current.users.size > 0 && config.auth.enabled) {
        // Both would need the Authorization header of the same request.
        throw new ConfigError(
          ErrorCode.config,
          `invalid configuration:\n  --web.config.file=${JSON.stringify(config.web.configFile)}: basic_auth_users cannot be combined with --auth.mode=${config.flags['auth.mode'] ?? ''}; put the users in --auth.static-file (docs/web-configuration.md)`,
        );
      }
    }
  } catch (err) {
    staticAuth?.close();
    webConfig?.close();
    await store.close();
    throw err;
  }
  if (config.auth.kubernetes && kube !== undefined) authenticators.push(kube.authenticator);
  if (config.auth.enabled) {
    log.info('Authenticating requests', { mode: config.flags['auth.mode'], read: config.auth.read, authenticators: authenticators.map((a) => a.name) });
  }
  const connections = new ConnectionLimit(config.limits.maxConnections, metrics);

  const app = createApp({
    store,
    config,
    logger,
    metrics,
    clock,
    attributor,
    authenticators,
    ...(webConfig === undefined ? {} : { webAccess: createWebAccess(webConfig, { logger, metrics, now: () => clock.now() }) }),
    overLimit: connections.overLimit,
    build: { version, revision: 'unknown', startTime: new Date() },
    ownFamilies: async () => {
      metrics.excludedGroups.set(store.excludedCount);
      return parseText(Buffer.from(await registry.metrics()));
    },
    onQuit: () => deps.onQuit?.(),
    insight: (group) => lifecycle.insight(group),
    blockedBy: () => lifecycle.gates(),
    kubernetes: kube !== undefined,
    ...(kube === undefined ? {} : { problems: () => kube.problems(), ownerKinds: () => kube.ownerKindStatus() }),
  });
  let server: ListeningServer;
  try {
    server = await listen(app, config.web.listenHost, config.web.listenPort, {
      headerTimeoutMs: config.limits.headerTimeoutMs,
      requestTimeoutMs: config.limits.requestTimeoutMs,
      connections,
      logger,
      metrics,
      ...(config.web.tls === undefined ? {} : { tls: config.web.tls }),
      ...(webConfig === undefined ? {} : { webConfig }),
      ...(filePollMs === undefined ? {} : { tlsPollMs: filePollMs }),
    });
  } catch (err) {
    staticAuth?.close();
    webConfig?.close();
    await store.close();
    throw err;
  }
  kube?.start();
  lifecycle.start();
  log.info('Listening', {
    address: `${config.web.listenHost}:${server.port}`,
    mode: kube === undefined ? 'standalone' : 'kubernetes',
    scheme: config.web.tls === undefined && webConfig?.current.tls === undefined ? 'http' : 'https',
  });

  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    store,
    loop: lifecycle,
    registry,
    kube,
    stop: () => {
      stopping ??= (async () => {
        await server.close().catch((err: unknown) => log.warn('Failed to close HTTP server', { [F.err]: errorFields(err) }));
        staticAuth?.close();
        webConfig?.close();
        await lifecycle.stop();
        await kube?.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
