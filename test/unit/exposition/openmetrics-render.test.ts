import { describe, expect, test } from '@jest/globals';
import {
  decodeProtobufDelimited,
  formatOpenMetricsFloat,
  formatOpenMetricsTimestamp,
  isCompliantCounter,
  renderOpenMetricsHeader,
  renderOpenMetricsMetric,
} from '../../../src/exposition/index.js';
import type { Label, Metric, MetricFamily, MetricType } from '../../../src/model/index.js';
import { delimited, type PbFamily } from '../../fixtures/requests/protobuf.js';

const labels = (pairs: Record<string, string> = {}): Label[] => Object.entries(pairs).map(([name, value]) => ({ name, value }));

/** A family as a protobuf push stores it (kept bytes included), through the test's own encoder. */
function pushed(family: PbFamily): MetricFamily {
  const [decoded] = decodeProtobufDelimited(delimited([family]));
  if (decoded === undefined) throw new Error('nothing decoded');
  return decoded;
}

function render(family: MetricFamily, familyNameTaken = false): string {
  const compliant = isCompliantCounter(family.name, family.type, familyNameTaken);
  return renderOpenMetricsHeader(family.name, family.help, family.type, compliant) + family.metrics.map((m) => renderOpenMetricsMetric(family.name, family.type, m, compliant)).join('');
}

