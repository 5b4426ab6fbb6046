import type { Registry} from 'prom-client';
import { Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

/** What the store gauges read at every scrape (the GroupStore and its excluded groups). */
export interface StoreCounts {
  readonly groupCount: number;
  readonly seriesCount: number;
  readonly excludedCount: number;
}

/** Lethe's own metrics, registered on an injected registry (never the global one). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'handler' | 'code' | 'method'>;
  readonly pushDuration: Histogram<'method'>;
  readonly pushBytes: Histogram<'method'>;
  readonly pushesRejected: Counter<'reason'>;
  readonly limitRejections: Counter<'limit'>;
  readonly authFailures: Counter<'reason'>;
  readonly fileReloads: Counter<'file' | 'result'>;
  readonly openConnections: Gauge;
  readonly groups: Gauge;
  readonly series: Gauge;
  readonly groupsDeleted: Counter<'reason'>;
  readonly excludedGroups: Gauge;
  readonly persistenceWrites: Counter;
  readonly persistenceErrors: Counter<'op' | 'code'>;
  readonly persistenceFailing: Gauge;
  readonly persistenceFlushDuration: Histogram;
  readonly buildInfo: Gauge<'version' | 'nodejs_version'>;
  readonly heapLimit: Gauge;
  readonly heapGuard: Gauge;
  /** Lets `lethe_groups`, `lethe_series` and `lethe_scrape_excluded_groups` read the store when collected. */
  observeStore(store: StoreCounts): void;
}

export function createMetrics(registry: Registry, version: string): Metrics {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // The store opens after the metrics exist (its type checks need their names): the gauges read
  // it once it is there, in collect, so a scrape always shows the counts of that moment.
  let store: StoreCounts | undefined;
  const metrics: Metrics = {
    registry,
    httpRequests: new Counter({
      name: 'lethe_http_requests_total',
      help: 'HTTP requests by handler, status code and method.',
      labelNames: ['handler', 'code', 'method'],
      registers,
    }),
    pushDuration: new Histogram({
      name: 'lethe_http_push_duration_seconds',
      help: 'Time to handle a push, from the first byte read to the answer, including the durable write.',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    pushBytes: new Histogram({
      name: 'lethe_http_push_size_bytes',
      help: 'Size of push bodies after decompression.',
      labelNames: ['method'],
      buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216],
      registers,
    }),
    pushesRejected: new Counter({
      name: 'lethe_pushes_rejected_total',
      help: 'Pushes answered with a 4xx, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    limitRejections: new Counter({
      name: 'lethe_limit_rejections_total',
      help: 'Requests refused because they exceeded a configured limit, by limit.',
      labelNames: ['limit'],
      registers,
    }),
    authFailures: new Counter({
      name: 'lethe_auth_failures_total',
      help: 'Requests refused by authentication or authorization, by reason (missing_credentials, bad_credentials, unavailable, not_admin, no_namespace, other_namespace, cross_site, client_certificate).',
      labelNames: ['reason'],
      registers,
    }),
    fileReloads: new Counter({
      name: 'lethe_file_reloads_total',
      help: 'Reloads of a watched file (tls, static_auth, web_config) after it changed, by result (success, error: the previous contents stay in use).',
      labelNames: ['file', 'result'],
      registers,
    }),
    openConnections: new Gauge({ name: 'lethe_http_open_connections', help: 'Client connections currently open.', registers }),
    groups: new Gauge({
      name: 'lethe_groups',
      help: 'Groups currently stored.',
      registers,
      collect() {
        if (store !== undefined) this.set(store.groupCount);
      },
    }),
    series: new Gauge({
      name: 'lethe_series',
      help: 'Series currently stored, meta series included.',
      registers,
      collect() {
        if (store !== undefined) this.set(store.seriesCount);
      },
    }),
    groupsDeleted: new Counter({
      name: 'lethe_groups_deleted_total',
      help: 'Groups deleted, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    excludedGroups: new Gauge({
      name: 'lethe_scrape_excluded_groups',
      help: 'Groups left out of the scrape because they would make it inconsistent (consistency check disabled).',
      registers,
      collect() {
        if (store !== undefined) this.set(store.excludedCount);
      },
    }),
    persistenceWrites: new Counter({
      name: 'lethe_persistence_writes_total',
      help: 'Batched durable writes (each one fsynced) to the persistence file.',
      registers,
    }),
    persistenceErrors: new Counter({
      name: 'lethe_persistence_errors_total',
      help: 'Failed steps of writing the persistence file, by step (open, write, sync, dirsync, truncate, verify, compact, rename) and error code (ENOSPC, EIO and others).',
      labelNames: ['op', 'code'],
      registers,
    }),
    persistenceFailing: new Gauge({
      name: 'lethe_persistence_failing',
      help: '1 while the persistence file cannot be written (pushes are refused with 503 and /-/ready fails), else 0.',
      registers,
    }),
    persistenceFlushDuration: new Histogram({
      name: 'lethe_persistence_flush_duration_seconds',
      help: 'Time of one batched write and fsync to the persistence file.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    buildInfo: new Gauge({
      name: 'lethe_build_info',
      help: 'Always 1; labels say which Lethe and Node.js are running.',
      labelNames: ['version', 'nodejs_version'],
      registers,
    }),
    heapLimit: new Gauge({
      name: 'lethe_heap_limit_bytes',
      help: "V8's heap limit: half the container's memory limit by default, or node's --max-old-space-size.",
      registers,
    }),
    heapGuard: new Gauge({
      name: 'lethe_heap_guard_bytes',
      help: 'The heap in use after a full collection above which pushes that add series are refused (--limits.heap-share of lethe_heap_limit_bytes); absent when the guard is off.',
      registers,
    }),
    observeStore: (observed) => {
      store = observed;
    },
  };
  metrics.buildInfo.set({ version, nodejs_version: process.versions.node }, 1);
  return metrics;
}
