/**
 * Differential test (PUSHGATEWAY.md §11): every section of the request corpus is replayed, in
 * order, against a fresh newest-release Pushgateway (the reference) and a fresh gateway under
 * test. After each request the status codes (and the headers/bodies a row names) must match,
 * then the normalised /metrics and /api/v1/metrics of both must match. The only accepted
 * differences are Lethe's deliberate ones (§10), named by the rows that meet them; such a row
 * asserts Lethe's documented behaviour instead, and checks that upstream really differs.
 *
 * Once the two states differ unexpectedly, later rows of the section compare what each row
 * changed on each gateway, so one early mismatch does not fail every row after it.
 *
 * LETHE_E2E_SUBJECT=pushgateway-1.5 replays the corpus against the older upstream release
 * instead of Lethe, using the rows' `olderRelease` notes (§1.1), to validate the corpus itself.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { isDeepStrictEqual } from 'node:util';
import { eventually } from '../harness/eventually.js';
import {
  corpus,
  differenceTitles,
  type Difference,
  type OlderRelease,
  type RequestRow,
  type Section,
} from '../fixtures/requests/index.js';
import { bodyText, rawRequest, startGateway, subjectKind, type Gateway, type RawResponse } from './gateways.js';
import {
  apiGroupsByKey,
  normaliseApiMetrics,
  normaliseExposition,
  normaliseProtobufExposition,
  statusShape,
  type NormaliseOptions,
} from './normalise.js';

const subject = subjectKind();
/** Flags whose /api/v1/status values must be the same on both gateways. */
const SHARED_FLAGS = ['persistence.file', 'push.disable-consistency-check', 'web.enable-admin-api', 'web.enable-lifecycle'];
const STATE_TIMEOUT_MS = 3_000;
/** Per row: a request may wait up to 5 s for an answer, then up to 3 s for the states to agree. */
const ROW_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 40_000;

interface State {
  readonly scrapeStatus: number;
  readonly metrics?: readonly string[];
  readonly api: unknown;
}

interface SectionContext {
  /** States after the last compared row: [reference, tested]. */
  previous?: readonly [State, State];
  /** The row after which the states first differed unexpectedly. */
  divergedAt?: string;
}

function requestBody(row: RequestRow): Buffer | undefined {
  if (row.body === undefined) return undefined;
  return 'text' in row.body ? Buffer.from(row.body.text, 'utf8') : Buffer.from(row.body.base64, 'base64');
}

function send(gateway: Gateway, row: RequestRow): Promise<RawResponse> {
  const body = requestBody(row);
  return rawRequest(gateway, {
    method: row.method,
    path: row.path,
    ...(row.headers === undefined ? {} : { headers: row.headers }),
    ...(body === undefined ? {} : { body }),
    ...(row.chunked === undefined ? {} : { chunked: row.chunked }),
  });
}

async function scrapeLines(gateway: Gateway, options: NormaliseOptions): Promise<{ status: number; metrics?: string[] }> {
  const res = await rawRequest(gateway, { method: 'GET', path: '/metrics' });
  return res.status === 200 ? { status: 200, metrics: normaliseExposition(bodyText(res), options) } : { status: res.status };
}

async function stateOf(gateway: Gateway, options: NormaliseOptions): Promise<State> {
  const [scrape, api] = await Promise.all([
    scrapeLines(gateway, options),
    rawRequest(gateway, { method: 'GET', path: '/api/v1/metrics' }),
  ]);
  return {
    scrapeStatus: scrape.status,
    ...(scrape.metrics === undefined ? {} : { metrics: scrape.metrics }),
    api: api.status === 200 ? normaliseApiMetrics(JSON.parse(bodyText(api))) : `status ${api.status}`,
  };
}

