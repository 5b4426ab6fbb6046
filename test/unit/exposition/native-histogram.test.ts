import { describe, expect, test } from '@jest/globals';
import { bucketBound, decodeExtras, decodeProtobufDelimited, nativeBuckets, type NativeHistogram } from '../../../src/exposition/index.js';
import { delimited, type PbMetric } from '../../fixtures/requests/protobuf.js';

describe('bucketBound (Prometheus getBoundExponential)', () => {
  // Expected values: Prometheus' bucket bounds (model/histogram exponentialBounds times 2^exp).
  test.each<[string, number, number, number]>([
    ['schema 0: bucket 0 ends at 1', 0, 0, 1],
    ['schema 0: bucket 1 ends at 2', 1, 0, 2],
    ['schema 0: bucket -1 ends at 0.5', -1, 0, 0.5],
    ['schema 1: bucket 1 ends at √2 (as Prometheus rounds it)', 1, 1, 1.414213562373095],
    ['schema 3: bucket 4 ends at √2', 4, 3, 1.414213562373095],
    ['schema 4: bucket 1', 1, 4, 1.0442737824274138],
    ['schema 8: bucket 1', 1, 8, 1.0027112750502025],
    ['schema 8: bucket 255', 255, 8, 1.9945921121709396],
    ['schema 8: bucket -255', -255, 8, 0.5013556375251013],
    ['schema -1: bucket 1 ends at 4', 1, -1, 4],
    ['schema -4: bucket -1 ends at 2^-16', -1, -4, 2 ** -16],
    ['schema 0: the last finite bucket ends at the largest float', 1024, 0, Number.MAX_VALUE],
    ['schema 0: the bucket after it ends at +Inf', 1025, 0, Infinity],
    ['schema -2: the last finite bucket', 256, -2, Number.MAX_VALUE],
    ['schema 0: bucket -1074 (subnormal)', -1074, 0, 2 ** -1074],
  ])('%s', (_name, index, schema, expected) => {
    expect(bucketBound(index, schema)).toBe(expected);
  });

  test('bounds grow strictly and hit every power of two, in every schema', () => {
    for (let schema = -4; schema <= 8; schema++) {
      const perOctave = 2 ** Math.max(schema, 0);
      for (let i = -3 * perOctave; i < 3 * perOctave; i++) expect(bucketBound(i + 1, schema)).toBeGreaterThan(bucketBound(i, schema));
      if (schema >= 0) for (let k = -3; k <= 3; k++) expect(bucketBound(k * perOctave, schema)).toBe(2 ** k);
    }
  });
});

const native = (n: Partial<NativeHistogram>): NativeHistogram => ({
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  float: false,
  positiveSpans: [],
  positiveCounts: [],
  negativeSpans: [],
  negativeCounts: [],
  ...n,
});

describe('nativeBuckets', () => {
  test('negative buckets from the lowest, the zero bucket, then positive; empty buckets left out', () => {
    const buckets = nativeBuckets(
      native({
        schema: -1,
        zeroThreshold: 0.001,
        zeroCount: 2,
        // Prometheus' own example (float_histogram_test): positive 0..3, negative 0,1 then 3..5.
        positiveSpans: [{ offset: 0, length: 4 }],
        positiveCounts: [100, 522, 68, 0],
        negativeSpans: [
          { offset: 0, length: 2 },
          { offset: 1, length: 3 },
        ],
        negativeCounts: [10, 1264, 184, 791, 33],
      }),
    );
    expect(buckets).toEqual([
      { boundaries: 1, lower: -1024, upper: -256, count: 33 },
      { boundaries: 1, lower: -256, upper: -64, count: 791 },
      { boundaries: 1, lower: -64, upper: -16, count: 184 },
      { boundaries: 1, lower: -4, upper: -1, count: 1264 },
      { boundaries: 1, lower: -1, upper: -0.25, count: 10 },
      { boundaries: 3, lower: -0.001, upper: 0.001, count: 2 },
      { boundaries: 0, lower: 0.25, upper: 1, count: 100 },
      { boundaries: 0, lower: 1, upper: 4, count: 522 },
      { boundaries: 0, lower: 4, upper: 16, count: 68 },
    ]);
  });

  test('spans of length 0 and offsets after a span, as Prometheus iterates them', () => {
    const buckets = nativeBuckets(
      native({
        positiveSpans: [
          { offset: 2, length: 0 },
          { offset: 1, length: 1 },
          { offset: 2, length: 1 },
        ],
        positiveCounts: [1, 2],
      }),
    );
    expect(buckets?.map((b) => [b.lower, b.upper, b.count])).toEqual([
      [4, 8, 1],
      [32, 64, 2],
    ]);
  });

  test('a custom-bucket schema shows no buckets', () => {
    expect(nativeBuckets(native({ schema: -53, positiveSpans: [{ offset: 0, length: 1 }], positiveCounts: [1] }))).toBeUndefined();
  });
});

