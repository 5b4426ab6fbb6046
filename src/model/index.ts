export type { Bucket, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, Summary } from './metric.js';
export { PlainFamily, isPlainType, onlyLabelsAndValue, seriesCount } from './plain-family.js';
export type { PlainType } from './plain-family.js';
export {
  decodeBase64Segment,
  describeKey,
  groupingKeyOf,
  groupingKeyOfPairs,
  isValidLabelName,
  jobOf,
  labelsObject,
  parseGroupingKey,
  unescapeLabelName,
} from './grouping-key.js';
export type { GroupingKey, GroupingKeyOptions } from './grouping-key.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { CRONJOB, JOB, METRICSGROUP, NAMESPACE, POD, describeOwner, isKind, kindKey, sameOwner, sameSchedule, unattributed } from './owner.js';
export type { Attribution, AttributionSource, ObjectKind, ObjectRef, OwnerRef } from './owner.js';
export {
  PUSH_FAILURE_TIME_HELP,
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_HELP,
  PUSH_TIME_METRIC,
} from './group.js';
export type { GroupView, PushMethod, StoredFamily } from './group.js';
export { DELETION_REASONS, HELD_POLICY, defaultPolicy, mergePolicy, resolvePolicy, sameOwnerPolicy } from './policy.js';
export type { DeletionPolicy, DeletionReason, OwnerPolicy, Policy, PolicyOverrides } from './policy.js';
export type { Decision } from './decision.js';
export type { GroupInsight, GroupInsightSource, PlannedDeletion, PolicySource, RunInsight } from './insight.js';
