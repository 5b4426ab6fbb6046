/**
 * The buckets of a native histogram as Prometheus computes them (model/histogram): bucket `i` of
 * schema `s` ends at 2^(i·2^-s), positive buckets are (lower, upper], negative ones [lower, upper),
 * the zero bucket is [-threshold, threshold]. The list has the shape of the Pushgateway's JSON
 * API: non-empty negative buckets from the lowest, the zero bucket when it counts anything, then
 * the non-empty positive buckets; each with a boundary rule (0 `(]`, 1 `[)`, 2 `()`, 3 `[]`).
 */

import type { NativeHistogram, BucketSpan } from './protobuf-extras.js';

export interface NativeBucket {
  /** 0: (lower, upper], 1: [lower, upper), 2: (lower, upper), 3: [lower, upper]. */
  readonly boundaries: 0 | 1 | 2 | 3;
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
}

/** Exponential schemas Prometheus knows (custom-bucket histograms use other numbers). */
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;

/**
 * 2^(2^-s) for s = 0..8 as Go's math.Exp2 computes it. The bounds inside [0.5, 1) are built from
 * these the way client_golang documents for its table: each odd position multiplies its
 * neighbour by the factor, each even one takes the coarser schema's bound, so every bound is the
 * same float64 Prometheus uses.
 */
const FACTORS = [
  2, 1.414213562373095, 1.189207115002721, 1.0905077326652577, 1.0442737824274138, 1.0218971486541166, 1.0108892860517005,
  1.0054299011128027, 1.0027112750502025,
];

function buildBounds(): number[][] {
  const table: number[][] = [];
  let count = 1;
  for (let schema = 0; schema <= MAX_SCHEMA; schema++) {
    const bounds = [0.5];
    const factor = FACTORS[schema] ?? 2;
    for (let j = 0; j < count - 1; j++) {
      bounds.push((j + 1) % 2 === 0 ? (table[schema - 1]?.[(j + 1) / 2] ?? 0) : (bounds[j] ?? 0) * factor);
    }
    table.push(bounds);
    count *= 2;
  }
  return table;
}

const BOUNDS = buildBounds();

/** frac · 2^exp (math.Ldexp), without overflow in the intermediate power. */
function ldexp(frac: number, exp: number): number {
  if (exp > 1023) return frac * 2 ** 1023 * 2 ** (exp - 1023);
  if (exp < -1022) return frac * 2 ** -1022 * 2 ** (exp + 1022);
  return frac * 2 ** exp;
}

/** The upper bound of bucket `index` in an exponential schema (getBoundExponential). */
export function bucketBound(index: number, schema: number): number {
  if (schema < 0) {
    const exp = index * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return ldexp(1, exp);
  }
  const perOctave = 2 ** schema;
  const fracIndex = ((index % perOctave) + perOctave) % perOctave;
  const frac = BOUNDS[schema]?.[fracIndex] ?? 0.5;
  const exp = Math.floor(index / perOctave) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

/** (index, absolute count) of each bucket the spans describe, as Prometheus iterates them. */
function* indexedBuckets(spans: readonly BucketSpan[], counts: readonly number[]): Generator<[number, number]> {
  let at = 0;
  let index = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s];
    if (span === undefined) continue;
    index = s === 0 ? span.offset : index + span.offset;
    for (let k = 0; k < span.length; k++) {
      if (at >= counts.length) return;
      yield [index, counts[at] ?? 0];
      at++;
      if (k < span.length - 1) index++;
    }
    if (span.length > 0) index++;
  }
}

/**
 * The buckets to show, or undefined when the schema is not an exponential one (custom-bucket
 * histograms carry bounds Lethe does not keep).
 */
export function nativeBuckets(h: NativeHistogram): NativeBucket[] | undefined {
  if (!Number.isInteger(h.schema) || h.schema < MIN_SCHEMA || h.schema > MAX_SCHEMA) return undefined;
  const negative: NativeBucket[] = [];
  for (const [index, count] of indexedBuckets(h.negativeSpans, h.negativeCounts)) {
    if (count === 0) continue;
    const lower = -bucketBound(index, h.schema);
    const upper = -bucketBound(index - 1, h.schema);
    negative.push({ boundaries: rule(lower, upper), lower, upper, count });
  }
  const out = negative.reverse();
  if (h.zeroCount !== 0) out.push({ boundaries: 3, lower: -h.zeroThreshold, upper: h.zeroThreshold, count: h.zeroCount });
  for (const [index, count] of indexedBuckets(h.positiveSpans, h.positiveCounts)) {
    if (count === 0) continue;
    const lower = bucketBound(index - 1, h.schema);
    const upper = bucketBound(index, h.schema);
    out.push({ boundaries: rule(lower, upper), lower, upper, count });
  }
  return out;
}

/** Lower inclusive when it is below zero, upper inclusive when above (Prometheus' rule). */
function rule(lower: number, upper: number): 0 | 1 | 2 | 3 {
  const lowerInclusive = lower < 0;
  const upperInclusive = upper > 0;
  if (lowerInclusive) return upperInclusive ? 3 : 1;
  return upperInclusive ? 0 : 2;
}
