/**
 * Exposition: pure parsing and rendering of the text format 0.0.4/1.0.0, OpenMetrics text and
 * delimited protobuf, with upstream's (Go) number, name and ordering rules; scrape content
 * negotiation and name escaping.
 */

export { parseText } from './text-parse.js';
export type { TextParseOptions } from './text-parse.js';
export { compareMetrics, compareTimestamps, renderFamily, renderHeader, renderMetric } from './text-render.js';
export {
  OPENMETRICS_EOF,
  formatOpenMetricsFloat,
  formatOpenMetricsTimestamp,
  isCompliantCounter,
  openMetricsFamilyName,
  renderOpenMetricsHeader,
  renderOpenMetricsMetric,
} from './openmetrics-render.js';
export { decodeProtobufDelimited, encodeFamilyDelimited } from './protobuf-delimited.js';
export { dropRedundantProtobuf } from './protobuf-metric-encode.js';
export { decodeExtras, timestampSeconds } from './protobuf-extras.js';
export type { BucketSpan, Exemplar, MetricExtras, NativeHistogram, Timestamp } from './protobuf-extras.js';
export { bucketBound, nativeBuckets } from './native-histogram.js';
export type { NativeBucket } from './native-histogram.js';
export { formatGoFloat, parseGoFloat } from './go-float.js';
export { isValidLegacyLabelName, isValidLegacyMetricName, isValidUtf8Name } from './names.js';
export {
  DEFAULT_ESCAPING,
  ESCAPING_SCHEMES,
  escapeFamily,
  escapeName,
  escapeNameAs,
  familyNeedsEscaping,
} from './escaping.js';
export type { EscapingScheme } from './escaping.js';
export { contentTypeOf, negotiate, parseAccept } from './negotiation.js';
export type { Negotiated, ScrapeFormat } from './negotiation.js';
export { compareUtf8, containsInvalidUtf8, encodeUtf8 } from './utf8.js';
export { sameLabels } from './text-families.js';
