import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { replicaOf, type Config, type Replica } from '../config/index.js';
import { ConfigError, ErrorCode } from '../errors.js';
import { IdleCollection, fullCollection, oldGenerationBytes } from '../idle-collection.js';
import { MemoryGuard, heapReading } from '../memory-guard.js';
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
import { defaultLeaseTimings, type LeaseTimings } from '../leadership/index.js';
import { LifecycleLoop, staticClusterView, type ClusterView, type LifecycleReporter } from '../lifecycle/index.js';
import { systemClock, unattributed, type Clock, type MetricType, type Policy } from '../model/index.js';
import { F, createLifecycleMetrics, createMetrics, errorFields, type Logger } from '../observability/index.js';
import type { GroupStore } from '../store/index.js';
import { leaseKindOf, openLeadership, type RunningLeadership } from './leadership.js';
import { ownFamilies } from './own-metrics.js';
import { openStore, type OpenedStore } from './store.js';

/** A full collection this long after the last write (idle-collection.ts)... */
const IDLE_COLLECTION_MS = 1_000;
/** ...taking at most this share of the time... */
const IDLE_COLLECTION_BUDGET = 0.05;
/** ...once the old generation grew by an eighth since the last one, and by 4 MiB. */
const IDLE_COLLECTION_GROWTH = { share: 0.125, bytes: 4 * 1024 * 1024 };
/** The share of the time the heap guard's collections may take (memory-guard.ts). */
const MEMORY_GUARD_BUDGET = 0.05;

/**
 * Builds and starts one Lethe from a Config: store, lifecycle, gateway, and — only when a cluster
 * is configured — the Kubernetes side, loaded with a dynamic import so that a standalone Lethe
 * never loads kube/ (or client-node). main.ts calls this; integration tests call it in-process.
 */

export interface ClusterOptions {
  readonly source: KubeSource;
}

/** Timings tests shorten; production uses the defaults. */
export interface Tuning {
  readonly informers?: InformerOptions;
  /** Timings of the Kubernetes Lease. */
  readonly lease?: LeaseTimings;
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
  /** Told of each write request (not GET or HEAD) as it arrives: main.ts lets V8's young generation grow back (young-generation.ts). */
  readonly writeStarted?: () => void;
  /**
   * Who this replica is (config/replica.ts: main.ts works it out from flags, environment and the
   * pod). Absent: from the flags and the host name alone.
   */
  readonly replica?: Replica;
}

export interface RunningLethe {
  readonly port: number;
  readonly store: GroupStore;
  readonly loop: LifecycleLoop;
  readonly registry: Registry;
  /** Present in Kubernetes mode. */
  readonly kube: KubeMode | undefined;
  /** Stops in order: HTTP, lifecycle, leadership (the lease released), cluster watches, then the store (flushed). */
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
  const replica = deps.replica ?? replicaOf(config, { env: {}, hostname, serviceAccountNamespace: () => '' });
  const log = logger.child({ [F.component]: 'main' });
  const registry = new Registry();
  const metrics = createMetrics(registry, version);
  const ownTypes = new Map<string, MetricType>();
  for (const metric of registry.getMetricsAsArray()) {
    const type = String(metric.type);
    if (type === 'counter' || type === 'gauge' || type === 'histogram' || type === 'summary') ownTypes.set(metric.name, type);
  }

