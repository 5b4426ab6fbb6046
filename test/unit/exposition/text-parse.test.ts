import { describe, expect, test } from '@jest/globals';
import { parseText } from '../../../src/exposition/index.js';
import { BadRequestError, ErrorCode } from '../../../src/errors.js';
import type { Label, Metric, MetricFamily, MetricType } from '../../../src/model/index.js';
import { readFixture, referenceForm, type ReferenceFamily } from './reference-form.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const parse = (s: string | Uint8Array, utf8Names = false): MetricFamily[] =>
  parseText(typeof s === 'string' ? bytes(s) : s, { utf8Names });

const labels = (pairs: Record<string, string> = {}): Label[] => Object.entries(pairs).map(([name, value]) => ({ name, value }));
const sample = (value: number, pairs?: Record<string, string>): Metric => ({ labels: labels(pairs), value });
const family = (name: string, type: MetricType, metrics: Metric[], help?: string): MetricFamily =>
  help === undefined ? { name, type, metrics } : { name, help, type, metrics };

/** `l0="v",l1="v",…` for n labels. */
const manyLabels = (n: number): string => Array.from({ length: n }, (_, i) => `l${i}="v",`).join('');

/** The error a body is refused with. */
function refusal(body: string | Uint8Array): BadRequestError {
  try {
    parse(body);
  } catch (err) {
    if (err instanceof BadRequestError) return err;
    throw err;
  }
  throw new Error('body was accepted');
}

