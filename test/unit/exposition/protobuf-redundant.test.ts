import { describe, expect, test } from '@jest/globals';
import { dropRedundantProtobuf } from '../../../src/exposition/index.js';
import type { Metric, MetricType } from '../../../src/model/index.js';

// Kept bytes of a Metric message (after its labels): a value message (field 2 gauge, 3 counter,
// 5 untyped) holding field 1, a double.
const dbl = (v: number): number[] => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  return [0x09, ...new Uint8Array(view.buffer)];
};
const valueMessage = (field: number, body: number[]): Uint8Array => Uint8Array.from([(field << 3) | 2, body.length, ...body]);
const metric = (value: number, rest: Uint8Array, extra: Partial<Metric> = {}): Metric => ({ labels: [], value, protobufRest: rest, ...extra });

describe('dropRedundantProtobuf', () => {
  test.each<[string, MetricType, Metric]>([
    ['a gauge value', 'gauge', metric(1.5, valueMessage(2, dbl(1.5)))],
    ['a counter value', 'counter', metric(7, valueMessage(3, dbl(7)))],
    ['an untyped value', 'untyped', metric(-0.25, valueMessage(5, dbl(-0.25)))],
  ])('drops the bytes of %s alone', (_name, type, m) => {
    expect(dropRedundantProtobuf(type)(m)).toEqual({ labels: [], value: m.value });
  });

  test.each<[string, MetricType, Metric]>([
    ['a NaN (its payload is kept)', 'gauge', metric(NaN, valueMessage(2, dbl(NaN)))],
    ['a value that differs from the bytes', 'gauge', metric(2, valueMessage(2, dbl(1)))],
    ['a value message of another type', 'counter', metric(1, valueMessage(2, dbl(1)))],
    ['a counter with a created timestamp', 'counter', metric(1, valueMessage(3, [...dbl(1), 0x1a, 0x02, 0x08, 0x01]))],
    ['a metric with a timestamp', 'gauge', metric(1, valueMessage(2, dbl(1)), { timestampMs: 5 })],
    ['a summary', 'summary', metric(1, valueMessage(4, dbl(1)))],
  ])('keeps the bytes of %s', (_name, type, m) => {
    expect(dropRedundantProtobuf(type)(m)).toBe(m);
  });
});
