/**
 * Turns what a gateway answers into a form two gateways can be compared in:
 * - /metrics text: each gateway's own series dropped (pushgateway_*, go_*, process_*, lethe_*,
 *   nodejs_* without a `job` label; pushed series always carry one), HELP of those families
 *   dropped (the gateway replaces it with its own), push timestamps masked to zero / non-zero;
 *   families, types, series and their order kept;
 * - protobuf scrapes: decoded into the same kind of lines;
 * - /api/v1/metrics: groups sorted, family time stamps and push timestamps masked.
 */
import { decodeDelimited, type DecodedFamily, type DecodedMetric } from '../fixtures/requests/protobuf.js';

const OWN_PREFIXES = ['pushgateway_', 'go_', 'process_', 'lethe_', 'nodejs_'] as const;
const PUSH_TIME_FAMILIES: ReadonlySet<string> = new Set(['push_time_seconds', 'push_failure_time_seconds']);

/** Value shown instead of a non-zero push timestamp. */
export const NONZERO_TIME = '<time>';
/** Value shown instead of a parseable `time_stamp` in /api/v1/metrics. */
export const MASKED_TIME_STAMP = '<time_stamp>';

export interface NormaliseOptions {
  /** Families whose HELP is not compared (conflicting HELP across groups picks one at random). */
  readonly ignoreHelp?: ReadonlySet<string>;
}

const isOwnFamily = (name: string): boolean => OWN_PREFIXES.some((p) => name.startsWith(p));

const maskTime = (value: string): string => (Number(value) === 0 ? '0' : NONZERO_TIME);

interface Sample {
  readonly name: string;
  readonly labels: readonly (readonly [string, string])[];
  /** The label block exactly as printed, `{...}` or empty. */
  readonly labelText: string;
  readonly rest: string;
}

function unescapeLabelValue(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses one sample line of a gateway's own output (well-formed text format 0.0.4). */
export function parseSample(line: string): Sample {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace === -1 || (space !== -1 && space < brace)) {
    return { name: line.slice(0, space), labels: [], labelText: '', rest: line.slice(space + 1) };
  }
  const name = line.slice(0, brace);
  const labels: [string, string][] = [];
  let i = brace + 1;
  for (;;) {
    if (line[i] === '}') break;
    const eq = line.indexOf('=', i);
    const labelName = line.slice(i, eq);
    let j = eq + 2; // skip ="
    let raw = '';
    while (line[j] !== '"') {
      if (line[j] === '\\') {
        raw += line.slice(j, j + 2);
        j += 2;
      } else {
        raw += line[j] ?? '';
        j += 1;
      }
      if (j > line.length) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
    }
    labels.push([labelName, unescapeLabelValue(raw)]);
    i = j + 1;
    if (line[i] === ',') i += 1;
  }
  return { name, labels, labelText: line.slice(brace, i + 1), rest: line.slice(i + 2) };
}

interface Family {
  readonly name: string;
  help?: string;
  type?: string;
  readonly samples: string[];
}

function render(families: readonly Family[], options: NormaliseOptions): string[] {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    const own = isOwnFamily(f.name);
    if (f.help !== undefined && !own && options.ignoreHelp?.has(f.name) !== true) lines.push(`# HELP ${f.name} ${f.help}`);
    lines.push(`# TYPE ${f.name} ${f.type ?? '(none)'}`);
    lines.push(...f.samples);
  }
  return lines;
}

/** Normalised lines of a text-format /metrics body. */
export function normaliseExposition(text: string, options: NormaliseOptions = {}): string[] {
  const families: Family[] = [];
  let current: Family | undefined;
  const familyNamed = (name: string): Family => {
    if (current?.name !== name) {
      current = { name, samples: [] };
      families.push(current);
    }
    return current;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta !== null) {
      const family = familyNamed(meta[2] ?? '');
      if (meta[1] === 'HELP') family.help = meta[3] ?? '';
      else family.type = meta[3] ?? '';
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line);
    const family = current ?? familyNamed(sample.name);
    if (isOwnFamily(family.name) && !sample.labels.some(([n]) => n === 'job')) continue;
    const value = PUSH_TIME_FAMILIES.has(family.name) ? maskTime(sample.rest) : sample.rest;
    family.samples.push(`${sample.name}${sample.labelText} ${value}`);
  }
  return render(families, options);
}

const fmt = (v: number | bigint): string => (typeof v === 'bigint' ? v.toString() : Object.is(v, -0) ? '-0' : String(v));