describe('parseText accepts', () => {
  test.each<[string, string, MetricFamily[]]>([
    ['an empty body', '', []],
    ['blank and whitespace-only lines', '\n  \n\t\nx 1\n\n', [family('x', 'untyped', [sample(1)])]],
    ['a last line of blanks without a newline', 'x 1\n   ', [family('x', 'untyped', [sample(1)])]],
    ['leading tabs and spaces', '\t  x 1\n', [family('x', 'untyped', [sample(1)])]],
    ['comments that are not HELP or TYPE (OpenMetrics EOF, UNIT)', '# EOF\n# UNIT x seconds\n#\nx 1\n', [family('x', 'untyped', [sample(1)])]],
    ['HELP and TYPE with only a name', '# HELP x\n# TYPE x\nx 1\n', [family('x', 'untyped', [sample(1)])]],
    ['empty braces', 'x{} 1\n', [family('x', 'untyped', [sample(1)])]],
    ['a trailing comma in the label list', 'x{a="b",} 1\n', [family('x', 'untyped', [sample(1, { a: 'b' })])]],
    ['spaces around labels', 'x{ a = "b" , c = "d" } 1\n', [family('x', 'untyped', [sample(1, { a: 'b', c: 'd' })])]],
    ['a space between name and braces', 'x {a="b"} 1\n', [family('x', 'untyped', [sample(1, { a: 'b' })])]],
    ['no space between braces and value', 'x{a="b"}1\n', [family('x', 'untyped', [sample(1, { a: 'b' })])]],
    ['labels in the order pushed', 'x{b="1",a="2"} 1\n', [family('x', 'untyped', [sample(1, { b: '1', a: '2' })])]],
    [
      'samples of one family that are not contiguous',
      'a 1\nb 2\na{x="y"} 3\n',
      [family('a', 'untyped', [sample(1), sample(3, { x: 'y' })]), family('b', 'untyped', [sample(2)])],
    ],
    ['type names in any case', '# TYPE x CoUnTeR\nx 1\n', [family('x', 'counter', [sample(1)])]],
    ['HELP escapes \\\\, \\n and \\"', '# HELP x a\\\\b\\nc\\"d\nx 1\n', [family('x', 'untyped', [sample(1)], 'a\\b\nc"d')]],
    ['HELP text with its trailing spaces', '# HELP x some help  \nx 1\n', [family('x', 'untyped', [sample(1)], 'some help  ')]],
    ['label value escapes', 'x{a="q\\"b\\\\n\\n"} 1\n', [family('x', 'untyped', [sample(1, { a: 'q"b\\n\n' })])]],
    ['UTF-8 label values', 'x{a="Π✓😀"} 1\n', [family('x', 'untyped', [sample(1, { a: 'Π✓😀' })])]],
    ['an empty label value', 'x{instance=""} 1\n', [family('x', 'untyped', [sample(1, { instance: '' })])]],
    ['a label named like __foo (refused later, by the store)', 'x{__foo="y"} 1\n', [family('x', 'untyped', [sample(1, { __foo: 'y' })])]],
    ['colons in metric names', 'a:b:c 1\n', [family('a:b:c', 'untyped', [sample(1)])]],
    ['a value of NaN in any case', 'x nan\n', [family('x', 'untyped', [sample(NaN)])]],
    ['a value with a sign, point and exponent', 'x -.5e-3\n', [family('x', 'untyped', [sample(-0.0005)])]],
    ['duplicate series (refused later, by the store)', 'x 1\nx 2\n', [family('x', 'untyped', [sample(1), sample(2)])]],
    ['gaugehistogram as a type', '# TYPE x gaugehistogram\nx_count 1\n', [
      family('x', 'gaugehistogram', [{ labels: [], histogram: { sampleCount: 1, sampleSum: 0, buckets: [] } }]),
    ]],
    ['gauge_histogram as a type', '# TYPE x gauge_histogram\nx_count 1\n', [
      family('x', 'gaugehistogram', [{ labels: [], histogram: { sampleCount: 1, sampleSum: 0, buckets: [] } }]),
    ]],
    ['a TYPE line with backslashes (they are dropped)', '# TYPE x cou\\nter\nx 1\n', [family('x', 'counter', [sample(1)])]],
    ['a dotless ı that upper-cases to I', '# TYPE x hıstogram\nx_count 1\n', [
      family('x', 'histogram', [{ labels: [], histogram: { sampleCount: 1, sampleSum: 0, buckets: [] } }]),
    ]],
    ['a quoted metric name that is a legacy name', '"x" 1\n', [family('x', 'untyped', [sample(1)])]],
    ['a metric name inside braces', '{x,a="b"} 1\n', [family('x', 'untyped', [sample(1, { a: 'b' })])]],
    ['a quoted metric name inside braces', '{"x"} 1\n', [family('x', 'untyped', [sample(1)])]],
    ['labels before the name inside braces', '{a="b",x} 1\n', [family('x', 'untyped', [sample(1, { a: 'b' })])]],
  ])('%s', (_name, body, expected) => {
    expect(parse(body)).toEqual(expected);
  });

  test('families in order of first appearance, a HELP line counting', () => {
    expect(parse('# HELP z z\nb 1\nz 2\na 3\n').map((f) => f.name)).toEqual(['z', 'b', 'a']);
  });

  test('families without samples are dropped', () => {
    expect(parse('# TYPE x counter\n# HELP y help\nz 1\n').map((f) => f.name)).toEqual(['z']);
  });

  test('a timestamp is kept for the store to refuse', () => {
    expect(parse('x 1 -1234\n')).toEqual([family('x', 'untyped', [{ labels: [], value: 1, timestampMs: -1234 }])]);
  });
});

