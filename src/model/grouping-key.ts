import { BadRequestError, ErrorCode, messageOf } from '../errors.js';
import type { Label } from './metric.js';

/**
 * A grouping key: the `job` label plus the extra labels of the push URL. Canonical: labels are
 * sorted by name, and an empty `instance` is the same as none (docs/api.md, "Differences": upstream
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
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return keyOfSorted(sorted);
}

/** The key of pairs in canonical order. */
function keyOfSorted(pairs: readonly (readonly [string, string])[]): GroupingKey {
  const labels = pairs.map(([name, value]) => ({ name, value }));
  return { labels, id: labels.map((l) => `${l.name}${SEPARATOR}${idValue(l.value)}`).join(SEPARATOR) };
}

/**
 * The key of [name, value] pairs, as groupingKeyOf would make it. Pairs already in its order
 * (names strictly ascending, no empty `instance`: a key as the persistence file writes it) are
 * taken as they are, without the sort; any others go through groupingKeyOf.
 */
export function groupingKeyOfPairs(pairs: readonly (readonly [string, string])[]): GroupingKey {
  let previous: string | undefined;
  for (const [name, value] of pairs) {
    if ((previous !== undefined && !(previous < name)) || (name === 'instance' && value === '')) return groupingKeyOf(Object.fromEntries(pairs));
    previous = name;
  }
  return keyOfSorted(pairs);
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

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
};

/**
 * The `U__` value encoding of a UTF-8 label name in a push URL (prometheus/common's
 * model.UnescapeName): after the prefix, `__` is `_` and `_<hex>_` a code point. A name without
 * the prefix, or with an invalid sequence (no closing `_`, six or more hex digits, not a Unicode
 * scalar value), is returned as it is.
 */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const escaped = name.slice(3);
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    if (escaped.charCodeAt(i) !== 0x5f) {
      out += escaped[i];
      continue;
    }
    i++;
    if (i >= escaped.length) return name;
    if (escaped.charCodeAt(i) === 0x5f) {
      out += '_';
      continue;
    }
    let value = 0;
    for (let digits = 0; ; digits++, i++) {
      if (i >= escaped.length || digits >= 6) return name;
      const c = escaped.charCodeAt(i);
      if (c === 0x5f) break;
      const h = hexValue(c);
      if (h < 0) return name;
      value = value * 16 + h;
    }
    if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return name;
    out += String.fromCodePoint(value);
  }
  return out;
}

export interface GroupingKeyOptions {
  /**
   * --push.enable-utf8-names: label names may be any non-empty UTF-8 and are `U__`-unescaped
   * first. Default: legacy label names, taken as they are.
   */
  readonly utf8Names?: boolean;
}

/**
 * Parses the grouping key of a push URL from its already percent-decoded parts: the job segment
 * (base64 when the route was `job@base64`) and the rest of the path after it (`""` or `/a/b...`).
 * Mirrors the Pushgateway's order of checks, so the same request gets the same error. One
 * difference: a name that unescapes to a reserved `__` name is refused too (upstream checks only
 * the escaped form, so `U___5f_x` would be the label `__x`).
 */
export function parseGroupingKey(jobSegment: string, jobIsBase64: boolean, rest: string, options: GroupingKeyOptions = {}): GroupingKey {
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
      const raw = pieces[i] ?? '';
      let value = pieces[i + 1] ?? '';
      const base64 = raw.endsWith(BASE64_SUFFIX);
      const trimmed = base64 ? raw.slice(0, -BASE64_SUFFIX.length) : raw;
      const name = options.utf8Names === true ? unescapeLabelName(trimmed) : trimmed;
      const valid = options.utf8Names === true ? name !== '' : isValidLabelName(name);
      if (!valid || trimmed.startsWith('__') || name.startsWith('__')) {
        throw new BadRequestError(ErrorCode.badGroupingKey, `improper label name ${JSON.stringify(trimmed)}`);
      }
      if (base64) {
        try {
          value = decodeBase64Segment(value);
        } catch (err) {
          throw new BadRequestError(
            ErrorCode.badGroupingKey,
            `invalid base64 encoding for label ${trimmed}=${JSON.stringify(value)}: ${messageOf(err)}`,
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
