import type { Registry } from 'prom-client';
import { replicaNamespace, type OwnerKindName, type Replica } from '../config/index.js';
import type { OwnerKindStatus, Problem } from '../gateway/index.js';
import type { LeaseTimings } from '../leadership/index.js';
import type { DeletionBatch, LifecycleReporter, MetricsGroupReport } from '../lifecycle/index.js';
import type { Clock } from '../model/index.js';
import { F, createKubeMetrics, createOwnerKindMetrics, type Logger } from '../observability/index.js';
import { KubeAttributor } from './attribution.js';
import { KubeAuthenticator } from './authenticator.js';
import { contextNamespace, loadKubeConfig, type KubeSource } from './client.js';
import { CRD_HINT, KubeClusterView } from './cluster-view.js';
import { EventRecorder, builtInApiVersion } from './events.js';
import { defaultInformerOptions, type InformerOptions } from './informers.js';
import type { Forbidden } from './informers.js';
import { KubeLease } from './lease.js';
import { OwnerKinds, defaultOwnerKindOptions, type OwnerKindOptions } from './owner-kinds.js';
import { PolicyWarnings } from './policy-warnings.js';
import { StatusWriter } from './status.js';
import { TokenReviewer, type TokenReviewOptions } from './token-review.js';

/**
 * Everything Lethe needs from a cluster, built from one kubeconfig: the cluster view (informers),
 * the attributor, the leader Lease (the backend of leadership/'s loop) and the reporter (Events,
 * MetricsGroup status).
 */

export interface KubeModeOptions {
  readonly source: KubeSource;
  /** This replica (config/replica.ts): the Lease holder and Event reportingInstance, and its namespace. */
  readonly replica: Replica;
  /** The Lease, when leader election runs on it (its loop is leadership/'s). */
  readonly leaderElection: { readonly enabled: boolean; readonly leaseName: string; readonly timings: LeaseTimings };
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
  /** The time of tombstones, owner-kind states, informer health and Events. */
  readonly clock: Clock;
  readonly registry: Registry;
  /** Called after every push is attributed. */
  readonly onAttributed?: () => void;
  /** Called when an InvalidPolicy Event could not be created (the caller counts it). */
  readonly onEventError?: () => void;
}

export interface KubeMode {
  readonly view: KubeClusterView;
  readonly attributor: KubeAttributor;
  /** Checks bearer tokens with a TokenReview (used when --auth.mode includes kubernetes). */
  readonly authenticator: KubeAuthenticator;
  /** The leader Lease, when leader election runs on it. */
  readonly lease: KubeLease | undefined;
  readonly reporter: LifecycleReporter;
  /** The namespace of the Lease and of Events about groups with no namespace. */
  readonly namespace: string;
  /** What needs a person now: the MetricsGroup CRD missing, a forbidden Lease or watch, a configured owner kind that cannot be read. */
  problems(): Problem[];
  /** Each configured owner kind's state, for /api/v1/status. */
  ownerKindStatus(): OwnerKindStatus[];
  /** The configured owner kinds: discovered, watched metadata-only, reported (no kinds: it does nothing). */
  readonly ownerKinds: OwnerKinds;
  start(): void;
  stop(): Promise<void>;
}