describe('parseText folds summaries and histograms', () => {
  test('summary lines become one metric per label set, in any label order', () => {
    const body = [
      '# HELP rpc Latency.',
      '# TYPE rpc summary',
      'rpc{a="1",quantile="0.5",b="2"} 10',
      'rpc{b="2",a="1",quantile="0.9"} 20',
      'rpc_sum{a="1",b="2"} 300',
      'rpc_count{b="2",a="1"} 7',
      'rpc{a="x",quantile="0.5"} 1',
      '',
    ].join('\n');
    expect(parse(body)).toEqual([
      family('rpc', 'summary', [
        {
          labels: labels({ a: '1', b: '2' }),
          summary: { sampleCount: 7, sampleSum: 300, quantiles: [{ quantile: 0.5, value: 10 }, { quantile: 0.9, value: 20 }] },
        },
        { labels: labels({ a: 'x' }), summary: { sampleCount: 0, sampleSum: 0, quantiles: [{ quantile: 0.5, value: 1 }] } },
      ], 'Latency.'),
    ]);
  });

  test('histogram lines become one metric, without the le label', () => {
    const body = '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 3\nh_sum 4.5\nh_count 3\n';
    expect(parse(body)).toEqual([
      family('h', 'histogram', [
        {
          labels: [],
          histogram: { sampleCount: 3, sampleSum: 4.5, buckets: [{ upperBound: 0.5, cumulativeCount: 1 }, { upperBound: Infinity, cumulativeCount: 3 }] },
        },
      ]),
    ]);
  });

  test.each<[string, string, MetricFamily[]]>([
    ['without a TYPE line the series are separate untyped families', 'x_bucket{le="1"} 1\nx_sum 2\nx_count 3\n', [
      family('x_bucket', 'untyped', [sample(1, { le: '1' })]),
      family('x_sum', 'untyped', [sample(2)]),
      family('x_count', 'untyped', [sample(3)]),
    ]],
    ['a summary has no _bucket series', '# TYPE x summary\nx_bucket 1\n', [family('x_bucket', 'untyped', [sample(1)])]],
    ['a quantile of NaN is ignored', '# TYPE s summary\ns{quantile="NaN"} 1\n', [
      family('s', 'summary', [{ labels: [], summary: { sampleCount: 0, sampleSum: 0, quantiles: [] } }]),
    ]],
    ['a fractional summary count is truncated', '# TYPE s summary\ns_count 2.7\n', [
      family('s', 'summary', [{ labels: [], summary: { sampleCount: 2, sampleSum: 0, quantiles: [] } }]),
    ]],
    ['a fractional histogram count is kept', '# TYPE h histogram\nh_bucket{le="1"} 1.5\nh_count 2.5\n', [
      family('h', 'histogram', [{ labels: [], histogram: { sampleCount: 2.5, sampleSum: 0, buckets: [{ upperBound: 1, cumulativeCount: 1.5 }] } }]),
    ]],
    ['quantile is an ordinary label outside summaries', '# TYPE h histogram\nh_count{quantile="x"} 1\n', [
      family('h', 'histogram', [{ labels: labels({ quantile: 'x' }), histogram: { sampleCount: 1, sampleSum: 0, buckets: [] } }]),
    ]],
    ['an earlier untyped x_count keeps its own family', 'x_count 1\n# TYPE x summary\nx_count 2\n', [
      family('x_count', 'untyped', [sample(1), sample(2)]),
    ]],
  ])('%s', (_name, body, expected) => {
    expect(parse(body)).toEqual(expected);
  });
});

