export { emptySnapshot } from './cluster-view.js';
export type {
  Annotated,
  ClusterSnapshot,
  ClusterView,
  CronJobInfo,
  GroupSelector,
  JobInfo,
  Leadership,
  MetricsGroupInfo,
  NamespaceInfo,
  Presence,
  SelectorRequirement,
  Tombstone,
  ViewGates,
} from './cluster-view.js';
export { decide, seriesOf } from './decide.js';
export type { DecideInput, GroupOverdue, MetricsGroupReport, Plan } from './decide.js';
export { deletionMessage, describeKey } from './describe.js';
export { LifecycleLoop } from './loop.js';
export type { DeletionBatch, Gate, LifecycleDeps, LifecycleOptions, LifecycleReporter, PassResult } from './loop.js';
export { overdueOf, parseSchedule } from './overdue.js';
export type { OverdueState, Schedule } from './overdue.js';
export { matchesSelector } from './selector.js';
export { staticClusterView } from './static-view.js';
export {
  CRONJOB_KIND,
  DEFAULT_MAX_DEPTH,
  JOB_KIND,
  POD_KIND,
  followedReference,
  groupOfApiVersion,
  ownerChainRules,
  resolveOwnerChain,
} from './owner-chain.js';
export type { ChainEnd, ChainLink, ChainObject, OwnerChain, OwnerChainRules, OwnerKindKey, OwnerReference } from './owner-chain.js';
export type { OwnerKindReport, OwnerKindRole, OwnerKindState, OwnerObjectInfo, OwnerScheduleInfo } from './owner-kinds.js';
