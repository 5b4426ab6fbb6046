export { LeaderElector } from './elector.js';
export type { LeaderElectorDeps } from './elector.js';
export { defaultLeaseTimings, leaseTimingsOf } from './leadership.js';
export type { LeaseAttempt, LeaseBackend, LeaseTimings, Leadership } from './leadership.js';