describe('parseText refuses', () => {
  test.each([
    ['a last line without a newline', 'x 1', 'line 1: unexpected end of input stream'],
    ['a HELP line without a newline', 'x 1\n# HELP x foo', 'line 2: unexpected end of input stream'],
    ['CRLF line ends', 'x 1\r\n', 'line 1: expected float as value, got "1\\r"'],
    ['trailing spaces after the value', 'x 1 \n', 'line 1: expected integer as timestamp, got ""'],
    ['a non-integer timestamp', 'x 1 1.5\n', 'line 1: expected integer as timestamp, got "1.5"'],
    ['a timestamp beyond int64', 'x 1 9223372036854775808\n', 'line 1: expected integer as timestamp, got "9223372036854775808"'],
    ['text after the timestamp', 'x 1 2 3\n', 'line 1: spurious string after timestamp: " 3"'],
    ['a value beyond the float64 range', 'x 1e400\n', 'line 1: expected float as value, got "1e400"'],
    ['a hex value', 'x 0x10\n', 'line 1: expected float as value, got "0x10"'],
    ['digit separators', 'x 1_000\n', 'line 1: expected float as value, got "1_000"'],
    ['+nan', 'x +nan\n', 'line 1: expected float as value, got "+nan"'],
    ['a missing value', 'x{a="b"}\n', 'line 1: expected float as value, got ""'],
    ['an invalid metric name', 'x-y 1\n', 'line 1: expected float as value, got "-y"'],
    ['a metric name starting with a digit', '1x 1\n', 'line 1: invalid metric name'],
    ['a dotted quoted metric name', '"x.y" 1\n', 'line 1: invalid metric name "x.y"'],
    ['an invalid label name', 'x{a-b="c"} 1\n', 'line 1: expected \'=\' after label name, found \'-\''],
    ['a label name starting with a digit', 'x{1a="c"} 1\n', 'line 1: invalid label name for metric "x"'],
    ['a dotted quoted label name', 'x{"a.b"="c"} 1\n', 'line 1: invalid label name "a.b"'],
    ['the label name __name__', 'x{__name__="y"} 1\n', 'line 1: label name "__name__" is reserved'],
    ['a duplicate label name', 'x{a="b",a="c"} 1\n', 'line 1: duplicate label names for metric "x"'],
    ['a duplicate label name after many others', `x{${manyLabels(40)}l7="again"} 1\n`, 'line 1: duplicate label names for metric "x"'],
    ['a duplicate label name after many, before the name', `{${manyLabels(40)}x,l39="again"} 1\n`, 'line 1: duplicate label names for metric "x"'],
    ['an unquoted label value', 'x{a=b} 1\n', 'line 1: expected \'"\' at start of label value, found \'b\''],
    ['labels without a comma', 'x{a="b" c="d"} 1\n', 'line 1: unexpected end of label value "b"'],
    ['a bad escape in a label value', 'x{a="\\t"} 1\n', "line 1: invalid escape sequence '\\t'"],
    ['a newline in a label value', 'x{a="b\nc"} 1\n', 'line 1: label value "b" contains unescaped new-line'],
    ['a bad escape in HELP', '# HELP x a\\tb\nx 1\n', "line 1: invalid escape sequence '\\t'"],
    ['a second HELP line', '# HELP x a\n# HELP x b\n', 'line 2: second HELP line for metric name "x"'],
    ['a second TYPE line', '# TYPE x gauge\n# TYPE x gauge\n', 'line 2: second TYPE line for metric name "x", or TYPE reported after samples'],
    ['TYPE after the samples', 'x 1\n# TYPE x counter\n', 'line 2: second TYPE line for metric name "x", or TYPE reported after samples'],
    ['TYPE for a series of a summary', '# TYPE x summary\n# TYPE x_count gauge\n', 'line 2: second TYPE line for metric name "x", or TYPE reported after samples'],
    ['an unknown type', '# TYPE x foo\n', 'line 1: unknown metric type "foo"'],
    ['a type with trailing spaces', '# TYPE x counter \n', 'line 1: unknown metric type "counter "'],
    ['a ligature that upper-cases to two letters', '# TYPE x hiﬆogram\n', 'line 1: unknown metric type "hiﬆogram"'],
    ['an invalid name in a comment', '# HELP x-y z\n', 'line 1: invalid metric name in comment'],
    ['a quantile that is not a float', '# TYPE s summary\ns{quantile="x"} 1\n', 'line 2: expected float as value for \'quantile\' label, got "x"'],
    ['an le that is not a float', '# TYPE h histogram\nh_bucket{le="x"} 1\n', 'line 2: expected float as value for \'le\' label, got "x"'],
    ['a negative histogram count', '# TYPE h histogram\nh_count -1\n', 'line 2: negative count for histogram "h"'],
    ['a negative bucket', '# TYPE h histogram\nh_bucket{le="1"} -1.5\n', 'line 2: negative bucket population for histogram "h"'],
    ['a line starting with {} (a crash in some upstream versions)', '{} 1\n', 'line 1: invalid metric name'],
    ['labels without a metric name', '{a="b"} 1\n', 'line 1: invalid metric name'],
    ['{} after another sample (upstream reuses that sample)', 'x 1\n{} 2\n', 'line 2: invalid metric name'],
    ['two metric names in braces', '{x,y} 1\n', 'line 1: multiple metric names for metric "x"'],
    ['a colon in an unquoted name in braces', '{x:y} 1\n', "line 1: unexpected end of metric name ':'"],
    ['a byte order mark', '\ufeffx 1\n', 'line 1: invalid metric name'],
    ['a no-break space as a separator', 'x\u00a01\n', 'line 1: expected float as value, got "\\u00a01"'],
  ])('%s', (_name, body, message) => {
    const err = refusal(body);
    expect(err.code).toBe(ErrorCode.badBody);
    expect(err.httpStatus).toBe(400);
    expect(err.message).toBe(`text format parsing error in ${message}`);
  });
});

// Found by the fuzz properties: the duplicate check scanned the line's labels for each label, so
// one line of a few MiB of distinct labels (within the body limit) took minutes.
describe('parseText in linear time', () => {
  // No stopwatch here (a shared machine makes timed assertions flaky): the parse takes well under
  // a second, while a parser quadratic in the labels of a line (2·10^10 comparisons for 200,000
  // labels) runs for minutes and hits this test's 30 s timeout.
  test('a 2 MiB line of distinct labels', () => {
    const body = `x{${manyLabels(200_000)}} 1\n`;
    const [parsed] = parse(body);
    expect(parsed?.metrics[0]?.labels).toHaveLength(200_000);
  }, 30_000);
});