function renderMetric(family: DecodedFamily, m: DecodedMetric): string {
  const labels = `{${m.labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(',')}}`;
  const parts: string[] = [];
  if (m.value !== undefined) {
    parts.push(PUSH_TIME_FAMILIES.has(family.name) ? maskTime(String(m.value)) : fmt(m.value));
  }
  if (m.summary !== undefined) {
    parts.push(`count=${fmt(m.summary.count)} sum=${fmt(m.summary.sum)}`);
    for (const [q, v] of m.summary.quantiles) parts.push(`q${fmt(q)}=${fmt(v)}`);
  }
  if (m.histogram !== undefined) {
    parts.push(`count=${fmt(m.histogram.count)} sum=${fmt(m.histogram.sum)}`);
    for (const [ub, c] of m.histogram.buckets) parts.push(`le${fmt(ub)}=${fmt(c)}`);
  }
  if (m.timestampMs !== undefined) parts.push(`@${m.timestampMs.toString()}`);
  return `${family.name}${labels} ${parts.join(' ')}`;
}

/** Normalised lines of a delimited-protobuf /metrics body. */
export function normaliseProtobufExposition(body: Buffer, options: NormaliseOptions = {}): string[] {
  const families: Family[] = decodeDelimited(body).map((f) => {
    const own = isOwnFamily(f.name);
    const samples = f.metrics
      .filter((m) => !own || m.labels.some(([n]) => n === 'job'))
      .map((m) => renderMetric(f, m));
    return f.help === undefined ? { name: f.name, type: f.type, samples } : { name: f.name, help: f.help, type: f.type, samples };
  });
  return render(families, options);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function maskFamily(name: string, family: unknown): unknown {
  if (!isRecord(family)) return family;
  const out: Record<string, unknown> = { ...family };
  const ts = family['time_stamp'];
  if (typeof ts === 'string' && !Number.isNaN(Date.parse(ts))) out['time_stamp'] = MASKED_TIME_STAMP;
  const metrics = family['metrics'];
  if (PUSH_TIME_FAMILIES.has(name) && Array.isArray(metrics)) {
    out['metrics'] = metrics.map((m: unknown) =>
      isRecord(m) && typeof m['value'] === 'string' ? { ...m, value: maskTime(m['value']) } : m,
    );
  }
  return out;
}

export const stableKey = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );

/**
 * The /api/v1/metrics document with group order made canonical (upstream's is random), each
 * family's `time_stamp` and the push timestamps masked. Anything unexpected is kept as it is,
 * so a shape difference shows up in the comparison.
 */
export function normaliseApiMetrics(doc: unknown): unknown {
  if (!isRecord(doc) || !Array.isArray(doc['data'])) return doc;
  const groups = (doc['data'] as unknown[]).map((group) => {
    if (!isRecord(group)) return group;
    return Object.fromEntries(
      Object.entries(group).map(([key, value]) =>
        key === 'labels' || key === 'last_push_successful' ? [key, value] : [key, maskFamily(key, value)],
      ),
    );
  });
  groups.sort((a, b) => {
    const ka = stableKey(isRecord(a) ? a['labels'] : a);
    const kb = stableKey(isRecord(b) ? b['labels'] : b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return { ...doc, data: groups };
}

/** Keys Lethe adds to /api/v1/status' data (docs/api.md, "Differences from the Pushgateway"). */
const LETHE_STATUS_KEYS = new Set(['store']);

/** The keys of /api/v1/status (without Lethe's additions), and the values of the flags both gateways know. */
export function statusShape(doc: unknown, flags: readonly string[]): unknown {
  if (!isRecord(doc) || !isRecord(doc['data'])) return doc;
  const data = doc['data'];
  const build = data['build_information'];
  const flagValues = data['flags'];
  return {
    keys: Object.keys(doc).sort(),
    status: doc['status'],
    dataKeys: Object.keys(data)
      .filter((k) => !LETHE_STATUS_KEYS.has(k))
      .sort(),
    buildInformationKeys: isRecord(build) ? Object.keys(build).sort() : build,
    buildInformationValuesAreStrings: isRecord(build) && Object.values(build).every((v) => typeof v === 'string'),
    flags: isRecord(flagValues) ? Object.fromEntries(flags.map((f) => [f, flagValues[f]])) : flagValues,
    flagValuesAreStrings: isRecord(flagValues) && Object.values(flagValues).every((v) => typeof v === 'string'),
    startTimeParses: typeof data['start_time'] === 'string' && !Number.isNaN(Date.parse(data['start_time'])),
  };
}

/** The groups of a normalised /api/v1/metrics document, keyed by their grouping labels. */
export function apiGroupsByKey(doc: unknown): Map<string, unknown> {
  const groups = new Map<string, unknown>();
  if (!isRecord(doc) || !Array.isArray(doc['data'])) return groups;
  for (const group of doc['data'] as unknown[]) groups.set(stableKey(isRecord(group) ? group['labels'] : group), group);
  return groups;
}
