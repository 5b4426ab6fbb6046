import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Labels of the per-group gauges: the group and the owner whose schedule it follows. */
export type GroupLabel = 'namespace' | 'owner_kind' | 'owner_name' | 'grouping_key';

/** Metrics of the lifecycle loop (registered only when it runs). */
export interface LifecycleMetrics {
  /** 1 while a gate blocks deletions. */
  readonly blocked: Gauge<'gate'>;
  readonly passes: Counter<'result'>;
  readonly passDuration: Histogram;
  /** Deletions decided but waiting (grace until scraped, owner not yet confirmed gone). */
  readonly pendingDeletions: Gauge;
  readonly groupOverdue: Gauge<GroupLabel>;
  readonly groupLastPush: Gauge<GroupLabel>;
  readonly reportErrors: Counter<'what'>;
}

export function createLifecycleMetrics(registry: Registry): LifecycleMetrics {
  const registers = [registry];
  const groupLabels: GroupLabel[] = ['namespace', 'owner_kind', 'owner_name', 'grouping_key'];
  return {
    blocked: new Gauge({
      name: 'lethe_lifecycle_blocked',
      help: 'Whether a gate (sync, health, leader) currently blocks deletions: 1 blocked, 0 open.',
      labelNames: ['gate'],
      registers,
    }),
    passes: new Counter({
      name: 'lethe_lifecycle_passes_total',
      help: 'Lifecycle passes, by result (applied, blocked, failed).',
      labelNames: ['result'],
      registers,
    }),
    passDuration: new Histogram({
      name: 'lethe_lifecycle_pass_duration_seconds',
      help: 'Time of one lifecycle pass: decide and apply.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    pendingDeletions: new Gauge({
      name: 'lethe_lifecycle_pending_deletions',
      help: 'Groups due for deletion that wait for a scrape of their last push or for their owner to be confirmed gone.',
      registers,
    }),
    groupOverdue: new Gauge({
      name: 'lethe_group_overdue',
      help: 'For groups pushed on a schedule: 1 when a scheduled push did not arrive by its deadline, else 0.',
      labelNames: groupLabels,
      registers,
    }),
    groupLastPush: new Gauge({
      name: 'lethe_group_last_push_timestamp_seconds',
      help: 'For groups pushed on a schedule: Unix time of the newest push of the schedule\'s groups.',
      labelNames: groupLabels,
      registers,
    }),
    reportErrors: new Counter({
      name: 'lethe_lifecycle_report_errors_total',
      help: 'Failed Kubernetes Events and MetricsGroup status updates, by what failed.',
      labelNames: ['what'],
      registers,
    }),
  };
}

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
  readonly leader: Gauge;
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
    leader: new Gauge({
      name: 'lethe_leader',
      help: 'Whether this replica holds the leader Lease: 1 yes, 0 no.',
      registers,
    }),
  };
}
