/**
 * Content negotiation for a scrape: from the Accept header to the format Lethe answers in, the
 * name escaping, and the Content-Type that says both. Prometheus 3 lists its scrape protocols
 * with descending q-values (OpenMetrics 1.0.0 first by default, delimited protobuf first when it
 * scrapes native histograms) and asks for `escaping=allow-utf-8` where a format can carry UTF-8
 * names.
 *
 * Rules (docs/scrape-formats.md has the table):
 * - Clauses are taken by q-value, highest first; among equal q-values a specific media range
 *   before `type/*` before the full wildcard, otherwise in header order. `q=0` refuses a range; a clause
 *   whose q-value does not parse is ignored.
 * - The first clause that names a format Lethe writes wins: delimited protobuf (`proto=` the
 *   MetricFamily message, `encoding=delimited`), OpenMetrics 1.0.0 or 0.0.1 (no version: 0.0.1),
 *   text 1.0.0 or 0.0.4 (no version: 0.0.4). `text/*` and the full wildcard get text 0.0.4. Anything else
 *   (OpenMetrics 2.0.0, the protobuf text encodings, JSON) is passed over.
 * - The escaping is the winning clause's `escaping` parameter when it names a scheme, else
 *   `underscores`. (Upstream takes the last one seen in any clause up to the winner.)
 * - Nothing matched: text 0.0.4 with underscores, never a 406.
 * Media types and parameter names are case-insensitive, parameter values may be quoted.
 */

import { DEFAULT_ESCAPING, ESCAPING_SCHEMES, type EscapingScheme } from './escaping.js';

export type ScrapeFormat = 'text-0.0.4' | 'text-1.0.0' | 'openmetrics-1.0.0' | 'openmetrics-0.0.1' | 'protobuf';

export interface Negotiated {
  readonly format: ScrapeFormat;
  readonly escaping: EscapingScheme;
  /** The response's Content-Type, escaping included. */
  readonly contentType: string;
}

const BASE_CONTENT_TYPE: Readonly<Record<ScrapeFormat, string>> = {
  'text-0.0.4': 'text/plain; version=0.0.4; charset=utf-8',
  'text-1.0.0': 'text/plain; version=1.0.0; charset=utf-8',
  'openmetrics-1.0.0': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  'openmetrics-0.0.1': 'application/openmetrics-text; version=0.0.1; charset=utf-8',
  protobuf: 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
};

export function contentTypeOf(format: ScrapeFormat, escaping: EscapingScheme): string {
  return `${BASE_CONTENT_TYPE[format]}; escaping=${escaping}`;
}

interface Clause {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly params: ReadonlyMap<string, string>;
  readonly order: number;
}

const unquote = (v: string): string => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v);

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

const Q_VALUE = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/;

function parseClause(part: string, order: number): Clause | undefined {
  const [range = '', ...rawParams] = splitOutsideQuotes(part, ';');
  const slash = range.indexOf('/');
  if (slash === -1) return undefined;
  const type = range.slice(0, slash).trim().toLowerCase();
  const subtype = range.slice(slash + 1).trim().toLowerCase();
  if (type === '' || subtype === '' || subtype.includes('/') || (type === '*' && subtype !== '*')) return undefined;
  const params = new Map<string, string>();
  let q = 1;
  for (const raw of rawParams) {
    const eq = raw.indexOf('=');
    if (eq === -1) continue;
    const name = raw.slice(0, eq).trim().toLowerCase();
    const value = unquote(raw.slice(eq + 1).trim());
    if (name === 'q') {
      if (!Q_VALUE.test(value)) return undefined;
      q = Number(value);
    } else {
      params.set(name, value);
    }
  }
  return { type, subtype, q, params, order };
}

const specificity = (c: Clause): number => (c.type === '*' ? 0 : c.subtype === '*' ? 1 : 2);

/** The clauses of an Accept header that accept something, in the order they are tried. */
export function parseAccept(header: string | undefined): Clause[] {
  if (header === undefined) return [];
  const clauses: Clause[] = [];
  splitOutsideQuotes(header, ',').forEach((part, order) => {
    const clause = parseClause(part, order);
    if (clause !== undefined && clause.q > 0) clauses.push(clause);
  });
  return clauses.sort((a, b) => b.q - a.q || specificity(b) - specificity(a) || a.order - b.order);
}

function formatOf(clause: Clause): ScrapeFormat | undefined {
  const version = clause.params.get('version');
  const range = `${clause.type}/${clause.subtype}`;
  switch (range) {
    case 'application/vnd.google.protobuf':
      return clause.params.get('proto') === 'io.prometheus.client.MetricFamily' && clause.params.get('encoding') === 'delimited' ? 'protobuf' : undefined;
    case 'application/openmetrics-text':
      if (version === undefined || version === '0.0.1') return 'openmetrics-0.0.1';
      return version === '1.0.0' ? 'openmetrics-1.0.0' : undefined;
    case 'text/plain':
      if (version === undefined || version === '0.0.4') return 'text-0.0.4';
      return version === '1.0.0' ? 'text-1.0.0' : undefined;
    case 'text/*':
    case '*/*':
      return 'text-0.0.4';
    default:
      return undefined;
  }
}

function escapingOf(clause: Clause): EscapingScheme {
  const asked = clause.params.get('escaping');
  return ESCAPING_SCHEMES.find((s) => s === asked) ?? DEFAULT_ESCAPING;
}

/** What to answer a scrape with this Accept header. */
export function negotiate(accept: string | undefined): Negotiated {
  for (const clause of parseAccept(accept)) {
    const format = formatOf(clause);
    if (format === undefined) continue;
    const escaping = escapingOf(clause);
    return { format, escaping, contentType: contentTypeOf(format, escaping) };
  }
  return { format: 'text-0.0.4', escaping: DEFAULT_ESCAPING, contentType: contentTypeOf('text-0.0.4', DEFAULT_ESCAPING) };
}
