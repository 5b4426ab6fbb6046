export { computeRoutePrefix, helpText, loadConfig } from './load.js';
export type { Config, LoadResult } from './load.js';
export { flagDocs } from './schema.js';
export { formatDuration, parseDuration } from './duration.js';
export { parseOwnerKindName } from './owner-kind-names.js';
export type { OwnerKindName } from './owner-kind-names.js';
export { replicaNamespace, replicaOf } from './replica.js';
export type { Replica, ReplicaFacts } from './replica.js';
