import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics of the cluster watches (registered only in Kubernetes mode). */
export interface KubeMetrics {
  readonly informerSynced: Gauge<'kind'>;
  readonly informerHealthy: Gauge<'kind'>;
  readonly informerLastEvent: Gauge<'kind'>;
  readonly informerRestarts: Counter<'kind'>;
  /** 1 while the API server does not serve an optional kind (the MetricsGroup CRD is not installed). */
  readonly informerMissing: Gauge<'kind'>;
  /** 1 while a call Lethe needs is forbidden (RBAC). */
  readonly forbidden: Gauge<'verb' | 'resource' | 'resource_namespace'>;
  /** 1 for each Job, CronJob or MetricsGroup whose lethe.dev policy cannot be read (its groups are held). */
  readonly policyInvalid: Gauge<'kind' | 'namespace' | 'name'>;
  readonly attributions: Counter<'source'>;
  readonly tokenReviews: Counter<'result'>;
}

export function createKubeMetrics(registry: Registry): KubeMetrics {
  const registers = [registry];
  return {
    informerSynced: new Gauge({
      name: 'lethe_informer_synced',
      help: 'Whether the watch of a kind has listed at least once: 1 synced, 0 not yet.',
      labelNames: ['kind'],
      registers,
    }),
    informerHealthy: new Gauge({
      name: 'lethe_informer_healthy',
      help: 'Whether the watch of a kind is working: 1 healthy, 0 failing (deletions wait).',
      labelNames: ['kind'],
      registers,
    }),
    informerLastEvent: new Gauge({
      name: 'lethe_informer_last_event_timestamp_seconds',
      help: 'Unix time of the last list, event or bookmark received for a kind.',
      labelNames: ['kind'],
      registers,
    }),
    informerRestarts: new Counter({
      name: 'lethe_informer_restarts_total',
      help: 'Watches restarted after an error, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    informerMissing: new Gauge({
      name: 'lethe_informer_missing',
      help: 'Whether the API server does not serve a kind Lethe can do without (MetricsGroup: its CRD is not installed): 1 missing, counted as none; 0 served.',
      labelNames: ['kind'],
      registers,
    }),
    forbidden: new Gauge({
      name: 'lethe_kube_forbidden',
      help: 'Calls Lethe needs that the API server forbids (RBAC), by verb, resource and the namespace of the call (* for all): 1 while forbidden.',
      labelNames: ['verb', 'resource', 'resource_namespace'],
      registers,
    }),
    policyInvalid: new Gauge({
      name: 'lethe_policy_invalid',
      help: 'Jobs, CronJobs and MetricsGroups whose lethe.dev policy (an annotation, the spec) cannot be read: 1 while invalid; their metric groups are kept until it is fixed.',
      labelNames: ['kind', 'namespace', 'name'],
      registers,
    }),
    attributions: new Counter({
      name: 'lethe_attributions_total',
      help: 'Pushes attributed, by source (token, pod-ip, none).',
      labelNames: ['source'],
      registers,
    }),
    tokenReviews: new Counter({
      name: 'lethe_token_reviews_total',
      help: 'TokenReviews sent to the API server, by result (authenticated, rejected, error, cached).',
      labelNames: ['result'],
      registers,
    }),
  };
}