/** Lines in `a` and not in `b`, counting repeats. */
function minus(a: readonly string[], b: readonly string[]): string[] {
  const left = [...b];
  return a.filter((line) => {
    const i = left.indexOf(line);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** What one row changed in one gateway's state. */
function delta(before: State, after: State): unknown {
  const beforeGroups = apiGroupsByKey(before.api);
  const afterGroups = apiGroupsByKey(after.api);
  return {
    ...(before.scrapeStatus === after.scrapeStatus ? {} : { scrapeStatus: after.scrapeStatus }),
    removedLines: minus(before.metrics ?? [], after.metrics ?? []).sort(),
    addedLines: minus(after.metrics ?? [], before.metrics ?? []).sort(),
    removedGroups: [...beforeGroups.keys()].filter((k) => !afterGroups.has(k)).sort(),
    changedGroups: [...afterGroups].filter(([k, g]) => !isDeepStrictEqual(beforeGroups.get(k), g)).sort(([a], [b]) => (a < b ? -1 : 1)),
  };
}

/** Records a failed expectation (with Jest's diff) instead of stopping the row at the first one. */
function check(failures: string[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    failures.push(err instanceof Error ? err.message : String(err));
  }
}

/** Compares the two gateways' states after a row (see the file comment for the diverged case). */
async function compareStates(ctx: SectionContext, reference: Gateway, tested: Gateway, options: NormaliseOptions, failures: string[]): Promise<void> {
  const previous = ctx.divergedAt === undefined ? undefined : ctx.previous;
  let last: [State, State] | undefined;
  const agrees = (states: [State, State]): boolean =>
    isDeepStrictEqual(states[0], states[1]) ||
    (previous !== undefined && isDeepStrictEqual(delta(previous[0], states[0]), delta(previous[1], states[1])));
  try {
    await eventually(
      async () => {
        last = await Promise.all([stateOf(reference, options), stateOf(tested, options)]);
        return agrees(last);
      },
      { timeout: STATE_TIMEOUT_MS, interval: 50 },
    );
  } catch {
    // reported below
  }
  if (last === undefined) {
    failures.push('could not read the states');
    return;
  }
  ctx.previous = last;
  const [ref, got] = last;
  if (isDeepStrictEqual(ref, got)) {
    delete ctx.divergedAt;
    return;
  }
  if (previous === undefined) {
    ctx.divergedAt ??= 'this row';
    check(failures, () => expect(got).toEqual(ref));
    return;
  }
  const [refDelta, gotDelta] = [delta(previous[0], ref), delta(previous[1], got)];
  if (isDeepStrictEqual(refDelta, gotDelta)) return;
  failures.push(`(states differ since "${ctx.divergedAt ?? '?'}"; comparing only what this row changed)`);
  check(failures, () => expect(gotDelta).toEqual(refDelta));
}

/** For a diverging difference row: Lethe's /metrics must become what the row states. */
async function checkLetheMetrics(tested: Gateway, expected: readonly string[], options: NormaliseOptions, failures: string[]): Promise<void> {
  let last: { status: number; metrics?: string[] } | undefined;
  try {
    await eventually(
      async () => {
        last = await scrapeLines(tested, options);
        return last.status === 200 && isDeepStrictEqual(last.metrics, expected);
      },
      { timeout: STATE_TIMEOUT_MS, interval: 50 },
    );
  } catch {
    // reported below
  }
  check(failures, () => expect(last).toEqual({ status: 200, metrics: expected }));
}

async function checkScrapeStatus(gateway: Gateway, status: number, failures: string[]): Promise<void> {
  let last = 0;
  try {
    await eventually(
      async () => {
        const res = await rawRequest(gateway, { method: 'GET', path: '/metrics' });
        last = res.status;
        return last === status;
      },
      { timeout: STATE_TIMEOUT_MS, interval: 50 },
    );
  } catch {
    failures.push(`the reference's /metrics answered ${last}, the row expects ${status} from upstream`);
  }
}

/** What the Pushgateway answers to /-/quit with the lifecycle API on. */
const QUIT_ANSWER = 'Requesting termination... Goodbye!';

function describeResponse(res: RawResponse): string {
  if (res.status === 0) return `no answer (${res.error ?? 'unknown error'})`;
  return `${res.status} ${JSON.stringify(bodyText(res).slice(0, 300))}`;
}

function compareBodies(row: RequestRow, ref: RawResponse, got: RawResponse, options: NormaliseOptions): void {
  switch (row.sameBody) {
    case undefined:
      return;
    case 'exact':
      expect(bodyText(got)).toBe(bodyText(ref));
      return;
    case 'exposition':
      expect(normaliseExposition(bodyText(got), options)).toEqual(normaliseExposition(bodyText(ref), options));
      return;
    case 'protobuf':
      expect(normaliseProtobufExposition(got.body, options)).toEqual(normaliseProtobufExposition(ref.body, options));
      return;
    case 'api-metrics':
      expect(normaliseApiMetrics(JSON.parse(bodyText(got)))).toEqual(normaliseApiMetrics(JSON.parse(bodyText(ref))));
      return;
    case 'api-status':
      expect(statusShape(JSON.parse(bodyText(got)), SHARED_FLAGS)).toEqual(statusShape(JSON.parse(bodyText(ref)), SHARED_FLAGS));
      return;
    default: {
      const never: never = row.sameBody;
      throw new Error(`unknown comparison ${String(never)}`);
    }
  }
}

function titleOf(row: RequestRow): string {
  const tag = subject === 'lethe' && row.difference !== undefined ? ` [difference ${row.difference.id}: ${differenceTitles[row.difference.id]}]` : '';
  return `${row.name}: ${row.method} ${row.path}${tag}`;
}

async function runRow(ctx: SectionContext, section: Section, reference: Gateway, tested: Gateway, row: RequestRow): Promise<void> {
  const options: NormaliseOptions = { ignoreHelp: new Set(section.unstableHelp ?? []) };
  const difference: Difference | undefined = subject === 'lethe' ? row.difference : undefined;
  const older: OlderRelease | undefined = subject === 'pushgateway-1.5' ? row.olderRelease : undefined;
  const failures: string[] = [];

  const [answered, got] = await Promise.all([send(reference, row), send(tested, row)]);
  // Upstream's /-/quit races its own answer: the process may exit before the response is written
  // (a "socket hang up" now and then on 1.11.3). Lethe is then held to the answer upstream writes
  // when it wins the race (PUSHGATEWAY.md §2.2), with the headers of an ordinary plain-text answer.
  const ref: RawResponse =
    row.stopsGateway === true && answered.status === 0
      ? { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: Buffer.from(QUIT_ANSWER) }
      : answered;

  if (row.difference !== undefined && ref.status !== row.difference.upstreamStatus) {
    failures.push(`the reference answered ${describeResponse(ref)}, the row expects ${row.difference.upstreamStatus} from upstream`);
  }
  const expectedStatus = difference?.lethe.status ?? older?.status ?? ref.status;
  if (got.status !== expectedStatus) {
    failures.push(
      `${subject} answered ${describeResponse(got)}; expected ${expectedStatus}` +
        `${difference === undefined ? '' : ` (difference ${difference.id})`}; the reference answered ${describeResponse(ref)}`,
    );
  } else if (difference !== undefined) {
    for (const [name, want] of Object.entries(difference.lethe.headers ?? {})) {
      check(failures, () => expect(`${name}: ${got.headers[name] ?? '(none)'}`).toBe(`${name}: ${want}`));
    }
  } else {
    for (const name of row.sameHeaders ?? []) {
      const want = older?.headers?.[name] ?? ref.headers[name] ?? '(none)';
      check(failures, () => expect(`${name}: ${got.headers[name] ?? '(none)'}`).toBe(`${name}: ${want}`));
    }
    if (older?.stateDiffers !== true) check(failures, () => compareBodies(row, ref, got, options));
  }

  if (row.stopsGateway === true) {
    await Promise.all([reference.process.wait(), tested.process.wait()]);
  } else {
    if (row.difference?.upstreamScrapeStatus !== undefined) {
      await checkScrapeStatus(reference, row.difference.upstreamScrapeStatus, failures);
    }
    if (difference?.lethe.metrics !== undefined) {
      // An expected divergence: the section's later rows bring the states together again.
      await checkLetheMetrics(tested, difference.lethe.metrics, options, failures);
      delete ctx.previous;
      delete ctx.divergedAt;
    } else if (older?.stateDiffers === true) {
      delete ctx.previous;
      delete ctx.divergedAt;
    } else {
      const wasInSync = ctx.divergedAt === undefined;
      await compareStates(ctx, reference, tested, options, failures);
      if (wasInSync && ctx.divergedAt !== undefined) ctx.divergedAt = row.name;
    }
  }

  if (failures.length > 0) throw new Error(`${row.method} ${row.path}\n\n${failures.join('\n\n')}`);
}

describe(`differential: ${subject} against the newest Pushgateway`, () => {
  const sections = corpus.filter((section) => subject !== 'pushgateway-1.5' || section.newestOnly !== true);
  describe.each(sections.map((section) => ({ section, title: section.name })))('$title', ({ section }) => {
    let reference: Gateway | undefined;
    let tested: Gateway | undefined;
    const ctx: SectionContext = {};

    beforeAll(async () => {
      const [ref, sub] = await Promise.allSettled([startGateway('pushgateway', section.flags), startGateway(subject, section.flags)]);
      if (ref.status === 'fulfilled') reference = ref.value;
      if (sub.status === 'fulfilled') tested = sub.value;
      if (ref.status === 'rejected') throw ref.reason;
      if (sub.status === 'rejected') throw sub.reason;
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      await Promise.all([reference?.stop(), tested?.stop()]);
    }, START_TIMEOUT_MS);

    test.each(section.rows.map((row) => ({ row, title: titleOf(row) })))(
      '$title',
      async ({ row }) => {
        if (reference === undefined || tested === undefined) throw new Error('gateways did not start');
        await runRow(ctx, section, reference, tested, row);
      },
      ROW_TIMEOUT_MS,
    );
  });
});
