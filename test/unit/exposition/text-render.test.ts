import { describe, expect, test } from '@jest/globals';
import { compareMetrics, parseText, renderFamily, renderHeader, renderMetric } from '../../../src/exposition/index.js';
import type { Label, Metric, MetricFamily, MetricType } from '../../../src/model/index.js';

const labels = (pairs: Record<string, string> = {}): Label[] => Object.entries(pairs).map(([name, value]) => ({ name, value }));

describe('renderHeader', () => {
  test.each<[string, string, string | undefined, MetricType, string]>([
    ['no HELP line without help', 'x', undefined, 'counter', '# TYPE x counter\n'],
    ['an empty help keeps its trailing space', 'x', '', 'gauge', '# HELP x \n# TYPE x gauge\n'],
    ['help escapes backslash and newline, not quotes', 'x', 'a\\b\nc"d', 'untyped', '# HELP x a\\\\b\\nc"d\n# TYPE x untyped\n'],
    ['summary', 'x', 'h', 'summary', '# HELP x h\n# TYPE x summary\n'],
    ['histogram', 'x', undefined, 'histogram', '# TYPE x histogram\n'],
    ['a gauge histogram is written as histogram', 'x', undefined, 'gaugehistogram', '# TYPE x histogram\n'],
    ['a name that is not a legacy name is quoted', 'a.b', 'h', 'gauge', '# HELP "a.b" h\n# TYPE "a.b" gauge\n'],
  ])('%s', (_name, name, help, type, expected) => {
    expect(renderHeader(name, help, type)).toBe(expected);
  });
});

