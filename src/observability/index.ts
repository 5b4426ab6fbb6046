export { F, createLogger, errorFields } from './logger.js';
export type { Component, Logger, LoggerOptions } from './logger.js';
export { createMetrics } from './metrics.js';
export type { Metrics } from './metrics.js';
export { createKubeMetrics, createLifecycleMetrics } from './lifecycle-metrics.js';
export type { GroupLabel, KubeMetrics, LifecycleMetrics } from './lifecycle-metrics.js';
export { OWNER_KIND_STATES, createOwnerKindMetrics } from './owner-kind-metrics.js';
export type { OwnerKindMetrics } from './owner-kind-metrics.js';
