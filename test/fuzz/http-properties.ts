/**
 * The whole HTTP surface under hostile requests. A standalone Lethe (real store with a
 * persistence file) first stores a few "unrelated" groups; then each run sends one to three
 * concurrent random requests: any method, paths built from push routes (neighbours of the
 * unrelated groups included: same job, other labels, values that spell other labels), fixed
 * routes and raw hostile targets, random headers, and bodies that are valid, mutated, garbage,
 * compressed or not, under right and wrong content types. Properties:
 * - no answer is a 5xx, no request fails, nothing is logged at error level;
 * - every so often and at the end: GET /metrics answers 200 and parses (text and protobuf), and
 *   the unrelated groups are unchanged, byte for byte, in /metrics and /api/v1/metrics (push
 *   timestamps included, since nothing touched them), and in the store after a restart from its
 *   persistence file.
 */

import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BadRequestError } from '../../src/errors.js';
import { decodeProtobufDelimited, encodeFamilyDelimited, parseText, renderFamily } from '../../src/exposition/index.js';
import { decodeRequestPath } from '../../src/gateway/request-path.js';
import { parseGroupingKey, type GroupingKey, type MetricFamily } from '../../src/model/index.js';
import type { GroupStore } from '../../src/store/index.js';
import { openLocalStore } from '../harness/stores.js';
import { assertAsyncProperty } from './assert-property.js';
import type { FuzzProperty, FuzzRun } from './budget.js';
import { anyBytes, concat, latin1, utf8 } from './byte-mutations.js';
import { hostileRequestTarget } from './decoder-properties.js';
import { check, outcomeOf } from './outcome.js';
import { hostileProtobufBody, protobufBody } from './protobuf-arbitraries.js';
import { snappyFramed } from './snappy-frames.js';
import { hostileTextBody, textBody } from './text-arbitraries.js';
import { sendablePath, startSurface, type RawRequest, type RawResponse, type Surface } from './http-surface.js';

const PROTOBUF_TYPE = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

interface Sentinel {
  readonly path: string;
  readonly contentType?: string;
  readonly body: Uint8Array;
}

const SENTINEL_JOB = 'sentinel-3f9c2a7e';

/** The unrelated groups: their paths, and the keys they parse to. */
const SENTINELS: readonly Sentinel[] = [
  {
    path: `/metrics/job/${SENTINEL_JOB}/instance/i1`,
    body: utf8(
      '# HELP fuzz_sentinel_total A counter.\n# TYPE fuzz_sentinel_total counter\nfuzz_sentinel_total{path="/a"} 3\n' +
        '# TYPE fuzz_sentinel_seconds summary\nfuzz_sentinel_seconds{quantile="0.5"} 1\nfuzz_sentinel_seconds_sum 2\nfuzz_sentinel_seconds_count 3\n' +
        '# TYPE fuzz_sentinel_bytes histogram\nfuzz_sentinel_bytes_bucket{le="1"} 1\nfuzz_sentinel_bytes_bucket{le="+Inf"} 2\nfuzz_sentinel_bytes_sum 3\nfuzz_sentinel_bytes_count 2\n',
    ),
  },
  {
    path: `/metrics/job@base64/${b64(`${SENTINEL_JOB}/proto`)}/a@base64/${b64('x\xffb\xffc')}`,
    contentType: PROTOBUF_TYPE,
    body: encodeFamilyDelimited({ name: 'fuzz_sentinel_gauge', help: 'A gauge.', type: 'gauge', metrics: [{ labels: [{ name: 'k', value: 'v' }], value: 1.5 }] }),
  },
  // A short job the generator uses too, with labels whose neighbours it builds.
  { path: '/metrics/job/j/a/x/b/c', body: utf8('fuzz_sentinel_untyped{z="1"} -0\nfuzz_shared 1\n') },
];