describe('decodeExtras', () => {
  const metric = (m: PbMetric, type: 'COUNTER' | 'HISTOGRAM' | 'SUMMARY') => {
    const [family] = decodeProtobufDelimited(delimited([{ name: 'x', type, metrics: [m] }]));
    return family?.metrics[0];
  };

  test('a Go-client native histogram: integer deltas summed, spans, zero bucket, created timestamp', () => {
    const m = metric(
      {
        histogram: {
          count: 7,
          sum: 3,
          buckets: [],
          native: { schema: 3, zeroThreshold: 2.938735877055719e-39, zeroCount: 1, positiveSpans: [[-1, 2], [3, 1]], positiveDeltas: [2, 1, -2], negativeSpans: [[0, 1]], negativeDeltas: [1] },
        },
        created: { seconds: 1700000000, nanos: 5 },
      },
      'HISTOGRAM',
    );
    expect(decodeExtras(m?.protobufRest)).toEqual({
      created: { seconds: 1700000000, nanos: 5 },
      native: {
        schema: 3,
        zeroThreshold: 2.938735877055719e-39,
        zeroCount: 1,
        float: false,
        positiveSpans: [
          { offset: -1, length: 2 },
          { offset: 3, length: 1 },
        ],
        positiveCounts: [2, 3, 1],
        negativeSpans: [{ offset: 0, length: 1 }],
        negativeCounts: [1],
      },
    });
  });

  test('a counter: exemplar and created timestamp', () => {
    const m = metric({ counter: 1, exemplar: { labels: { trace_id: 't' }, value: 0.5, timestamp: { seconds: 3 } }, created: { seconds: 2 } }, 'COUNTER');
    expect(decodeExtras(m?.protobufRest)).toEqual({
      exemplar: { labels: [{ name: 'trace_id', value: 't' }], value: 0.5, timestamp: { seconds: 3, nanos: 0 } },
      created: { seconds: 2, nanos: 0 },
    });
  });

  test('a classic histogram: exemplars by bucket position, no native part', () => {
    const m = metric({ histogram: { count: 2, sum: 1, buckets: [[1, 1], [2, 2]], bucketExemplars: [undefined, { labels: { a: 'b' }, value: 1.5 }] } }, 'HISTOGRAM');
    const extras = decodeExtras(m?.protobufRest);
    expect(extras.native).toBeUndefined();
    expect(extras.bucketExemplars).toEqual([undefined, { labels: [{ name: 'a', value: 'b' }], value: 1.5 }]);
  });

  test('a summary: created timestamp', () => {
    expect(decodeExtras(metric({ summary: { count: 1, sum: 1, quantiles: [] }, created: { seconds: 9 } }, 'SUMMARY')?.protobufRest)).toEqual({ created: { seconds: 9, nanos: 0 } });
  });

  test('no bytes, no extras; broken bytes, no extras', () => {
    expect(decodeExtras(undefined)).toEqual({});
    expect(decodeExtras(Uint8Array.of(0x1a, 0x05, 0x09))).toEqual({});
  });
});
