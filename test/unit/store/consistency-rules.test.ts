import { describe, expect, test } from '@jest/globals';
import type { MetricType } from '../../../src/model/index.js';
import { collides, collisionProbes } from '../../../src/store/consistency-rules.js';

describe('collisionProbes', () => {
  test.each<[string, string, MetricType, [string, boolean, MetricType[] | undefined][]]>([
    ['a plain name has none', 'm', 'gauge', []],
    ['_count probes its base for a histogram or summary', 'm_count', 'counter', [['m', true, ['histogram', 'summary']]]],
    ['_sum probes its base for a histogram or summary', 'm_sum', 'gauge', [['m', true, ['histogram', 'summary']]]],
    ['_bucket probes its base for a histogram', 'm_bucket', 'gauge', [['m', true, ['histogram']]]],
    ['a summary probes its _count and _sum', 's', 'summary', [['s_count', false, undefined], ['s_sum', false, undefined]]],
    [
      'a histogram probes its _count, _sum and _bucket',
      'h',
      'histogram',
      [
        ['h_count', false, undefined],
        ['h_sum', false, undefined],
        ['h_bucket', false, undefined],
      ],
    ],
    ['a histogram named like a suffix probes both ways', 'h_sum', 'histogram', [['h', true, ['histogram', 'summary']], ['h_sum_count', false, undefined], ['h_sum_sum', false, undefined], ['h_sum_bucket', false, undefined]]],
  ])('%s', (_name, name, type, probes) => {
    expect(collisionProbes({ name, type }).map((p) => [p.name, p.base, p.collidesWith])).toEqual(probes);
  });
});

describe('collides', () => {
  const [bucketBase] = collisionProbes({ name: 'm_bucket', type: 'gauge' });
  const [histogramCount] = collisionProbes({ name: 'h', type: 'histogram' });
  test.each<[string, MetricType | undefined, boolean]>([
    ['nothing present', undefined, false],
    ['a histogram', 'histogram', true],
    ['a summary', 'summary', false],
    ['a gauge histogram', 'gaugehistogram', false],
  ])('an _bucket family with %s under its base name: %s', (_name, present, expected) => {
    expect(bucketBase === undefined ? undefined : collides(bucketBase, present)).toBe(expected);
  });
  test.each<[MetricType | undefined, boolean]>([
    [undefined, false],
    ['gauge', true],
    ['untyped', true],
  ])('a histogram with %s under its _count name: %s', (present, expected) => {
    expect(histogramCount === undefined ? undefined : collides(histogramCount, present)).toBe(expected);
  });
});
