/**
 * The sizes of a run and the rows of `make bench`, in table order, each with Lethe's targets
 * (docs/benchmarks.md, "Targets", says how they were chosen). The targets are written as
 * given; every other row keeps the ratio (or, Lethe-only, the figure) of the run of 2026-11-25
 * with room for a noisy shared machine.
 */
import type { BodyFormat } from './bodies.js';
import { largeFamilies, smallFamilies } from './bodies.js';
import type { Results } from './report.js';
import { atLeast, atMost, atMostValue, type Target } from './targets.js';

export interface Sizes {
  readonly pushWarmupMs: number;
  readonly pushMeasureMs: number;
  /** Turns each gateway takes at each push row (push-phase.ts). */
  readonly pushRounds: number;
  readonly pushGroups: number;
  /** Groups of 10 series at the first, middle and second scale level. */
  readonly smallGroups: number;
  readonly midGroups: number;
  readonly manyGroups: number;
  /** Groups of BIG_FAMILIES × BIG_PER_FAMILY series added for the largest level. */
  readonly bigGroups: number;
  readonly bigFamilies: number;
  readonly bigPerFamily: number;
  readonly restarts: number;
  readonly scrapes: number;
  /** Series stored at each level. */
  readonly levels: { readonly few: number; readonly mid: number; readonly many: number; readonly big: number };
}

export function sizesFor(quick: boolean): Sizes {
  const smallGroups = quick ? 100 : 1_000;
  const midGroups = quick ? 400 : 4_000;
  const manyGroups = quick ? 1_000 : 10_000;
  const bigGroups = quick ? 18 : 180;
  const bigFamilies = 50;
  const bigPerFamily = 100;
  return {
    pushWarmupMs: quick ? 100 : 300,
    pushMeasureMs: quick ? 500 : 2_000,
    pushRounds: quick ? 1 : 2,
    pushGroups: 16,
    smallGroups,
    midGroups,
    manyGroups,
    bigGroups,
    bigFamilies,
    bigPerFamily,
    restarts: 3,
    scrapes: 10,
    levels: { few: smallGroups * 10, mid: midGroups * 10, many: manyGroups * 10, big: manyGroups * 10 + bigGroups * bigFamilies * bigPerFamily },
  };
}

export const count = (n: number): string => n.toLocaleString('en-US');

export const pushSizes = [
  { id: 'small', title: '10 series', families: smallFamilies },
  { id: 'large', title: '5,000 series', families: largeFamilies },
] as const;
export const pushFormats: readonly BodyFormat[] = ['text', 'protobuf'];
export const pushConcurrencies = [1, 16] as const;

/** Push targets by row id stem: [throughput ≥, p50 ≤, p99 ≤] as ratios. */
const PUSH_TARGETS: Readonly<Record<string, readonly [number, number, number]>> = {
  'small.text.c1': [1.6, 0.56, 1.0],
  'small.text.c16': [3.4, 0.23, 0.81],
  'small.protobuf.c1': [2.0, 0.5, 0.78],
  'small.protobuf.c16': [4.2, 0.23, 0.35],
  'large.text.c1': [3.8, 0.23, 0.38],
  'large.text.c16': [5.9, 0.24, 0.42],
  'large.protobuf.c1': [3.0, 0.29, 0.48],
  'large.protobuf.c16': [3.7, 0.35, 0.66],
};

/** Same series, same text: the size of a scrape stays the Pushgateway's within 5%. */
const SAME_SIZE = [atMost(1.05)];

