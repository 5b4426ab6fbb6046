import type { Registry } from 'prom-client';
import type { OwnerKindName } from '../config/index.js';
import type { DeletionBatch, LifecycleReporter, MetricsGroupReport } from '../lifecycle/index.js';
import { F, createKubeMetrics, createOwnerKindMetrics, type Logger } from '../observability/index.js';
import { KubeAttributor } from './attribution.js';
import { KubeAuthenticator } from './authenticator.js';
import { loadKubeConfig, type KubeSource } from './client.js';
import { KubeClusterView } from './cluster-view.js';
import { EventRecorder } from './events.js';
import { defaultInformerOptions, type InformerOptions } from './informers.js';
import { LeaseElector, defaultLeaseTimings, type LeaseTimings } from './leader-election.js';
import { OwnerKinds, defaultOwnerKindOptions, type OwnerKindOptions } from './owner-kinds.js';
import { StatusWriter } from './status.js';
import { TokenReviewer, type TokenReviewOptions } from './token-review.js';

/**
 * Everything Lethe needs from a cluster, built from one kubeconfig: the cluster view (informers),
 * the attributor, the leader elector and the reporter (Events, MetricsGroup status).
 */

export interface KubeModeOptions {
  readonly source: KubeSource;
  /** This replica's name (Lease holder, Event reportingInstance). */
  readonly identity: string;
  /** Lethe's own namespace: its Lease, and Events about groups with no namespace. */
  readonly namespace: string;
  readonly leaderElection: { readonly enabled: boolean; readonly leaseName: string; readonly timings?: LeaseTimings };
  readonly informers?: InformerOptions;
  /** TokenReview audiences and cache (--auth.token-audience, --auth.cache-ttl). */
  readonly tokenReview?: Partial<TokenReviewOptions>;
  /** Kubernetes user names that are admins (--auth.kubernetes-admins). */
  readonly admins?: readonly string[];
  /** How long a deleted owner's policy is remembered (ms). */
  readonly tombstoneTtlMs?: number;
  /** Extra owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds); none by default. */
  readonly ownerKinds?: {
    readonly runs: readonly OwnerKindName[];
    readonly schedules: readonly OwnerKindName[];
    readonly options?: OwnerKindOptions;
  };
}

export interface KubeModeDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Called after every push is attributed. */
  readonly onAttributed?: () => void;
}

export interface KubeMode {
  readonly view: KubeClusterView;
  readonly attributor: KubeAttributor;
  /** Checks bearer tokens with a TokenReview (used when --auth.mode includes kubernetes). */
  readonly authenticator: KubeAuthenticator;
  readonly leadership: LeaseElector | undefined;
  readonly reporter: LifecycleReporter;
  /** The configured owner kinds: discovered, watched metadata-only, reported (no kinds: it does nothing). */
  readonly ownerKinds: OwnerKinds;
  start(): void;
  stop(): Promise<void>;
}

export function createKubeMode(options: KubeModeOptions, deps: KubeModeDeps): KubeMode {
  const kubeConfig = loadKubeConfig(options.source);
  const metrics = createKubeMetrics(deps.registry);
  const log = deps.logger.child({ [F.component]: 'kube' });
  const view = new KubeClusterView({
    kubeConfig,
    logger: deps.logger,
    metrics,
    informerOptions: options.informers ?? defaultInformerOptions,
    tombstoneTtlMs: options.tombstoneTtlMs ?? 6 * 3_600_000,
  });
  const reviewer = new TokenReviewer({
    kubeConfig,
    logger: deps.logger,
    metrics,
    options: { cacheTtlMs: 60_000, audiences: [], ...options.tokenReview },
  });
  const attributor = new KubeAttributor({
    kubeConfig,
    view,
    logger: deps.logger,
    metrics,
    reviewer,
    ...(deps.onAttributed === undefined ? {} : { onAttributed: deps.onAttributed }),
  });
  const leadership = options.leaderElection.enabled
    ? new LeaseElector({
        kubeConfig,
        logger: deps.logger,
        metrics,
        options: {
          leaseName: options.leaderElection.leaseName,
          namespace: options.namespace,
          identity: options.identity,
          ...(options.leaderElection.timings ?? defaultLeaseTimings),
        },
      })
    : undefined;
  const ownerKinds = new OwnerKinds({
    kubeConfig,
    logger: deps.logger,
    metrics,
    ownerMetrics: createOwnerKindMetrics(deps.registry),
    informerOptions: options.informers ?? defaultInformerOptions,
    options: options.ownerKinds?.options ?? defaultOwnerKindOptions,
    runKinds: options.ownerKinds?.runs ?? [],
    scheduleKinds: options.ownerKinds?.schedules ?? [],
  });
  const events = new EventRecorder(kubeConfig, { podName: options.identity, namespace: options.namespace });
  const status = new StatusWriter(kubeConfig);
  const reporter: LifecycleReporter = {
    deletions: (batches: readonly DeletionBatch[]) => events.record(batches),
    metricsGroups: (reports: readonly MetricsGroupReport[], now: number) =>
      status.write(reports, (uid) => view.metricsGroupObject(uid)?.status, now),
  };
  return {
    view,
    attributor,
    authenticator: new KubeAuthenticator(reviewer, options.admins ?? []),
    leadership,
    reporter,
    ownerKinds,
    start: () => {
      log.info('Watching the cluster', {
        server: kubeConfig.getCurrentCluster()?.server,
        identity: options.identity,
        leaderElection: options.leaderElection.enabled ? `${options.namespace}/${options.leaderElection.leaseName}` : 'off',
      });
      view.start();
      ownerKinds.start();
      leadership?.start();
    },
    stop: async () => {
      await leadership?.stop();
      await ownerKinds.stop();
      await view.stop();
    },
  };
}
