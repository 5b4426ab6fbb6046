export { F, createLogger, errorFields } from './logger.js';
export type { Component, Logger, LoggerOptions } from './logger.js';
export { createMetrics } from './metrics.js';
export type { Metrics } from './metrics.js';
