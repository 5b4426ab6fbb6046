import { BadRequestError, ErrorCode, messageOf } from '../errors.js';
import type { Label } from './metric.js';

/**
 * A grouping key: the `job` label plus the extra labels of the push URL. Canonical: labels are
 * sorted by name, and an empty `instance` is the same as none (README, "Differences": upstream
 * treats them as two groups with identical series, which wedges it).
 */
export interface GroupingKey {
  /** Sorted by name; includes `job`. */
  readonly labels: readonly Label[];
  /**
   * Canonical string form, unique per key: `name\xffvalue\xff...`, with `\` and `\xff` in values
   * escaped (`\\`, `\xff` spelled out), since `\xff` (ÿ) is a valid character in a value.
   */
  readonly id: string;
}

const SEPARATOR = '\xff';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const BASE64_SUFFIX = '@base64';
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/** Builds a canonical key from label pairs (the job must be among them). */
export function groupingKeyOf(labels: Readonly<Record<string, string>>): GroupingKey {
  const sorted = Object.entries(labels)
    .filter(([name, value]) => !(name === 'instance' && value === ''))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  return { labels: sorted, id: sorted.map((l) => `${l.name}${SEPARATOR}${idValue(l.value)}`).join(SEPARATOR) };
}

/**
 * A value as the id writes it. Without the escape, `a="x\xffb\xffy"` and `a="x",b="y"` would share
 * an id, and a push to one group would replace the other.
 */
function idValue(value: string): string {
  if (!value.includes(SEPARATOR) && !value.includes('\\')) return value;
  return value.replace(/[\\\xff]/g, (c) => (c === '\\' ? '\\\\' : '\\xff'));
}

export function jobOf(key: GroupingKey): string {
  return key.labels.find((l) => l.name === 'job')?.value ?? '';
}

/** `job="backup",instance="a"`: a grouping key as people read it (logs, Events). */
export function describeKey(key: GroupingKey): string {
  return key.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(',');
}

/** Labels of the key as a plain object (for JSON and display). */
export function labelsObject(key: GroupingKey): Record<string, string> {
  return Object.fromEntries(key.labels.map((l) => [l.name, l.value]));
}

/**
 * Decodes the Pushgateway's `@base64` encoding: URL-safe alphabet, any number of trailing `=`
 * stripped first, so padded and unpadded forms both work and `=` alone is the empty string.
 */
export function decodeBase64Segment(encoded: string): string {
  const raw = encoded.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(raw)) {
    const bad = raw.search(/[^A-Za-z0-9_-]/);
    throw new Error(`illegal base64 data at input byte ${bad}`);
  }
  if (raw.length % 4 === 1) throw new Error(`illegal base64 data at input byte ${raw.length - 1}`);
  const bytes = Buffer.from(raw, 'base64url');
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Error('decoded value is not valid UTF-8');
  }
}

/**
 * Parses the grouping key of a push URL from its already percent-decoded parts: the job segment
 * (base64 when the route was `job@base64`) and the rest of the path after it (`""` or `/a/b...`).
 * Mirrors the Pushgateway's order of checks, so the same request gets the same error.
 */
export function parseGroupingKey(jobSegment: string, jobIsBase64: boolean, rest: string): GroupingKey {
  let job = jobSegment;
  if (jobIsBase64) {
    try {
      job = decodeBase64Segment(jobSegment);
    } catch (err) {
      throw new BadRequestError(
        ErrorCode.badGroupingKey,
        `invalid base64 encoding in job name ${JSON.stringify(jobSegment)}: ${messageOf(err)}`,
      );
    }
  }
  const labels: Record<string, string> = {};
  if (rest !== '' && rest !== '/') {
    const pieces = rest.slice(1).split('/');
    if (pieces.length % 2 !== 0) {
      throw new BadRequestError(
        ErrorCode.badGroupingKey,
        `odd number of components in label string ${JSON.stringify(rest.slice(1))}`,
      );
    }
    for (let i = 0; i < pieces.length; i += 2) {
      let name = pieces[i] ?? '';
      let value = pieces[i + 1] ?? '';
      const base64 = name.endsWith(BASE64_SUFFIX);
      if (base64) name = name.slice(0, -BASE64_SUFFIX.length);
      if (!isValidLabelName(name) || name.startsWith('__')) {
        throw new BadRequestError(ErrorCode.badGroupingKey, `improper label name ${JSON.stringify(name)}`);
      }
      if (base64) {
        try {
          value = decodeBase64Segment(value);
        } catch (err) {
          throw new BadRequestError(
            ErrorCode.badGroupingKey,
            `invalid base64 encoding for label ${name}=${JSON.stringify(value)}: ${messageOf(err)}`,
          );
        }
      }
      labels[name] = value;
    }
  }
  if (job === '') throw new BadRequestError(ErrorCode.badGroupingKey, 'job name is required');
  labels['job'] = job;
  return groupingKeyOf(labels);
}
