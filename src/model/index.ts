export type { Bucket, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, Summary } from './metric.js';
export {
  decodeBase64Segment,
  groupingKeyOf,
  isValidLabelName,
  jobOf,
  labelsObject,
  parseGroupingKey,
  unescapeLabelName,
} from './grouping-key.js';
export type { GroupingKey, GroupingKeyOptions } from './grouping-key.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { describeOwner, sameOwner, unattributed } from './owner.js';
export type { Attribution, AttributionSource, ObjectRef, OwnerKind, OwnerRef } from './owner.js';
export {
  PUSH_FAILURE_TIME_HELP,
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_HELP,
  PUSH_TIME_METRIC,
} from './group.js';
export type { GroupView, PushMethod, StoredFamily } from './group.js';
export { DELETION_REASONS, defaultPolicy, mergePolicy } from './policy.js';
export type { Decision, DeletionPolicy, DeletionReason, Policy, PolicyOverrides } from './policy.js';
export type { GroupInsight, GroupInsightSource, PlannedDeletion, PolicySource } from './insight.js';