export function defineRows(results: Results, sizes: Sizes): void {
  const { levels } = sizes;
  for (const size of pushSizes) {
    for (const format of pushFormats) {
      for (const c of pushConcurrencies) {
        const what = `PUT ${size.title}, ${format}, concurrency ${c}`;
        const id = `push.${size.id}.${format}.c${c}`;
        const [rps = 1, p50 = 1, p99 = 1] = PUSH_TARGETS[`${size.id}.${format}.c${c}`] ?? [];
        results.define({ id: `${id}.rps`, metric: `${what}: throughput`, unit: 'req/s', better: 'higher', targets: [atLeast(rps)] });
        results.define({ id: `${id}.p50`, metric: `${what}: p50`, unit: 'ms', better: 'lower', targets: [atMost(p50)] });
        results.define({ id: `${id}.p99`, metric: `${what}: p99`, unit: 'ms', better: 'lower', targets: [atMost(p99)] });
      }
    }
  }
  const scale = (id: string, metric: string, unit: 'ms' | 'bytes' | 'B/series', targets: readonly Target[]): void =>
    results.define({ id: `scale.${id}`, metric, unit, better: 'lower', targets });
  const groups = (n: number): string => `${count(n)} groups × 10 series`;
  scale('scrape.few.ms', `GET /metrics, ${groups(sizes.smallGroups)}: latency`, 'ms', [atMost(0.39)]);
  scale('scrape.few.bytes', `GET /metrics, ${groups(sizes.smallGroups)}: size`, 'bytes', SAME_SIZE);
  scale('memory.mid.rss', `resident memory with ${count(levels.mid)} series stored`, 'bytes', [atMost(1.0)]);
  scale('memory.many.rss', `resident memory with ${count(levels.many)} series stored`, 'bytes', [atMost(1.0)]);
  scale('memory.many.per', `resident memory per series, ${count(levels.many)} series stored (over the empty gateway)`, 'B/series', [atMost(0.7)]);
  scale('scrape.many.ms', `GET /metrics, ${groups(sizes.manyGroups)}: latency`, 'ms', [atMost(0.11)]);
  scale('scrape.many.bytes', `GET /metrics, ${groups(sizes.manyGroups)}: size`, 'bytes', SAME_SIZE);
  scale('gzip.many.ms', `GET /metrics with Accept-Encoding: gzip, ${groups(sizes.manyGroups)}: latency`, 'ms', [atMost(0.25)]);
  scale('gzip.many.bytes', `GET /metrics with Accept-Encoding: gzip, ${groups(sizes.manyGroups)}: size`, 'bytes', [atMost(1.5)]);
  scale('scrape.pushed.ms', `GET /metrics right after a push of one group, ${groups(sizes.manyGroups)}: latency`, 'ms', [atMost(0.2)]);
  scale('memory.many.scraped', `resident memory per series, ${count(levels.many)} series, after ${2 * sizes.scrapes + 1} scrapes`, 'B/series', [atMost(2.1)]);
  scale('restart.many.ms', `restart: start to ready with ${count(levels.many)} persisted series`, 'ms', [atMost(1.0)]);
  scale('memory.many.restarted', `resident memory per series, ${count(levels.many)} series, after a restart`, 'B/series', [atMost(2.9)]);
  scale('put.many.ms', `PUT 10 series into a store of ${count(levels.many)} series (check on): p50`, 'ms', [atMost(0.009)]);
  scale('scrape.big.ms', `GET /metrics, ${count(levels.big)} series: latency`, 'ms', [atMostValue(150), atMost(0.1)]);
  scale('scrape.big.bytes', `GET /metrics, ${count(levels.big)} series: size`, 'bytes', SAME_SIZE);
  scale('memory.big.per', `resident memory per series, ${count(levels.big)} series stored`, 'B/series', [atMost(1.9)]);
  scale('memory.big.scraped', `resident memory per series, ${count(levels.big)} series, after 4 scrapes`, 'B/series', [atMost(1.3)]);
  scale('restart.big.ms', `restart: start to ready with ${count(levels.big)} persisted series`, 'ms', [atMost(4.0)]);
  scale('put.big.ms', `PUT 10 series into a store of ${count(levels.big)} series (check on): p50`, 'ms', [atMost(0.0062)]);
  scale('burst.big.p50', `16 concurrent PUTs of 10 series into ${count(levels.big)} series (check on): p50`, 'ms', [atMost(0.0018)]);
  scale('burst.big.max', `16 concurrent PUTs of 10 series into ${count(levels.big)} series (check on): slowest`, 'ms', [atMost(0.00096)]);

  const forget = (id: string, metric: string, bound: number): void =>
    results.define({ id: `forget.${id}`, metric, unit: 'ms', better: 'lower', letheOnly: true, targets: [atMostValue(bound)] });
  const pass = 'one lifecycle pass, 10,000 Jobs and 10,000 groups';
  forget('p50', 'forgetting: Job deleted → series gone from /metrics, p50', 250);
  forget('p99', 'forgetting: Job deleted → series gone from /metrics, p99', 300);
  forget('max', 'forgetting: Job deleted → series gone from /metrics, slowest', 300);
  forget('pass', `${pass}: decide(), median`, 80);
  forget('pass.loop', `${pass}: whole loop pass, median`, 110);
  forget('pass.cluster', `${pass}: running Lethe on the control plane, median`, 36);
  forget('loaded.p50', 'forgetting with 10,000 Jobs and groups present, p50', 390);
  forget('loaded.max', 'forgetting with 10,000 Jobs and groups present, slowest', 830);
}

/** The rows of the forgetting phase (bench/forgetting.ts fills them). */
export const FORGET_ROWS = ['forget.p50', 'forget.p99', 'forget.max', 'forget.pass', 'forget.pass.loop', 'forget.pass.cluster', 'forget.loaded.p50', 'forget.loaded.max'] as const;
