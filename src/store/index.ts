import type * as redis from './redis/index.js';

export type {
  DeleteOptions,
  GroupStore,
  NamespaceGuard,
  NamespaceUsage,
  PushRequest,
  PushResult,
  ScrapeFormat,
  ScrapeToken,
  StoreHealth,
  TextRendering,
  TextPiece,
  DeflatedPiece,
  WipeListener,
} from './group-store.js';
export type { PersistenceFailure } from './journal.js';
export type { PersistenceOp } from './journal-steps.js';
export { LocalGroupStore } from './local-store.js';
export { otherNamespaceError } from './namespaces.js';
export type { LocalStoreOptions, StoreEvents } from './local-store-options.js';
export type { ChangeMeta, StoreChange } from './store-change.js';
export { readJournal } from './persistence.js';
export type { TornTail } from './persistence.js';
export type { RedisGroupStore } from './redis/redis-store.js';
export type { RedisStoreEvents, RedisStoreOptions } from './redis/redis-store-options.js';
export type { RedisLease, RedisLeaseOptions } from './redis/lease.js';
export { isRedisUrl, redactRedisUrl } from './redis/url.js';

/** The Redis store and lease, loaded when Redis is configured: a standalone Lethe never loads ioredis. */
export const loadRedis = (): Promise<typeof redis> => import('./redis/index.js');
