import type { Config } from '../config/index.js';
import type { Leadership } from '../leadership/index.js';
import type { Clock, MetricType } from '../model/index.js';
import { F, errorFields, type Logger, type Metrics } from '../observability/index.js';
import {
  LocalGroupStore,
  loadRedis,
  redactRedisUrl,
  type GroupStore,
  type PersistenceFailure,
  type StoreEvents,
  type TornTail,
} from '../store/index.js';
import { fullCollection } from '../idle-collection.js';
import { heapReading } from '../memory-guard.js';
import type { LeaseKind } from './leadership.js';
import { restoreHeapCheck } from './restore-heap.js';

/**
 * Picks and opens the store backend (--store / --store.redis.url). With the Redis store, only the
 * replica that leads serves pushed groups on /metrics. Everything after this sees only the
 * GroupStore port.
 */

export interface OpenStoreDeps {
  readonly clock: Clock;
  readonly ownTypes: ReadonlyMap<string, MetricType>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Which lease picks the leader (for the log line). */
  readonly leaseKind: LeaseKind;
  /** With the Redis store: serves pushed groups while this says so; absent: always. */
  readonly leadership: Leadership | undefined;
}

export type OpenedStore = GroupStore & { readonly excludedCount: number };

export async function openStore(config: Config, deps: OpenStoreDeps): Promise<OpenedStore> {
  const { logger, metrics } = deps;
  const storeLog = logger.child({ [F.component]: 'store' });
  const log = logger.child({ [F.component]: 'main' });
  const events: StoreEvents = {
    onExcluded: (key, reason) => {
      storeLog.warn('Excluded metric group from scrapes', { [F.groupingKey]: key.id, [F.reason]: reason });
    },
    onFlush: (_records, seconds) => {
      metrics.persistenceWrites.inc();
      metrics.persistenceFlushDuration.observe(seconds);
    },
    ...persistenceEvents(config.persistence.file, storeLog, metrics),
  };
  const common = {
    clock: deps.clock,
    ownType: (name: string) => deps.ownTypes.get(name),
    consistencyCheck: config.push.consistencyCheck,
    maxGroups: config.limits.groups,
  };
  if (config.store.backend === 'file') {
    const store = await LocalGroupStore.open({
      ...common,
      persistenceFile: config.persistence.file,
      persistenceRetryMs: config.persistence.retryIntervalMs,
      compactBytes: config.persistence.compactBytes,
      events,
      // Thrown again outside the use that was linking: the composition root stops Lethe on it.
      restoreFits: restoreHeapCheck(heapReading, fullCollection('regular'), (error) => {
        setImmediate(() => {
          throw error;
        });
      }),
    });
    log.info('Opened store', { backend: 'file', groups: store.groupCount, series: store.seriesCount, file: config.persistence.file || undefined });
    return store;
  }

  const { redis } = config.store;
  const where = redactRedisUrl(redis.url);
  const { RedisGroupStore } = await loadRedis();
  const store = await RedisGroupStore.open({
    ...common,
    url: redis.url,
    keyPrefix: redis.keyPrefix,
    timeoutMs: redis.timeoutMs,
    minReplicas: redis.minReplicas,
    ...(deps.leadership === undefined ? {} : { leadership: deps.leadership }),
    events: {
      ...events,
      onConnection: (connected, err) => {
        if (connected) storeLog.info('Connected to Redis', { redis: where });
        else storeLog.warn('Lost connection to Redis', { redis: where, [F.err]: errorFields(err) });
      },
      onResync: (groups, seconds) => storeLog.info('Read the store from Redis', { groups, durationMs: Math.round(seconds * 1000) }),
      onError: (err) => storeLog.warn('Failed to follow the Redis change log', { [F.err]: errorFields(err) }),
      onDataLost: () =>
        storeLog.error('Redis came back without the data it held; check its persistence (appendonly, appendfsync always)', { redis: where }),
    },
  });
  log.info('Opened store', { backend: 'redis', redis: where, groups: store.groupCount, series: store.seriesCount, lease: deps.leaseKind });
  return store;
}

/**
 * The persistence file's log lines and metrics: one line per change of state (error when writes
 * start failing, info when they work again), a count of every failed step, and the torn tail
 * that start-up dropped (warn, with where its bytes were kept).
 */
function persistenceEvents(file: string, log: Logger, metrics: Metrics): StoreEvents {
  metrics.persistenceFailing.set(0);
  const failure = (f: PersistenceFailure): Record<string, unknown> => ({
    [F.file]: file,
    [F.op]: f.op,
    code: f.code,
    [F.reason]: f.message,
    [F.err]: errorFields(f.cause),
  });
  let failingSince: number | undefined;
  return {
    onPersistenceError: (f) => metrics.persistenceErrors.inc({ op: f.op, code: f.code }),
    onPersistenceState: (f) => {
      if (f !== undefined) {
        failingSince = performance.now();
        metrics.persistenceFailing.set(1);
        log.error('Failed to write persistence file', failure(f));
        return;
      }
      metrics.persistenceFailing.set(0);
      const durationMs = failingSince === undefined ? undefined : Math.round(performance.now() - failingSince);
      log.info('Recovered persistence file', { [F.file]: file, [F.durationMs]: durationMs });
    },
    onCompactionFailed: (f) => log.error('Failed to compact persistence file', failure(f)),
    onCompacted: (bytes, seconds) => log.info('Compacted persistence file', { [F.file]: file, [F.bytes]: bytes, [F.durationMs]: Math.round(seconds * 1000) }),
    // Thrown again outside the request that found it: the composition root stops Lethe on it, as at start-up.
    onDamaged: (error) => {
      setImmediate(() => {
        throw error;
      });
    },
    onDropped: (tail: TornTail, keptAt, keepError) => {
      const fields = { [F.file]: file, [F.bytes]: tail.bytes, offset: tail.offset, [F.reason]: tail.why };
      if (keptAt !== undefined) {
        log.warn('Dropped torn tail of persistence file', { ...fields, keptAt });
      } else {
        // Dropped anyway: the bytes were never acknowledged, and Lethe must start.
        log.error('Failed to keep dropped tail of persistence file', { ...fields, [F.err]: errorFields(keepError) });
      }
    },
  };
}
