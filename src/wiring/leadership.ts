import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import { ConfigError, ErrorCode } from '../errors.js';
import type { KubeMode } from '../kube/index.js';
import { LeaderElector, leaseTimingsOf, type LeaseTimings, type Leadership } from '../leadership/index.js';
import type { Clock } from '../model/index.js';
import { createLeaderMetrics, type Logger } from '../observability/index.js';
import { loadRedis } from '../store/index.js';

/**
 * Which lease decides the replica that leads — runs deletions and, with the Redis store, serves
 * the pushed groups on /metrics — and the one leadership loop over it.
 */

/** none: every replica acts (one replica); kubernetes: the coordination.k8s.io Lease; redis: a lease in Redis. */
export type LeaseKind = 'none' | 'kubernetes' | 'redis';

export function leaseKindOf(config: Config, inCluster: boolean): LeaseKind {
  const kubernetes = inCluster && config.leaderElection.enabled;
  if (config.store.backend === 'file') return kubernetes ? 'kubernetes' : 'none';
  switch (config.ha.lease) {
    case 'kubernetes':
      if (!kubernetes) {
        throw new ConfigError(
          ErrorCode.config,
          'invalid configuration:\n  --ha.lease="kubernetes": needs a cluster (--kubeconfig, KUBECONFIG or in-cluster) and --leader-election.enabled',
        );
      }
      return 'kubernetes';
    case 'redis':
      return 'redis';
    case 'auto':
      return kubernetes ? 'kubernetes' : 'redis';
  }
}

/** The leadership of this replica, started after the HTTP server listens and stopped before the store closes. */
export interface RunningLeadership {
  readonly leadership: Leadership;
  start(): void;
  /** Stops the loop and gives the lease up when held. */
  stop(): Promise<void>;
}

export interface OpenLeadershipDeps {
  readonly kind: LeaseKind;
  /** With kind `kubernetes`: the Kubernetes mode, which holds the Lease backend. */
  readonly kube: KubeMode | undefined;
  /** Timings of the Kubernetes Lease (the Redis lease's follow --ha.lease-duration). */
  readonly kubeTimings: LeaseTimings;
  /** This replica's name: the Redis lease holder (a random suffix is added). */
  readonly identity: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
}

export async function openLeadership(config: Config, deps: OpenLeadershipDeps): Promise<RunningLeadership | undefined> {
  const { clock, logger } = deps;
  switch (deps.kind) {
    case 'none':
      return undefined;
    case 'kubernetes': {
      const backend = deps.kube?.lease;
      if (backend === undefined) throw new Error('the Kubernetes Lease needs the Kubernetes mode with leader election');
      const elector = new LeaderElector({ backend, timings: deps.kubeTimings, clock, logger, metrics: createLeaderMetrics(deps.registry) });
      return { leadership: elector, start: () => elector.start(), stop: () => elector.stop() };
    }
    case 'redis': {
      const { redis } = config.store;
      const timings = leaseTimingsOf(config.ha.leaseDurationMs);
      const { RedisLease } = await loadRedis();
      const backend = RedisLease.connect({
        url: redis.url,
        keyPrefix: redis.keyPrefix,
        timeoutMs: redis.timeoutMs,
        identity: deps.identity,
        leaseDurationMs: timings.leaseDurationMs,
      });
      const elector = new LeaderElector({ backend, timings, clock, logger, metrics: createLeaderMetrics(deps.registry) });
      return {
        leadership: elector,
        start: () => elector.start(),
        stop: async () => {
          await elector.stop();
          await backend.close();
        },
      };
    }
  }
}