function pushTarget(rawPath: string): GroupingKey | undefined {
  try {
    const path = decodeRequestPath(rawPath);
    const m = /^\/metrics\/(job|job@base64)\/([^/]*)(\/.*)?$/.exec(path);
    if (m === null) return undefined;
    return parseGroupingKey(m[2] ?? '', m[1] === 'job@base64', m[3] ?? '');
  } catch {
    return undefined;
  }
}

const labelsText = (key: GroupingKey): string => JSON.stringify(key.labels);
const SENTINEL_KEYS: readonly GroupingKey[] = SENTINELS.map((s) => {
  const key = pushTarget(s.path);
  if (key === undefined) throw new Error(`bad sentinel path ${s.path}`);
  return key;
});
const SENTINEL_LABELS = new Set(SENTINEL_KEYS.map(labelsText));

// --- request generators

const pathSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('x', 'c', 'i1', 'j', '', '=', 'ÿ', '%C3%BF', 'x%C3%BFb%C3%BFc', 'x\xffb\xffc', '%2F', 'a%2Fb', '%zz', '.', '..', '+', '%20', '%00') },
  { weight: 2, arbitrary: fc.constantFrom(...['x\xffb\xffc', 'x\xffb', '/', 'x/b/c', '', SENTINEL_JOB, `${SENTINEL_JOB}/proto`, 'c\xffinstance\xffi1'].map((v) => b64(v))) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '_', '-', '.', '%', '=', '@', '+', '~', ';', 'é'), maxLength: 8 }) },
);
const labelName = fc.constantFrom('a', 'b', 'c', 'instance', 'job', '__x', 'le', 'a@base64', 'b@base64', 'instance@base64', '0bad', 'a-b', '');
const jobSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('j', 'x', 'fuzz', SENTINEL_JOB, b64(`${SENTINEL_JOB}/proto`), b64('j')) },
  { weight: 2, arbitrary: pathSegment },
);
const pushPath = fc
  .record({
    route: fc.constantFrom('job', 'job', 'job', 'job@base64', 'JOB', 'jobs'),
    job: jobSegment,
    labels: fc.array(fc.tuple(labelName, pathSegment), { maxLength: 4 }),
    tail: fc.constantFrom('', '', '', '/', '//', '/..', '/.', '?a=1', '#x', '/extra'),
  })
  .map(({ route, job, labels, tail }) => `/metrics/${route}/${job}${labels.map(([n, v]) => `/${n}/${v}`).join('')}${tail}`);
const fixedPath = fc.constantFrom(
  '/metrics', '/metrics/', '/METRICS', '//metrics', '/metrics/job', '/metrics/job/', '/metrics/job@base64/', '/api/v1/metrics', '/api/v1/status',
  '/api/v1/admin/wipe', '/api/v1/', '/api/v1/groups', '/api/v1/x', '/-/healthy', '/-/ready', '/-/quit', '/', '/status', '/static/../../etc/passwd',
  '*', 'metrics', '/%', '/metrics?x=%zz',
);
/** A label in a push path: base64 when asked or when the value cannot be written plainly. */
function pathLabel(name: string, value: string, base64: boolean): string {
  if (name === 'job') return base64 || value.includes('/') ? `/job@base64/${b64(value) || '='}` : `/job/${encodeURIComponent(value)}`;
  return base64 || value.includes('/') || value === '' ? `/${name}@base64/${b64(value) || '='}` : `/${name}/${encodeURIComponent(value)}`;
}

/**
 * Paths of groups next to an unrelated one: a label dropped, added or changed, or two neighbouring
 * labels smuggled into one value (`a="x"`, `b="c"` → `a="x<sep>b<sep>c"`).
 */
