/**
 * Exposition: pure parsing and rendering of the text format 0.0.4 and of delimited protobuf,
 * with upstream's (Go) number, name and ordering rules.
 */

export { parseText } from './text-parse.js';
export type { TextParseOptions } from './text-parse.js';
export { compareMetrics, renderFamily, renderHeader, renderMetric } from './text-render.js';
export { decodeProtobufDelimited, encodeFamilyDelimited } from './protobuf-delimited.js';
export { formatGoFloat, parseGoFloat } from './go-float.js';
export { isValidLegacyLabelName, isValidLegacyMetricName } from './names.js';
export { compareUtf8, containsInvalidUtf8, encodeUtf8 } from './utf8.js';
