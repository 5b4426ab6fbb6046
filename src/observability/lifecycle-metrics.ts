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