const neighbourPath = fc
  .record({
    sentinel: fc.nat(),
    kind: fc.constantFrom('smuggle', 'smuggle', 'drop', 'add', 'change'),
    at: fc.nat(),
    sep: fc.constantFrom('\xff', '\xfe', '\u0000', '/', '='),
    base64: fc.boolean(),
    name: fc.constantFrom('c', 'instance', 'zz', 'a'),
    value: fc.constantFrom('', 'x', 'i1', 'c\xff', '\xff'),
  })
  .map(({ sentinel, kind, at, sep, base64, name, value }) => {
    const key = SENTINEL_KEYS[sentinel % SENTINEL_KEYS.length] ?? SENTINEL_KEYS[0];
    let labels = (key?.labels ?? []).map((l) => ({ ...l }));
    const others = labels.filter((l) => l.name !== 'job');
    const i = others.length === 0 ? 0 : at % others.length;
    const target = others[i];
    if (kind === 'smuggle' && target !== undefined && others[i + 1] !== undefined) {
      const next = others[i + 1];
      labels = labels.filter((l) => l !== next).map((l) => (l === target ? { name: l.name, value: `${l.value}${sep}${next?.name ?? ''}${sep}${next?.value ?? ''}` } : l));
    } else if (kind === 'drop' && target !== undefined) {
      labels = labels.filter((l) => l !== target);
    } else if (kind === 'change' && target !== undefined) {
      target.value = value;
    } else {
      labels = [...labels.filter((l) => l.name !== name), { name, value }];
    }
    const job = labels.find((l) => l.name === 'job')?.value ?? 'j';
    return `/metrics${pathLabel('job', job, base64)}${labels.filter((l) => l.name !== 'job').map((l) => pathLabel(l.name, l.value, base64)).join('')}`;
  });

const requestPath = fc.oneof(
  { weight: 6, arbitrary: pushPath },
  { weight: 3, arbitrary: neighbourPath },
  { weight: 2, arbitrary: fixedPath },
  { weight: 2, arbitrary: hostileRequestTarget },
);

const method = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('PUT', 'POST', 'DELETE', 'GET') },
  { weight: 2, arbitrary: fc.constantFrom('OPTIONS', 'HEAD', 'PATCH', 'PROPFIND', 'MKCOL', 'LOCK') },
);

const contentType = fc.constantFrom(
  'text/plain', 'text/plain; version=0.0.4', PROTOBUF_TYPE, 'application/vnd.google.protobuf', `${PROTOBUF_TYPE}; q=1`,
  'APPLICATION/VND.GOOGLE.PROTOBUF; ENCODING=delimited; PROTO=io.prometheus.client.MetricFamily',
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text', 'application/json', 'multipart/form-data; boundary=x',
  ';;;', '=', 'application/x-www-form-urlencoded', 'text/plain; charset=utf-16', 'application/openmetrics-text; version=1.0.0',
);
const contentEncoding = fc.constantFrom('gzip', 'gzip', 'snappy', 'snappy', 'GZIP', ' gzip', 'Snappy', 'br', 'deflate', 'identity', 'gzip, gzip', 'x');
const accept = fc.constantFrom(
  PROTOBUF_TYPE, 'text/plain', '*/*', `${PROTOBUF_TYPE};q=0.7,text/plain;version=0.0.4;q=0.3`, ';', ',,,', 'application/vnd.google.protobuf; proto', 'application/json',
);

/** Bodies that collide with the unrelated groups: their family names under other types, their series. */
const shadowBody = fc
  .record({
    name: fc.constantFrom('fuzz_sentinel_total', 'fuzz_sentinel_seconds', 'fuzz_sentinel_seconds_count', 'fuzz_sentinel_bytes_bucket', 'fuzz_sentinel_gauge', 'fuzz_sentinel_untyped', 'fuzz_shared', 'push_time_seconds', 'push_failure_time_seconds', 'lethe_groups'),
    type: fc.option(fc.constantFrom('counter', 'gauge', 'summary', 'histogram', 'untyped')),
    help: fc.option(fc.constantFrom('A counter.', 'other help', '')),
    labels: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'job', 'instance', 'path', 'k', 'z', 'le', 'quantile'), fc.constantFrom('x', 'c', 'j', 'i1', '/a', 'v', '1', '', SENTINEL_JOB, '0.5')), { maxLength: 4 }),
    value: fc.constantFrom('1', '3', '-0', 'NaN', '1.5', '+Inf', '1700000000'),
  })
  .map(({ name, type, help, labels, value }) => {
    let out = help === null ? '' : `# HELP ${name} ${help}\n`;
    if (type !== null) out += `# TYPE ${name} ${type}\n`;
    const pairs = labels.map(([n, v]) => `${n}="${v}"`).join(',');
    return utf8(`${out}${name}${pairs === '' ? '' : `{${pairs}}`} ${value}\n`);
  });