  // ---- Cluster (Kubernetes mode, built here and started after listen) or none (standalone) ----
  const leaseKind = leaseKindOf(config, deps.cluster !== undefined);
  let kube: KubeMode | undefined;
  let view: ClusterView = staticClusterView();
  let attributor: Attributor = standaloneAttributor;
  let reporter: LifecycleReporter | undefined;
  // The attributor kicks the loop, which is built after it.
  const kick = { loop: undefined as LifecycleLoop | undefined };
  const lifecycleMetrics = createLifecycleMetrics(registry);
  const kubeTimings = deps.tuning?.lease ?? defaultLeaseTimings;
  if (deps.cluster === undefined) {
    log.info('Running standalone');
  } else {
    const { createKubeMode } = await import('../kube/index.js');
    kube = createKubeMode(
      {
        source: deps.cluster.source,
        replica,
        leaderElection: { enabled: leaseKind === 'kubernetes', leaseName: config.leaderElection.leaseName, timings: kubeTimings },
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
    reporter = kube.reporter;
  }

  // ---- Leadership: one loop over the Kubernetes Lease or the Redis lease (or none) ----
  const leader: RunningLeadership | undefined = await openLeadership(config, {
    kind: leaseKind,
    kube,
    kubeTimings,
    identity: replica.name,
    clock,
    logger,
    registry,
  });
  const leadership = leader?.leadership;

  // ---- Store: the file store, or Redis (served by the leader) ----
  let store: OpenedStore;
  try {
    store = await openStore(config, { clock, ownTypes, logger, metrics, leaseKind, leadership });
  } catch (err) {
    await leader?.stop();
    throw err;
  }

  metrics.observeStore(store);

  // Writes leave replaced data in V8's old generation: collect it once they stop (idle-collection.ts):
  // HTTP writes (below) and the lifecycle's.
  const idle = new IdleCollection({
    quietMs: IDLE_COLLECTION_MS,
    budget: IDLE_COLLECTION_BUDGET,
    minGrowth: IDLE_COLLECTION_GROWTH,
    oldGeneration: oldGenerationBytes,
    collect: fullCollection(),
    now: () => performance.now(),
    onCollected: ({ ms, before, after }) =>
      log.debug('Collected garbage after writes', { [F.durationMs]: Math.round(ms), [F.bytes]: before - after }),
  });

  // Pushes that add series are refused before V8's heap runs out (memory-guard.ts).
  const { heapShare } = config.limits;
  const heapLimit = heapReading().limit;
  metrics.heapLimit.set(heapLimit);
  // Absent with the guard off: a line at 0 would fire the chart's LetheMemoryNearlyFull.
  if (heapShare > 0) metrics.heapGuard.set(heapShare * heapLimit);
  else registry.removeSingleMetric('lethe_heap_guard_bytes');
  const memoryGuard = heapShare === 0 ? undefined : new MemoryGuard({
    share: heapShare,
    heap: heapReading,
    collect: fullCollection('regular'),
    budget: MEMORY_GUARD_BUDGET,
    now: () => performance.now(),
    onChange: (full, { used, limit }) => {
      const fields = { [F.bytes]: used, limitBytes: limit, share: heapShare };
      if (full) log.warn('Refusing pushes that add series: the heap is nearly full (--limits.heap-share)', fields);
      else log.info('Taking pushes that add series again: the heap has room', fields);
    },
  });

  const lifecycle = new LifecycleLoop({
    store,
    view,
    ...(leadership === undefined ? {} : { leadership }),
    ...(reporter === undefined ? {} : { reporter }),
    clock,
    logger,
    metrics: lifecycleMetrics,
    groupsDeleted: metrics.groupsDeleted,
    wrote: () => idle.written(),
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
    await leader?.stop();
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
    ...(memoryGuard === undefined ? {} : { memoryGuard }),
    build: { version, revision: 'unknown', startTime: new Date() },
    ownFamilies: () => ownFamilies(registry),
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
    await leader?.stop();
    await store.close();
    throw err;
  }
  kube?.start();
  leader?.start();
  lifecycle.start();
  server.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    idle.began();
    res.once('close', () => idle.ended());
    if (req.method === 'GET' || req.method === 'HEAD') {
      // Health and readiness checks leave nothing behind: only reads that render or list count.
      if (req.url?.includes('/-/') !== true) idle.read();
      return;
    }
    deps.writeStarted?.();
    idle.written();
  });
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
        idle.stop();
        await lifecycle.stop();
        await leader?.stop();
        await kube?.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
