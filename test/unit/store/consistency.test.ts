import { describe, expect, test } from '@jest/globals';
import type { Label, MetricFamily } from '../../../src/model/index.js';
import { ConsistencyIndex, labelsHash } from '../../../src/store/consistency.js';

const gauge = (...values: string[]): MetricFamily => ({
  name: 'm',
  type: 'gauge',
  metrics: values.map((value, i) => ({ labels: [{ name: 'a', value }], value: i })),
});

const check = (family: MetricFamily): string | undefined => new ConsistencyIndex(() => undefined).check('g', new Map([['m', family]]), ['m']);

describe('the duplicate check within a push', () => {
  // Two values whose label hashes meet (found by search): only a comparison tells them apart.
  const [x, y] = ['kbxcywg5', 'cbplu3yd'];
  const labels = (value: string): Label[] => [{ name: 'a', value }];

  test('the two values make one hash', () => {
    expect(labelsHash(labels(x))).toBe(labelsHash(labels(y)));
  });

  test('series whose hashes meet are both stored', () => {
    expect(check(gauge(x, y))).toBeUndefined();
    expect(check(gauge(x, 'other', y, 'more'))).toBeUndefined();
  });

  test.each([
    ['the first of a hash', [x, y, x]],
    ['the second of a hash', [x, y, y]],
    ['a plain repeat', ['p', 'q', 'p']],
  ])('a repeat of %s is refused', (_name, values) => {
    expect(check(gauge(...values))).toMatch(/duplicate series: m\{a=".*"\} is already stored in this push/);
  });

  test('the same labels in two families are not duplicates', () => {
    const index = new ConsistencyIndex(() => undefined);
    const n = { ...gauge('p'), name: 'n' };
    expect(index.check('g', new Map([['m', gauge('p')], ['n', n]]), ['m', 'n'])).toBeUndefined();
  });

  test('many distinct series are stored, one repeat among them is found', () => {
    const values = Array.from({ length: 50_000 }, (_, i) => `/api/v1/items/${i}`);
    expect(check(gauge(...values))).toBeUndefined();
    expect(check(gauge(...values, values[31_337] ?? ''))).toMatch(/items\/31337"\} is already stored in this push/);
  });
});