describe('formatOpenMetricsFloat', () => {
  test.each<[number, string]>([
    [0, '0.0'],
    [-0, '0.0'],
    [1, '1.0'],
    [-1, '-1.0'],
    [42, '42.0'],
    [0.5, '0.5'],
    [1e6, '1e+06'],
    [1.5e-7, '1.5e-07'],
    [123456, '123456.0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%p → %s', (v, expected) => {
    expect(formatOpenMetricsFloat(v)).toBe(expected);
  });
});

describe('formatOpenMetricsTimestamp', () => {
  test.each<[number, number, string]>([
    [1700000000, 0, '1700000000'],
    [1700000000, 500_000_000, '1700000000.5'],
    [1700000000, 1, '1700000000.000000001'],
    [0, 0, '0'],
    [-2, 500_000_000, '-1.5'],
    [9_007_199_254, 999_999_999, '9007199254.999999999'],
  ])('%p s + %p ns → %s', (seconds, nanos, expected) => {
    expect(formatOpenMetricsTimestamp(seconds, nanos)).toBe(expected);
  });
});

describe('renderOpenMetricsHeader', () => {
  test.each<[string, string, string | undefined, MetricType, boolean, string]>([
    ['a compliant counter is named without _total', 'req_total', 'Requests.', 'counter', true, '# HELP req Requests.\n# TYPE req counter\n'],
    ['a counter written as unknown keeps its name', 'req', undefined, 'counter', false, '# TYPE req unknown\n'],
    ['untyped is unknown', 'x', undefined, 'untyped', false, '# TYPE x unknown\n'],
    ['gauge histogram', 'x', undefined, 'gaugehistogram', false, '# TYPE x gaugehistogram\n'],
    ['help escapes backslash, newline and quote', 'x', 'a\\b\nc"d', 'gauge', false, '# HELP x a\\\\b\\nc\\"d\n# TYPE x gauge\n'],
    ['an empty help keeps the space', 'x', '', 'gauge', false, '# HELP x \n# TYPE x gauge\n'],
    ['a UTF-8 name is quoted', 'my.metric_total', undefined, 'counter', true, '# TYPE "my.metric" counter\n'],
  ])('%s', (_name, name, help, type, compliant, expected) => {
    expect(renderOpenMetricsHeader(name, help, type, compliant)).toBe(expected);
  });

  test.each<[string, string, MetricType, boolean, boolean]>([
    ['x_total counter', 'x_total', 'counter', false, true],
    ['a counter without _total', 'x', 'counter', false, false],
    ['a counter whose family name is another family', 'x_total', 'counter', true, false],
    ['_total alone', '_total', 'counter', false, false],
    ['a gauge named _total', 'x_total', 'gauge', false, false],
  ])('isCompliantCounter: %s', (_name, name, type, taken, expected) => {
    expect(isCompliantCounter(name, type, taken)).toBe(expected);
  });
});

describe('renderOpenMetricsMetric', () => {
  test.each<[string, string, MetricType, Metric, boolean, string]>([
    ['a gauge', 'x', 'gauge', { labels: labels({ a: '1' }), value: 1 }, false, 'x{a="1"} 1.0\n'],
    ['a text-pushed counter', 'x_total', 'counter', { labels: [], value: 3 }, true, 'x_total 3.0\n'],
    ['label values escape backslash, quote and newline', 'x', 'gauge', { labels: labels({ a: 'q"\\\n' }), value: 0.25 }, false, 'x{a="q\\"\\\\\\n"} 0.25\n'],
    ['a UTF-8 metric name goes inside the braces', 'a.b', 'gauge', { labels: labels({ 'c.d': 'v' }), value: 2 }, false, '{"a.b","c.d"="v"} 2.0\n'],
    ['a timestamp in seconds', 'x', 'gauge', { labels: [], value: 1, timestampMs: 1500 }, false, 'x 1.0 1.5\n'],
    ['a negative timestamp', 'x', 'gauge', { labels: [], value: 1, timestampMs: -1500 }, false, 'x 1.0 -1.5\n'],
    [
      'a summary: quantiles, _sum, _count as an integer',
      'rpc',
      'summary',
      { labels: [], summary: { sampleCount: 4, sampleSum: 2.5, quantiles: [{ quantile: 0.5, value: 1 }, { quantile: 1, value: 2 }] } },
      false,
      'rpc{quantile="0.5"} 1.0\nrpc{quantile="1.0"} 2.0\nrpc_sum 2.5\nrpc_count 4\n',
    ],
    [
      'a histogram gets +Inf when missing; le as OpenMetrics floats',
      'h',
      'histogram',
      { labels: [], histogram: { sampleCount: 3, sampleSum: 4, buckets: [{ upperBound: 1, cumulativeCount: 2 }] } },
      false,
      'h_bucket{le="1.0"} 2\nh_bucket{le="+Inf"} 3\nh_sum 4.0\nh_count 3\n',
    ],
    [
      'float counts stay floats (upstream fails the scrape)',
      'h',
      'histogram',
      { labels: [], histogram: { sampleCount: 2.5, sampleSum: 1, buckets: [{ upperBound: Infinity, cumulativeCount: 2.5 }] } },
      false,
      'h_bucket{le="+Inf"} 2.5\nh_sum 1.0\nh_count 2.5\n',
    ],
    [
      'a gauge histogram has _gsum and _gcount',
      'g',
      'gaugehistogram',
      { labels: [], histogram: { sampleCount: 1, sampleSum: -1, buckets: [{ upperBound: 0, cumulativeCount: 1 }] } },
      false,
      'g_bucket{le="0.0"} 1\ng_bucket{le="+Inf"} 1\ng_gsum -1.0\ng_gcount 1\n',
    ],
  ])('%s', (_name, name, type, metric, compliant, expected) => {
    expect(renderOpenMetricsMetric(name, type, metric, compliant)).toBe(expected);
  });
});

describe('what a protobuf push carries', () => {
  const counter = pushed({
    name: 'jobs_total',
    help: 'Jobs.',
    type: 'COUNTER',
    metrics: [
      {
        labels: { code: '200' },
        counter: 5,
        exemplar: { labels: { trace_id: 'abc' }, value: 1, timestamp: { seconds: 1700000000, nanos: 500_000_000 } },
        created: { seconds: 1699999000, nanos: 250_000_000 },
      },
    ],
  });

  test('a counter: its exemplar after the sample, then _created', () => {
    expect(render(counter)).toBe(
      '# HELP jobs Jobs.\n# TYPE jobs counter\n' +
        // Exemplar timestamps in exact decimal seconds (upstream: 1.7000000005e+09).
        'jobs_total{code="200"} 5.0 # {trace_id="abc"} 1.0 1700000000.5\n' +
        // As Go computes it: float64(t.UnixNano())/1e9.
        'jobs_created{code="200"} 1.6999990002499998e+09\n',
    );
  });

  test('written as unknown (its family name taken), it keeps neither', () => {
    expect(render(counter, true)).toBe('# HELP jobs_total Jobs.\n# TYPE jobs_total unknown\njobs_total{code="200"} 5.0\n');
  });

  test('an exemplar whose labels exceed 128 characters is left out', () => {
    const long = pushed({ name: 'n_total', type: 'COUNTER', metrics: [{ counter: 1, exemplar: { labels: { trace_id: 'x'.repeat(121) }, value: 1 } }] });
    expect(render(long)).toBe('# TYPE n counter\nn_total 1.0\n');
    const fits = pushed({ name: 'n_total', type: 'COUNTER', metrics: [{ counter: 1, exemplar: { labels: { trace_id: 'x'.repeat(120) }, value: 1 } }] });
    expect(render(fits)).toBe(`# TYPE n counter\nn_total 1.0 # {trace_id="${'x'.repeat(120)}"} 1.0\n`);
  });

  test('an exemplar without labels is left out', () => {
    const bare = pushed({ name: 'n_total', type: 'COUNTER', metrics: [{ counter: 1, exemplar: { labels: {}, value: 1 } }] });
    expect(render(bare)).toBe('# TYPE n counter\nn_total 1.0\n');
  });

  test('a histogram: bucket exemplars and _created', () => {
    const histogram = pushed({
      name: 'size_bytes',
      type: 'HISTOGRAM',
      metrics: [
        {
          histogram: {
            count: 3,
            sum: 700,
            buckets: [
              [100, 1],
              [1000, 3],
            ],
            bucketExemplars: [undefined, { labels: { trace_id: 'def' }, value: 500 }],
          },
          created: { seconds: 1700000000 },
        },
      ],
    });
    expect(render(histogram)).toBe(
      '# TYPE size_bytes histogram\n' +
        'size_bytes_bucket{le="100.0"} 1\n' +
        'size_bytes_bucket{le="1000.0"} 3 # {trace_id="def"} 500.0\n' +
        'size_bytes_bucket{le="+Inf"} 3\n' +
        'size_bytes_sum 700.0\nsize_bytes_count 3\nsize_bytes_created 1.7e+09\n',
    );
  });

  test('a native histogram without classic buckets: +Inf, _sum, _count, _created', () => {
    const native = pushed({
      name: 'latency_seconds',
      type: 'HISTOGRAM',
      metrics: [{ histogram: { count: 4, sum: 1.5, buckets: [], native: { schema: 3, zeroThreshold: 1e-128, zeroCount: 1, positiveSpans: [[0, 2]], positiveDeltas: [2, -1] } }, created: { seconds: 10 } }],
    });
    expect(render(native)).toBe('# TYPE latency_seconds histogram\nlatency_seconds_bucket{le="+Inf"} 4\nlatency_seconds_sum 1.5\nlatency_seconds_count 4\nlatency_seconds_created 10.0\n');
  });

  test('a summary: _created after _count', () => {
    const summary = pushed({ name: 'rpc', type: 'SUMMARY', metrics: [{ summary: { count: 1, sum: 2, quantiles: [] }, created: { seconds: 5 } }] });
    expect(render(summary)).toBe('# TYPE rpc summary\nrpc_sum 2.0\nrpc_count 1\nrpc_created 5.0\n');
  });
});