/** Families that are valid by construction, to fill the store (text or protobuf). */
const validFamily: fc.Arbitrary<MetricFamily> = fc
  .record({
    name: fc.oneof(fc.constantFrom('fuzz_a', 'fuzz_b_total', 'fuzz_shared', 'fuzz_sentinel_total'), fc.stringMatching(/^fuzz_[a-z]{1,6}$/)),
    help: fc.option(fc.string({ unit: 'grapheme', maxLength: 16 }), { nil: undefined }),
    type: fc.constantFrom('counter' as const, 'gauge' as const, 'untyped' as const),
    metrics: fc.uniqueArray(
      fc.record({ labels: fc.uniqueArray(fc.record({ name: fc.constantFrom('a', 'b', 'path', 'k', 'instance'), value: fc.string({ unit: 'grapheme', maxLength: 8 }) }), { selector: (l) => l.name, maxLength: 3 }), value: fc.double() }),
      { selector: (m) => JSON.stringify(m.labels.map((l) => [l.name, l.value]).sort()), minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ help, ...f }) => (help === undefined ? f : { ...f, help }));
const validBody = fc.tuple(fc.uniqueArray(validFamily, { selector: (f) => f.name, minLength: 1, maxLength: 3 }), fc.boolean()).map(([families, proto]) => ({
  bytes: proto ? concat(...families.map(encodeFamilyDelimited)) : utf8(families.map(renderFamily).join('')),
  proto,
}));

const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 4, arbitrary: textBody },
  { weight: 3, arbitrary: hostileTextBody },
  { weight: 2, arbitrary: protobufBody },
  { weight: 2, arbitrary: hostileProtobufBody },
  { weight: 3, arbitrary: shadowBody },
  { weight: 1, arbitrary: anyBytes() },
);

function framedSnappy(data: Uint8Array): Uint8Array {
  const chunks: { ops: { kind: 'literal'; bytes: Uint8Array }[]; stored: boolean }[] = [];
  for (let at = 0; at < data.length; at += 65536) chunks.push({ ops: [{ kind: 'literal', bytes: data.subarray(at, at + 65536) }], stored: at % 2 === 0 });
  return snappyFramed(chunks).stream;
}

const rawRequest: fc.Arbitrary<RawRequest> = fc
  .record({
    method,
    path: requestPath,
    contentType: fc.option(contentType, { freq: 3 }),
    contentEncoding: fc.option(contentEncoding, { freq: 3 }),
    compress: fc.boolean(),
    accept: fc.option(accept, { freq: 3 }),
    acceptEncoding: fc.option(fc.constantFrom('gzip', 'identity', '*', 'gzip;q=0')),
    authorization: fc.option(fc.constantFrom('Bearer x', 'Basic Zm9vOmJhcg==', `Bearer ${'a'.repeat(4000)}`)),
    body: fc.oneof({ weight: 3, arbitrary: body.map((bytes) => ({ bytes, proto: undefined })) }, { weight: 2, arbitrary: validBody }),
  })
  .map((r) => {
    const headers: Record<string, string> = {};
    const type = r.body.proto === undefined ? r.contentType : r.body.proto ? PROTOBUF_TYPE : 'text/plain; version=0.0.4';
    if (type !== null) headers['content-type'] = type;
    if (r.contentEncoding !== null) headers['content-encoding'] = r.contentEncoding;
    if (r.accept !== null) headers['accept'] = r.accept;
    if (r.acceptEncoding !== null) headers['accept-encoding'] = r.acceptEncoding;
    if (r.authorization !== null) headers['authorization'] = r.authorization;
    const encoding = (r.contentEncoding ?? '').trim().toLowerCase();
    let payload = r.body.bytes;
    if (r.compress && encoding === 'gzip') payload = gzipSync(payload);
    if (r.compress && encoding === 'snappy') payload = framedSnappy(payload);
    return { method: r.method, path: sendablePath(r.path), headers, body: payload };
  });

