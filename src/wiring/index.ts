export { defaultPolicyOf, startLethe } from './start.js';
export type { ClusterOptions, LetheDeps, RunningLethe, Tuning } from './start.js';