describe('parseText and invalid UTF-8', () => {
  const withBytes = (...parts: (string | number[])[]): Uint8Array =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...bytes(p)] : p)));

  test.each([
    ['in a label value', withBytes('x 1\nx{a="', [0xff], '"} 1\n'), 'line 2: invalid label value "\\xff"'],
    // Found by the fuzz properties: a label value of megabytes was quoted whole, so the message
    // (and the 400 answer) was several times the size of the body.
    ['a long label value, quoted in part', withBytes('x{a="', new Array<number>(100_000).fill(0xff), '"} 1\n'), `line 1: invalid label value "${'\\xff'.repeat(256)}"...`],
    ['as an encoded surrogate in a label value', withBytes('x{a="', [0xed, 0xa0, 0x80], '"} 1\n'), 'line 1: invalid label value "\\xed\\xa0\\x80"'],
    ['in a value', withBytes('x 1', [0x80], '\n'), 'line 1: expected float as value, got "1\\x80"'],
  ])('is refused %s', (_name, body, message) => {
    expect(refusal(body).message).toBe(`text format parsing error in ${message}`);
  });

  test('is ignored in a comment', () => {
    expect(parse(withBytes('# note ', [0xc3], '\nx 1\n'))).toEqual([family('x', 'untyped', [sample(1)])]);
  });

  test('is kept in HELP text, as escaped bytes', () => {
    const [parsed] = parse(withBytes('# HELP x a', [0xff], 'b\nx 1\n'));
    expect(parsed?.help).toBe('a\udcffb');
  });
});

describe('parseText with UTF-8 names', () => {
  test.each<[string, string, MetricFamily[]]>([
    ['a quoted dotted name in braces', '{"a.b",c="d"} 1\n', [family('a.b', 'untyped', [sample(1, { c: 'd' })])]],
    ['a quoted dotted label name', 'x{"a.b"="c"} 1\n', [family('x', 'untyped', [sample(1, { 'a.b': 'c' })])]],
    ['a quoted name at the start of the line', '"é" 1\n', [family('é', 'untyped', [sample(1)])]],
    ['a quoted name in HELP and TYPE', '# HELP "a.b" h\n# TYPE "a.b" gauge\n{"a.b"} 1\n', [family('a.b', 'gauge', [sample(1)], 'h')]],
  ])('accepts %s', (_name, body, expected) => {
    expect(parse(body, true)).toEqual(expected);
  });

  test('still reserves __name__', () => {
    expect(() => parse('x{"__name__"="y"} 1\n', true)).toThrow('label name "__name__" is reserved');
  });

  test.each([
    ['an empty quoted name', '"" 1\n', 'line 1: invalid metric name'],
    ['an empty quoted name in braces', '{""} 1\n', 'line 1: invalid label name for metric ""'],
    ['an empty quoted label name', 'x{""="a"} 1\n', 'line 1: invalid label name for metric "x"'],
  ])('still refuses %s', (_name, body, message) => {
    expect(() => parse(body, true)).toThrow(`text format parsing error in ${message}`);
  });
});

interface TextReferenceCase {
  body?: string;
  bodyBase64?: string;
  expected: { error: string } | { families: ReferenceFamily[] };
}

describe('parseText against upstream', () => {
  const { cases } = readFixture<{ cases: TextReferenceCase[] }>('text-parse-reference.json');
  const rows = cases.map((c): [string, TextReferenceCase] => [JSON.stringify(c.body ?? `base64:${c.bodyBase64 ?? ''}`).slice(0, 120), c]);

  test.each(rows)('%s', (_name, c) => {
    const body = c.body !== undefined ? bytes(c.body) : Uint8Array.from(Buffer.from(c.bodyBase64 ?? '', 'base64'));
    let actual: { error: string } | { families: ReferenceFamily[] };
    try {
      actual = { families: referenceForm(parseText(body)) };
    } catch (err) {
      if (!(err instanceof BadRequestError)) throw err;
      actual = { error: err.message };
    }
    expect(actual).toEqual(c.expected);
  });
});