export function createKubeMode(options: KubeModeOptions, deps: KubeModeDeps): KubeMode {
  const kubeConfig = loadKubeConfig(options.source);
  const namespace = replicaNamespace(options.replica, contextNamespace(kubeConfig));
  const metrics = createKubeMetrics(deps.registry);
  const log = deps.logger.child({ [F.component]: 'kube' });
  const identity = { podName: options.replica.name, namespace };
  const policyWarnings = new PolicyWarnings({
    clock: deps.clock,
    kubeConfig,
    logger: deps.logger,
    metrics,
    identity,
    ...(deps.onEventError === undefined ? {} : { onEventError: deps.onEventError }),
  });
  const ownerKinds = new OwnerKinds({
    clock: deps.clock,
    kubeConfig,
    logger: deps.logger,
    metrics,
    ownerMetrics: createOwnerKindMetrics(deps.registry),
    informerOptions: options.informers ?? defaultInformerOptions,
    options: options.ownerKinds?.options ?? defaultOwnerKindOptions,
    runKinds: options.ownerKinds?.runs ?? [],
    scheduleKinds: options.ownerKinds?.schedules ?? [],
  });
  const view = new KubeClusterView({
    clock: deps.clock,
    kubeConfig,
    logger: deps.logger,
    metrics,
    informerOptions: { ...defaultInformerOptions, ...options.informers },
    tombstoneTtlMs: options.tombstoneTtlMs ?? 6 * 3_600_000,
    policyWarnings,
    ownerKinds,
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
    ownerKinds,
    logger: deps.logger,
    metrics,
    reviewer,
    ...(deps.onAttributed === undefined ? {} : { onAttributed: deps.onAttributed }),
  });
  const lease = options.leaderElection.enabled
    ? new KubeLease({
        kubeConfig,
        clock: deps.clock,
        logger: deps.logger,
        metrics,
        options: {
          leaseName: options.leaderElection.leaseName,
          namespace,
          identity: options.replica.name,
          leaseDurationMs: options.leaderElection.timings.leaseDurationMs,
        },
      })
    : undefined;
  const events = new EventRecorder(kubeConfig, identity, deps.clock, (kind) => builtInApiVersion(kind) ?? ownerKinds.apiVersionOf(kind));
  const status = new StatusWriter(kubeConfig);
  const reporter: LifecycleReporter = {
    deletions: (batches: readonly DeletionBatch[]) => events.record(batches),
    metricsGroups: (reports: readonly MetricsGroupReport[], now: number) =>
      status.write(reports, (uid) => view.metricsGroupObject(uid)?.status, now),
  };
  const forbiddenProblem = (f: Forbidden, effect: string): Problem => ({
    reason: 'Forbidden',
    message: `${f.verb} ${f.resource} ${f.namespace === '*' ? 'in all namespaces' : `in namespace ${f.namespace}`} is forbidden (${f.message}): ${effect}`,
    failsReadiness: true,
  });
  return {
    view,
    attributor,
    authenticator: new KubeAuthenticator(reviewer, options.admins ?? []),
    lease,
    reporter,
    namespace,
    problems: () => {
      const { missing, forbidden } = view.problems();
      const problems: Problem[] = missing.map((kind) => ({
        reason: 'CrdMissing',
        message: `the ${kind} CRD is not installed: ${CRD_HINT}`,
        failsReadiness: false,
      }));
      for (const f of forbidden) problems.push(forbiddenProblem(f, 'deletions wait until Lethe may watch it'));
      const leaseForbidden = lease?.forbidden;
      if (leaseForbidden !== undefined) problems.push(forbiddenProblem(leaseForbidden, 'this replica cannot lead, so it deletes nothing'));
      for (const r of ownerKinds.reports()) {
        if (r.state === 'watching' || r.state === 'discovering') continue;
        problems.push({
          reason: r.state === 'absent' ? 'OwnerKindMissing' : r.state === 'forbidden' ? 'OwnerKindForbidden' : 'OwnerKindUnknown',
          message: `${r.name} (${r.role} kind) is ${r.state}${r.message === undefined ? '' : `: ${r.message}`}. Lethe keeps the groups whose ${r.role} is of this kind until it can read it; other deletions go on`,
          failsReadiness: false,
        });
      }
      return problems;
    },
    ownerKindStatus: () =>
      ownerKinds.reports().map((r) => ({
        name: r.name,
        role: r.role,
        state: r.state,
        since: r.since,
        ...(r.message === undefined ? {} : { message: r.message }),
        ...(r.kind === undefined || r.version === undefined ? {} : { apiVersion: `${r.group}/${r.version}`, kind: r.kind }),
        synced: r.synced,
        healthy: r.healthy,
        objects: r.objects,
      })),
    ownerKinds,
    start: () => {
      log.info('Watching the cluster', {
        server: kubeConfig.getCurrentCluster()?.server,
        identity: options.replica.name,
        namespace,
        leaderElection: options.leaderElection.enabled ? `${namespace}/${options.leaderElection.leaseName}` : 'off',
      });
      view.start();
      ownerKinds.start();
    },
    stop: async () => {
      await ownerKinds.stop();
      await view.stop();
    },
  };
}
