export { builtInOwnerKinds, emptySnapshot } from './cluster-snapshot.js';
export type {
  Annotated,
  ClusterSnapshot,
  ClusterView,
  CronJobInfo,
  GroupSelector,
  JobInfo,
  Lookup,
  MetricsGroupInfo,
  MetricsGroupOwnerRef,
  NamespaceInfo,
  OwnerAnnotations,
  OwnerKindsView,
  OwnerObjectInfo,
  OwnerScheduleInfo,
  PodInfo,
  Presence,
  SelectorRequirement,
  Tombstone,
  ViewGates,
} from './cluster-snapshot.js';
export { decide, seriesOf } from './decide.js';
export type { DecideInput, GroupOverdue, MetricsGroupReport, Plan } from './decide.js';
export { deletionMessage, describeKey } from './describe.js';
export { LifecycleLoop } from './loop.js';
export type { DeletionBatch, Gate, LifecycleDeps, LifecycleOptions, LifecycleReporter, PassResult } from './loop.js';
export { overdueOf, parseSchedule } from './overdue.js';
export type { OverdueState, ParsedSchedule, RunQueue, Schedule, ScheduleTimes } from './overdue.js';
export { matchesSelector } from './selector.js';
export { staticClusterView } from './static-view.js';
export { DEFAULT_MAX_DEPTH, followedReference, groupOfApiVersion, ownerChainRules, resolveOwnerChain } from './owner-chain.js';
export type { ChainEnd, ChainLink, ChainObject, OwnerChain, OwnerChainRules, OwnerReference } from './owner-chain.js';
export type { OwnerKindReport, OwnerKindRole, OwnerKindState } from './owner-kind-reports.js';