/** One to three requests sent at once. */
const batch = fc.array(rawRequest, { minLength: 1, maxLength: 3 });

// --- checks

/** The unrelated groups as every view shows them. */
interface Snapshot {
  readonly lines: readonly string[];
  readonly api: readonly unknown[];
  readonly store: readonly unknown[];
}

const OWN = /^(lethe_|process_|nodejs_)/;

async function get(surface: Surface, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const res = await surface.send({ method: 'GET', path, headers, body: new Uint8Array(0) });
  check(res.status === 200, () => `GET ${path} answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
  return res;
}

/** What the store holds for a group: rendered families with their push times. */
function storeView(store: GroupStore, key: GroupingKey): unknown {
  const group = store.get(key);
  if (group === undefined) return undefined;
  const families = [...group.families].map(([name, s]) => [name, renderFamily(s.family), s.pushedAt]).sort();
  return { families, lastPushAt: group.lastPushAt, lastFailureAt: group.lastFailureAt };
}

async function snapshot(surface: Surface): Promise<Snapshot> {
  const text = await get(surface, '/metrics');
  const parsed = outcomeOf('parseText(/metrics)', () => parseText(text.body), [BadRequestError]);
  check(parsed.ok, () => `GET /metrics does not parse: ${parsed.ok ? '' : parsed.error.message}`);
  const proto = await get(surface, '/metrics', { accept: PROTOBUF_TYPE });
  const decoded = outcomeOf('decodeProtobufDelimited(/metrics)', () => decodeProtobufDelimited(proto.body), [BadRequestError]);
  check(decoded.ok, () => `the protobuf scrape does not decode: ${decoded.ok ? '' : decoded.error.message}`);
  const lines = text.body.toString('utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#') && !OWN.test(l));
  const api = JSON.parse((await get(surface, '/api/v1/metrics')).body.toString('utf8')) as { data: { labels: Record<string, string> }[] };
  const sentinelApi = api.data.filter((g) => SENTINEL_LABELS.has(JSON.stringify(Object.entries(g.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value })))));
  return { lines, api: sentinelApi, store: SENTINEL_KEYS.map((k) => storeView(surface.lethe.store, k)) };
}

/** The unrelated groups' lines are all still in the scrape, unchanged, and nothing else changed about them. */
function checkUnchanged(before: Snapshot, now: Snapshot): void {
  const present = new Set(now.lines);
  const missing = before.lines.filter((l) => !present.has(l));
  check(missing.length === 0, () => `unrelated groups changed in /metrics; missing lines:\n${missing.join('\n')}`);
  check(isDeepStrictEqual(before.api, now.api), () => `unrelated groups changed in /api/v1/metrics:\n${JSON.stringify(before.api)}\n${JSON.stringify(now.api)}`);
  check(isDeepStrictEqual(before.store, now.store), () => `unrelated groups changed in the store:\n${JSON.stringify(before.store)}\n${JSON.stringify(now.store)}`);
}

const CHECK_EVERY = 500;
const REQUEST_LIMIT_MS = 5000;

async function sendChecked(surface: Surface, req: RawRequest): Promise<void> {
  const key = pushTarget(req.path);
  // Requests addressing an unrelated group are related: not sent.
  if (key !== undefined && SENTINEL_LABELS.has(labelsText(key))) return;
  const started = performance.now();
  let res: RawResponse;
  try {
    res = await surface.send(req);
  } catch (err) {
    throw new Error(`${req.method} ${req.path} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const took = performance.now() - started;
  check(res.status >= 100 && res.status < 500, () => `${req.method} ${req.path} answered ${res.status}: ${res.body.toString('utf8').slice(0, 500)}\n${surface.errors.map((l) => JSON.stringify(l)).join('\n')}`);
  check(took < REQUEST_LIMIT_MS, () => `${req.method} ${req.path} took ${took.toFixed(0)} ms`);
}

function describeBatch(requests: readonly RawRequest[]): Uint8Array {
  return concat(...requests.map((r) => concat(latin1(`${r.method} ${r.path}\n`), r.body)));
}

async function runSurface(fuzz: FuzzRun, flags: readonly string[]): Promise<string> {
  const surface = await startSurface(flags);
  try {
    for (const [i, s] of SENTINELS.entries()) {
      const res = await surface.send({ method: 'PUT', path: s.path, headers: s.contentType === undefined ? {} : { 'content-type': s.contentType }, body: s.body });
      check(res.status === 200 || res.status === 202, () => `storing unrelated group ${i} answered ${res.status}: ${res.body.toString('utf8')}`);
    }
    const before = await snapshot(surface);
    check(before.store.every((v) => v !== undefined), () => 'an unrelated group was not stored');
    let runs = 0;
    await assertAsyncProperty(fuzz, batch, describeBatch, async (requests) => {
      await Promise.all(requests.map((r) => sendChecked(surface, r)));
      check(surface.errors.length === 0, () => `logged at error level:\n${surface.errors.map((l) => JSON.stringify(l)).join('\n')}`);
      const stored = SENTINEL_KEYS.map((k) => storeView(surface.lethe.store, k));
      check(isDeepStrictEqual(before.store, stored), () => `unrelated groups changed in the store:\n${JSON.stringify(before.store)}\n${JSON.stringify(stored)}`);
      if (++runs % CHECK_EVERY === 0) checkUnchanged(before, await snapshot(surface));
    }, { shrink: false });
    checkUnchanged(before, await snapshot(surface));
    const live = SENTINEL_KEYS.map((k) => storeView(surface.lethe.store, k));
    await surface.lethe.stop();
    const reopened = await openLocalStore({ clock: { now: () => 0 }, maxGroups: 1e9, persistenceFile: surface.persistenceFile });
    try {
      const restored = SENTINEL_KEYS.map((k) => storeView(reopened, k));
      check(isDeepStrictEqual(live, restored), () => `unrelated groups changed across a restart:\n${JSON.stringify(live)}\n${JSON.stringify(restored)}`);
    } finally {
      await reopened.close();
    }
    check(surface.errors.length === 0, () => `logged at error level:\n${surface.errors.map((l) => JSON.stringify(l)).join('\n')}`);
    const spread = [...surface.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
    return `${[...surface.statuses.values()].reduce((a, b) => a + b, 0)} requests: ${spread.join(' ')}`;
  } finally {
    await surface.close();
  }
}

export const httpProperties: readonly FuzzProperty[] = [
  {
    name: 'HTTP surface: no 5xx, unrelated groups unchanged (consistency check on)',
    weight: 10,
    run: (fuzz) => runSurface(fuzz, ['--limits.body-bytes=1048576', '--limits.groups=20000']),
  },
  {
    name: 'HTTP surface: no 5xx, unrelated groups unchanged (consistency check off)',
    weight: 6,
    run: (fuzz) => runSurface(fuzz, ['--limits.body-bytes=1048576', '--push.disable-consistency-check']),
  },
];

