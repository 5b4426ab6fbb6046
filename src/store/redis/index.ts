/**
 * The Redis store and lease. Loaded by store/index.ts's loadRedis() only when Redis is configured,
 * so that a standalone Lethe never loads ioredis.
 */
export { RedisGroupStore } from './redis-store.js';
export { RedisLease } from './lease.js';