describe('renderMetric', () => {
  test.each<[string, string, MetricType, Metric, string]>([
    ['a counter without labels', 'x', 'counter', { labels: [], value: 1 }, 'x 1\n'],
    ['a gauge with labels in the order given', 'x', 'gauge', { labels: labels({ z: '1', a: '2' }), value: -0.5 }, 'x{z="1",a="2"} -0.5\n'],
    ['an untyped value written the Go way', 'x', 'untyped', { labels: [], value: 1e6 }, 'x 1e+06\n'],
    ['empty label values are written', 'x', 'gauge', { labels: labels({ instance: '', job: 'j' }), value: 0 }, 'x{instance="",job="j"} 0\n'],
    ['label values escape backslash, quote and newline', 'x', 'gauge', { labels: labels({ a: 'q"b\\n\n' }), value: 1 }, 'x{a="q\\"b\\\\n\\n"} 1\n'],
    ['UTF-8 label values are written as they are', 'x', 'gauge', { labels: labels({ a: 'Π✓' }), value: 1 }, 'x{a="Π✓"} 1\n'],
    ['special values', 'x', 'gauge', { labels: [], value: -Infinity }, 'x -Inf\n'],
    ['a timestamp after the value', 'x', 'counter', { labels: [], value: 2, timestampMs: -1234 }, 'x 2 -1234\n'],
    ['a metric name that is not a legacy name goes inside the braces', 'a.b', 'gauge', { labels: labels({ c: 'd' }), value: 1 }, '{"a.b",c="d"} 1\n'],
    ['the same without labels', 'a.b', 'gauge', { labels: [], value: 1 }, '{"a.b"} 1\n'],
    ['a label name that is not a legacy name is quoted', 'x', 'gauge', { labels: labels({ 'a.b': 'c' }), value: 1 }, 'x{"a.b"="c"} 1\n'],
    [
      'a summary: quantiles with the quantile label last, then _sum and _count',
      'rpc',
      'summary',
      { labels: labels({ job: 'j' }), summary: { sampleCount: 7, sampleSum: 1.5e-7, quantiles: [{ quantile: 0.5, value: 1 }, { quantile: 0.99, value: NaN }] } },
      'rpc{job="j",quantile="0.5"} 1\nrpc{job="j",quantile="0.99"} NaN\nrpc_sum{job="j"} 1.5e-07\nrpc_count{job="j"} 7\n',
    ],
    [
      'a summary without labels or quantiles',
      's',
      'summary',
      { labels: [], summary: { sampleCount: 0, sampleSum: 0, quantiles: [] } },
      's_sum 0\ns_count 0\n',
    ],
    [
      'a histogram: buckets with le last, a +Inf bucket added, then _sum and _count',
      'h',
      'histogram',
      { labels: labels({ a: 'b' }), histogram: { sampleCount: 3, sampleSum: 4.5, buckets: [{ upperBound: 0.005, cumulativeCount: 1 }, { upperBound: 1e6, cumulativeCount: 2 }] } },
      'h_bucket{a="b",le="0.005"} 1\nh_bucket{a="b",le="1e+06"} 2\nh_bucket{a="b",le="+Inf"} 3\nh_sum{a="b"} 4.5\nh_count{a="b"} 3\n',
    ],
    [
      'a histogram that has its +Inf bucket gets no second one',
      'h',
      'histogram',
      { labels: [], histogram: { sampleCount: 3, sampleSum: 1, buckets: [{ upperBound: Infinity, cumulativeCount: 2 }] } },
      'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    ],
    [
      'a native-only histogram: just +Inf, _sum and _count',
      'h',
      'histogram',
      { labels: [], histogram: { sampleCount: 10, sampleSum: 12.5, buckets: [], native: true } },
      'h_bucket{le="+Inf"} 10\nh_sum 12.5\nh_count 10\n',
    ],
    [
      'a gauge histogram is written like a histogram',
      'g',
      'gaugehistogram',
      { labels: [], histogram: { sampleCount: 2.5, sampleSum: 1, buckets: [{ upperBound: 1, cumulativeCount: 1.5 }] } },
      'g_bucket{le="1"} 1.5\ng_bucket{le="+Inf"} 2.5\ng_sum 1\ng_count 2.5\n',
    ],
    [
      'a histogram timestamp on every line',
      'h',
      'histogram',
      { labels: [], histogram: { sampleCount: 1, sampleSum: 1, buckets: [] }, timestampMs: 5 },
      'h_bucket{le="+Inf"} 1 5\nh_sum 1 5\nh_count 1 5\n',
    ],
    ['a metric without the value of its type renders as nothing', 'x', 'gauge', { labels: [] }, ''],
    ['a summary metric without a summary renders as nothing', 'x', 'summary', { labels: [], value: 1 }, ''],
  ])('%s', (_name, name, type, metric, expected) => {
    expect(renderMetric(name, type, metric)).toBe(expected);
  });
});

describe('renderFamily', () => {
  test('header, then the metrics in the order given', () => {
    const family: MetricFamily = {
      name: 'x',
      help: 'Some help.',
      type: 'counter',
      metrics: [{ labels: labels({ a: '2' }), value: 2 }, { labels: labels({ a: '1' }), value: 1 }],
    };
    expect(renderFamily(family)).toBe('# HELP x Some help.\n# TYPE x counter\nx{a="2"} 2\nx{a="1"} 1\n');
  });

  test('a family without metrics renders as nothing', () => {
    expect(renderFamily({ name: 'x', type: 'gauge', metrics: [] })).toBe('');
  });

  test('what the parser reads, the renderer writes back', () => {
    const body = [
      '# HELP http_requests_total Requests.\\nBy code.',
      '# TYPE http_requests_total counter',
      'http_requests_total{code="200",path="/a\\"b"} 1027',
      'http_requests_total{code="500",path="/"} 3',
      '# TYPE rpc summary',
      'rpc{quantile="0.5"} 0.05',
      'rpc_sum 1.7955065941797535e+09',
      'rpc_count 2',
      '# TYPE h histogram',
      'h_bucket{le="0.1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 0.0001',
      'h_count 2',
      '',
    ].join('\n');
    expect(parseText(new TextEncoder().encode(body)).map(renderFamily).join('')).toBe(body);
  });
});

describe('compareMetrics', () => {
  const m = (pairs: Record<string, string>, timestampMs?: number): Metric =>
    timestampMs === undefined ? { labels: labels(pairs), value: 1 } : { labels: labels(pairs), value: 1, timestampMs };

  test.each<[string, Metric, Metric]>([
    ['fewer labels first, whatever the values', m({ instance: '', job: 'j1' }), m({ a: '', instance: '', job: 'j2' })],
    ['label values compared position by position', m({ a: 'x', b: 'z' }), m({ a: 'y', b: 'a' })],
    ['a slash sorts before a digit', m({ a: '/var/tmp' }), m({ a: '2' })],
    ['a digit sorts before a letter', m({ a: '2' }), m({ a: 'foo' })],
    ['ASCII sorts before non-ASCII', m({ a: 'foo' }), m({ a: 'Π' })],
    ['upper case sorts before lower case', m({ a: 'Z' }), m({ a: 'a' })],
    ['a prefix sorts first', m({ a: 'ab' }), m({ a: 'abc' })],
    ['UTF-8 byte order: U+FFFD before an emoji (UTF-16 order would differ)', m({ a: '\ufffd' }), m({ a: '😀' })],
    ['label names are not compared', m({ z: 'a' }), m({ a: 'b' })],
    ['equal labels: the earlier timestamp first', m({ a: 'x' }, 1), m({ a: 'x' }, 2)],
    ['equal labels: a metric without timestamp last', m({ a: 'x' }, 5), m({ a: 'x' })],
  ])('%s', (_name, first, second) => {
    expect(compareMetrics(first, second)).toBeLessThan(0);
    expect(compareMetrics(second, first)).toBeGreaterThan(0);
  });

  test('equal label values and no timestamps compare equal', () => {
    expect(compareMetrics(m({ a: 'x' }), m({ b: 'x' }))).toBe(0);
  });

  test('sorting a family puts it in scrape order', () => {
    const metrics = [m({ a: 'Π' }), m({ a: 'foo' }), m({}), m({ a: '2' }), m({ a: '/var/tmp' })];
    expect([...metrics].sort(compareMetrics).map((x) => x.labels[0]?.value ?? '-')).toEqual(['-', '/var/tmp', '2', 'foo', 'Π']);
  });
});
