/**
 * Name escaping for scrapes (the `escaping` parameter of the scrape's Accept header), as
 * prometheus/common's model.EscapeName and EscapeMetricFamily apply it. (The reverse, for the
 * `U__` label names of a push URL, is the grouping key's: model/grouping-key.ts.)
 *
 * - `allow-utf-8`: names as stored; the text formats quote those that are not legacy names.
 * - `underscores` (the default when a scraper names none): every character a legacy name does
 *   not allow becomes `_`.
 * - `dots`: `_` becomes `__`, `.` becomes `_dot_`, any other character not allowed `__`.
 * - `values`: `U__` then the name with `_` doubled and each character not allowed written as
 *   `_<hex code point>_`.
 *
 * As upstream, only names that are not legacy names are escaped (a legacy name is the same
 * under every scheme); label names are judged by the metric-name rule (so `a:b` stays).
 * Exemplar labels are not escaped. Invalid UTF-8 (kept as lone surrogates, see utf8.ts) counts
 * as U+FFFD per byte, as Go's range over a string reads it.
 */

import { PlainFamily, type Label, type Metric, type MetricFamily } from '../model/index.js';
import { isValidLegacyMetricName } from './names.js';

export type EscapingScheme = 'allow-utf-8' | 'underscores' | 'dots' | 'values';

export const ESCAPING_SCHEMES: readonly EscapingScheme[] = ['allow-utf-8', 'underscores', 'dots', 'values'];

/** The scheme a scrape gets when its Accept header names none (upstream's default). */
export const DEFAULT_ESCAPING: EscapingScheme = 'underscores';

const isLegacyChar = (c: number, first: boolean): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || (!first && c >= 0x30 && c <= 0x39);

/** The code points of a name, a lone surrogate (an invalid byte) read as U+FFFD. */
function* codePoints(name: string): Generator<number> {
  for (const ch of name) {
    const c = ch.codePointAt(0) ?? 0xfffd;
    yield c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
  }
}

/** model.EscapeName: one name under a scheme (legacy names included, as that function does). */
export function escapeNameAs(name: string, scheme: EscapingScheme): string {
  if (name === '') return name;
  switch (scheme) {
    case 'allow-utf-8':
      return name;
    case 'underscores': {
      if (isValidLegacyMetricName(name)) return name;
      let out = '';
      let first = true;
      for (const c of codePoints(name)) {
        out += isLegacyChar(c, first) ? String.fromCodePoint(c) : '_';
        first = false;
      }
      return out;
    }
    case 'dots': {
      let out = '';
      let first = true;
      for (const c of codePoints(name)) {
        if (c === 0x5f) out += '__';
        else if (c === 0x2e) out += '_dot_';
        else out += isLegacyChar(c, first) ? String.fromCodePoint(c) : '__';
        first = false;
      }
      return out;
    }
    case 'values': {
      if (isValidLegacyMetricName(name)) return name;
      let out = 'U__';
      let first = true;
      for (const c of codePoints(name)) {
        if (c === 0x5f) out += '__';
        else if (isLegacyChar(c, first)) out += String.fromCodePoint(c);
        else out += `_${c.toString(16)}_`;
        first = false;
      }
      return out;
    }
  }
}

/** A metric or label name as a scrape with `scheme` shows it (EscapeMetricFamily's rule). */
export function escapeName(name: string, scheme: EscapingScheme): string {
  return scheme === 'allow-utf-8' || isValidLegacyMetricName(name) ? name : escapeNameAs(name, scheme);
}

/** True when some name of the family (its own or a label's) is not a legacy name. */
export function familyNeedsEscaping(family: MetricFamily): boolean {
  if (!isValidLegacyMetricName(family.name)) return true;
  // A packed family's labels are read where they are kept, without building its series.
  if (family instanceof PlainFamily) return family.someLabel((label) => !isValidLegacyMetricName(label.name));
  return family.metrics.some(metricNeedsEscaping);
}

export function metricNeedsEscaping(metric: Metric): boolean {
  for (const label of metric.labels) if (!isValidLegacyMetricName(label.name)) return true;
  return false;
}

/** The family with its names escaped for a scrape with `scheme`; the same object when nothing changes. */
export function escapeFamily(family: MetricFamily, scheme: EscapingScheme): MetricFamily {
  if (scheme === 'allow-utf-8') return family;
  const metrics = family.metrics;
  if (isValidLegacyMetricName(family.name) && !metrics.some(metricNeedsEscaping)) return family;
  const escapeLabel = (l: Label): Label => (isValidLegacyMetricName(l.name) ? l : { name: escapeName(l.name, scheme), value: l.value });
  return {
    ...family,
    name: escapeName(family.name, scheme),
    metrics: metrics.map((m) => (metricNeedsEscaping(m) ? { ...m, labels: m.labels.map(escapeLabel) } : m)),
  };
}
