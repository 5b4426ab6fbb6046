/**
 * Metric and label name rules. Legacy names are the classic pattern; with UTF-8 names enabled
 * (the Pushgateway's opt-in), any non-empty valid UTF-8 string is a name.
 */

import { containsInvalidUtf8 } from './utf8.js';

const isLetterOrUnderscore = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** `[a-zA-Z_:][a-zA-Z0-9_:]*` */
export function isValidLegacyMetricName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(isLetterOrUnderscore(c) || c === 0x3a || (i > 0 && isDigit(c)))) return false;
  }
  return true;
}

/** `[a-zA-Z_][a-zA-Z0-9_]*` */
export function isValidLegacyLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(isLetterOrUnderscore(c) || (i > 0 && isDigit(c)))) return false;
  }
  return true;
}

/** A name under the UTF-8 scheme: not empty and valid UTF-8. */
export function isValidUtf8Name(name: string): boolean {
  return name.length > 0 && !containsInvalidUtf8(name);
}
