import { describe, expect, test } from '@jest/globals';
import { decodeProtobufDelimited, encodeFamilyDelimited, parseText } from '../../../src/exposition/index.js';
import { BadRequestError, ErrorCode } from '../../../src/errors.js';
import type { Metric, MetricFamily } from '../../../src/model/index.js';
import { readFixture, referenceForm, type ReferenceFamily } from './reference-form.js';

// A tiny protobuf writer for hand-built messages.
const varint = (n: number | bigint): number[] => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};
const tag = (field: number, wireType: number): number[] => varint(field * 8 + wireType);
const len = (field: number, bytes: number[]): number[] => [...tag(field, 2), ...varint(bytes.length), ...bytes];
const dbl = (field: number, v: number): number[] => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  return [...tag(field, 1), ...new Uint8Array(view.buffer)];
};
const int = (field: number, n: number | bigint): number[] => [...tag(field, 0), ...varint(n)];
const str = (field: number, s: string): number[] => len(field, [...new TextEncoder().encode(s)]);
const zigzag = (n: number): number => (n << 1) ^ (n >> 31);
const label = (name: string, value: string): number[] => len(1, [...str(1, name), ...str(2, value)]);
const delimited = (...messages: number[][]): Uint8Array =>
  Uint8Array.from(messages.flatMap((m) => [...varint(m.length), ...m]));
const familyMessage = (name: string, type: number | undefined, metrics: number[][], help?: string): number[] => [
  ...str(1, name),
  ...(help === undefined ? [] : str(2, help)),
  ...(type === undefined ? [] : int(3, type)),
  ...metrics.flatMap((m) => len(4, m)),
];
const rest = (...fields: number[][]): Uint8Array => Uint8Array.from(fields.flat());

const GAUGE = 1;
const COUNTER = 0;
const SUMMARY = 2;
const UNTYPED = 3;
const HISTOGRAM = 4;
const GAUGE_HISTOGRAM = 5;

const exemplar = [...label('trace_id', 'abc'), ...dbl(2, 0.5), ...len(3, [...int(1, 1700000000), ...int(2, 5)])];
const createdTimestamp = len(3, int(1, 1700000000));

describe('decodeProtobufDelimited', () => {
  test.each<[string, Uint8Array, MetricFamily[]]>([
    ['an empty body', new Uint8Array(0), []],
    [
      'a counter with help, labels and value; the rest keeps the value field',
      delimited(familyMessage('c', COUNTER, [[...label('a', 'b'), ...len(3, dbl(1, 5))]], 'Help.')),
      [{ name: 'c', help: 'Help.', type: 'counter', metrics: [{ labels: [{ name: 'a', value: 'b' }], value: 5, protobufRest: rest(len(3, dbl(1, 5))) }] }],
    ],
    [
      'an explicitly empty help is kept as empty',
      delimited(familyMessage('g', GAUGE, [len(2, dbl(1, 1))], '')),
      [{ name: 'g', help: '', type: 'gauge', metrics: [{ labels: [], value: 1, protobufRest: rest(len(2, dbl(1, 1))) }] }],
    ],
    [
      'no type field means counter',
      delimited(familyMessage('c', undefined, [len(3, dbl(1, 2))])),
      [{ name: 'c', type: 'counter', metrics: [{ labels: [], value: 2, protobufRest: rest(len(3, dbl(1, 2))) }] }],
    ],
    [
      'a value message without a value is 0',
      delimited(familyMessage('u', UNTYPED, [len(5, [])])),
      [{ name: 'u', type: 'untyped', metrics: [{ labels: [], value: 0, protobufRest: rest(len(5, [])) }] }],
    ],
    [
      'a value field of another type is not the value (the consistency check refuses it)',
      delimited(familyMessage('g', GAUGE, [len(3, dbl(1, 2))])),
      [{ name: 'g', type: 'gauge', metrics: [{ labels: [], protobufRest: rest(len(3, dbl(1, 2))) }] }],
    ],
    [
      'two value messages are merged, the last value winning',
      delimited(familyMessage('g', GAUGE, [[...len(2, dbl(1, 1)), ...len(2, [])]])),
      [{ name: 'g', type: 'gauge', metrics: [{ labels: [], value: 1, protobufRest: rest(len(2, dbl(1, 1)), len(2, [])) }] }],
    ],
    [
      'a summary',
      delimited(familyMessage('s', SUMMARY, [len(4, [...int(1, 3), ...dbl(2, 4), ...len(3, [...dbl(1, 0.5), ...dbl(2, 1)]), ...len(4, int(1, 1700000000))])])),
      [{
        name: 's',
        type: 'summary',
        metrics: [{
          labels: [],
          summary: { sampleCount: 3, sampleSum: 4, quantiles: [{ quantile: 0.5, value: 1 }] },
          protobufRest: rest(len(4, [...int(1, 3), ...dbl(2, 4), ...len(3, [...dbl(1, 0.5), ...dbl(2, 1)]), ...len(4, int(1, 1700000000))])),
        }],
      }],
    ],
    [
      'a histogram with integer counts',
      delimited(familyMessage('h', HISTOGRAM, [len(7, [...int(1, 3), ...dbl(2, 4.5), ...len(3, [...int(1, 1), ...dbl(2, 0.5)])])])),
      [{
        name: 'h',
        type: 'histogram',
        metrics: [{
          labels: [],
          histogram: { sampleCount: 3, sampleSum: 4.5, buckets: [{ upperBound: 0.5, cumulativeCount: 1 }] },
          protobufRest: rest(len(7, [...int(1, 3), ...dbl(2, 4.5), ...len(3, [...int(1, 1), ...dbl(2, 0.5)])])),
        }],
      }],
    ],
    [
      'float counts override integer ones unless zero',
      delimited(familyMessage('h', GAUGE_HISTOGRAM, [len(7, [...int(1, 9), ...dbl(4, 2.5), ...len(3, [...int(1, 7), ...dbl(4, 1.5), ...dbl(2, 1)]), ...len(3, [...int(1, 2), ...dbl(4, 0), ...dbl(2, 2)])])])),
      [{
        name: 'h',
        type: 'gaugehistogram',
        metrics: [{
          labels: [],
          histogram: { sampleCount: 2.5, sampleSum: 0, buckets: [{ upperBound: 1, cumulativeCount: 1.5 }, { upperBound: 2, cumulativeCount: 2 }] },
          protobufRest: rest(len(7, [...int(1, 9), ...dbl(4, 2.5), ...len(3, [...int(1, 7), ...dbl(4, 1.5), ...dbl(2, 1)]), ...len(3, [...int(1, 2), ...dbl(4, 0), ...dbl(2, 2)])])),
        }],
      }],
    ],
    [
      'a negative timestamp',
      delimited(familyMessage('g', GAUGE, [[...len(2, dbl(1, 1)), ...int(6, -5)]])),
      [{ name: 'g', type: 'gauge', metrics: [{ labels: [], value: 1, timestampMs: -5, protobufRest: rest(len(2, dbl(1, 1)), int(6, -5)) }] }],
    ],
    [
      'labels between other fields: the rest is the other fields in order',
      delimited(familyMessage('g', GAUGE, [[...len(2, dbl(1, 1)), ...label('a', 'b'), ...int(6, 7), ...label('c', 'd')]])),
      [{
        name: 'g',
        type: 'gauge',
        metrics: [{ labels: [{ name: 'a', value: 'b' }, { name: 'c', value: 'd' }], value: 1, timestampMs: 7, protobufRest: rest(len(2, dbl(1, 1)), int(6, 7)) }],
      }],
    ],
    [
      'a label field of the wrong wire type is an unknown field, kept in the rest',
      delimited(familyMessage('g', GAUGE, [[...int(1, 3), ...len(2, dbl(1, 1))]])),
      [{ name: 'g', type: 'gauge', metrics: [{ labels: [], value: 1, protobufRest: rest(int(1, 3), len(2, dbl(1, 1))) }] }],
    ],
    [
      'unknown fields (groups too) are skipped in the family and kept in the metric',
      delimited([...familyMessage('g', GAUGE, [[...len(2, dbl(1, 1)), ...int(99, 7), ...tag(100, 3), ...int(1, 2), ...tag(100, 4)]]), ...str(5, 'seconds'), ...tag(50, 5), 1, 2, 3, 4]),
      [{ name: 'g', type: 'gauge', metrics: [{ labels: [], value: 1, protobufRest: rest(len(2, dbl(1, 1)), int(99, 7), tag(100, 3), int(1, 2), tag(100, 4)) }] }],
    ],
    [
      'a repeated family name keeps the last family, where the name first appeared',
      delimited(familyMessage('a', GAUGE, [len(2, dbl(1, 1))]), familyMessage('b', GAUGE, [len(2, dbl(1, 2))]), familyMessage('a', COUNTER, [len(3, dbl(1, 3))])),
      [
        { name: 'a', type: 'counter', metrics: [{ labels: [], value: 3, protobufRest: rest(len(3, dbl(1, 3))) }] },
        { name: 'b', type: 'gauge', metrics: [{ labels: [], value: 2, protobufRest: rest(len(2, dbl(1, 2))) }] },
      ],
    ],
    ['an empty message is an unnamed counter family without metrics', delimited([]), [{ name: '', type: 'counter', metrics: [] }]],
    [
      'a family without metrics is kept (the store never exposes it)',
      delimited(familyMessage('e', GAUGE, [])),
      [{ name: 'e', type: 'gauge', metrics: [] }],
    ],
  ])('%s', (_name, body, expected) => {
    expect(decodeProtobufDelimited(body)).toEqual(expected);
  });

  test('a native histogram is marked native and keeps every byte for protobuf scrapes', () => {
    const histogram = [
      ...int(1, 10), ...dbl(2, 12.5), ...int(5, zigzag(3)), ...dbl(6, 1e-128), ...int(7, 1),
      ...len(12, [...int(1, zigzag(0)), ...int(2, 2)]), ...len(13, [...varint(zigzag(3)), ...varint(zigzag(-1))]),
      ...len(15, int(1, 1700000000)), ...len(16, exemplar),
    ];
    const [family] = decodeProtobufDelimited(delimited(familyMessage('nh', HISTOGRAM, [[...label('a', 'b'), ...len(7, histogram)]])));
    expect(family?.metrics[0]).toEqual({
      labels: [{ name: 'a', value: 'b' }],
      histogram: { sampleCount: 10, sampleSum: 12.5, buckets: [], native: true },
      protobufRest: rest(len(7, histogram)),
    });
  });

  test.each([
    ['a schema', int(5, 0)],
    ['a zero threshold', dbl(6, 0)],
    ['a zero count', int(7, 0)],
    ['a float zero count', dbl(8, 0)],
    ['a negative span', len(9, [])],
    ['unpacked positive deltas', int(13, 2)],
    ['packed negative counts', len(11, dbl(1, 1).slice(1))],
  ])('a histogram with %s is native', (_name, field) => {
    const [family] = decodeProtobufDelimited(delimited(familyMessage('h', HISTOGRAM, [len(7, field)])));
    expect(family?.metrics[0]?.histogram?.native).toBe(true);
  });

  test('an empty packed array does not make a histogram native', () => {
    const [family] = decodeProtobufDelimited(delimited(familyMessage('h', HISTOGRAM, [len(7, [...int(1, 1), ...len(10, [])])])));
    expect(family?.metrics[0]?.histogram).toEqual({ sampleCount: 1, sampleSum: 0, buckets: [] });
  });

  test('exemplars and created timestamps are kept in the rest', () => {
    const counter = [...dbl(1, 5), ...len(2, exemplar), ...createdTimestamp];
    const [family] = decodeProtobufDelimited(delimited(familyMessage('c', COUNTER, [len(3, counter)])));
    expect(family?.metrics[0]).toEqual({ labels: [], value: 5, protobufRest: rest(len(3, counter)) });
  });

  test('invalid UTF-8 in strings is kept as escaped bytes and written back unchanged', () => {
    const body = delimited(familyMessage('g', GAUGE, [[...len(1, [...str(1, 'a'), ...len(2, [0x61, 0xff])]), ...len(2, dbl(1, 1))]], '\u00e9'));
    const [family] = decodeProtobufDelimited(body);
    expect(family?.metrics[0]?.labels).toEqual([{ name: 'a', value: 'a\udcff' }]);
    expect(family && encodeFamilyDelimited(family)).toEqual(body);
  });

  test('the kept bytes do not share the body buffer', () => {
    const body = delimited(familyMessage('g', GAUGE, [len(2, dbl(1, 1))]));
    const rests = decodeProtobufDelimited(body).map((f) => f.metrics[0]?.protobufRest);
    expect(rests[0]?.buffer).not.toBe(body.buffer);
  });
});

describe('decodeProtobufDelimited refuses', () => {
  const valid = familyMessage('g', GAUGE, [len(2, dbl(1, 1))]);
  test.each<[string, Uint8Array, string]>([
    ['a truncated length prefix', Uint8Array.of(0x80), 'message 1 (at byte 0): unexpected EOF'],
    ['a message shorter than its length', Uint8Array.of(...varint(valid.length + 1), ...valid), 'message 1 (at byte 0): unexpected EOF'],
    ['a second message cut short', Uint8Array.of(...delimited(valid), ...varint(valid.length), ...valid.slice(0, 5)), 'message 2 (at byte 19): unexpected EOF'],
    ['a field running past its message', delimited([...str(1, 'g'), ...tag(4, 2), 50, ...tag(2, 1)]), 'unexpected EOF'],
    ['a varint of eleven bytes', delimited([...tag(3, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'varint overflows 64 bits'],
    ['a tenth varint byte above 1', delimited([...tag(3, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]), 'varint overflows 64 bits'],
    ['wire type 6', delimited([...tag(9, 6)]), 'invalid wire type 6'],
    ['wire type 7', delimited([...tag(9, 7)]), 'invalid wire type 7'],
    ['field number 0', delimited([0x00]), 'invalid field number 0'],
    ['a stray end-group tag', delimited([...tag(9, 4)]), 'mismatched end-group tag'],
    ['an end-group tag of another group', delimited([...tag(9, 3), ...tag(8, 4)]), 'mismatched end-group tag'],
    ['a group never closed', delimited([...tag(9, 3), ...int(1, 1)]), 'unexpected EOF'],
    ['a malformed exemplar in a counter', delimited(familyMessage('c', COUNTER, [len(3, [...dbl(1, 1), ...len(2, [...tag(2, 1), 0, 0])])])), 'unexpected EOF'],
    ['packed doubles of a length not a multiple of 8', delimited(familyMessage('h', HISTOGRAM, [len(7, len(14, [0, 0, 0, 0, 0, 0, 0, 0, 0]))])), 'unexpected EOF'],
    ['a truncated packed varint', delimited(familyMessage('h', HISTOGRAM, [len(7, len(10, [0x80]))])), 'unexpected EOF'],
    ['a type number outside the enum (upstream stores it and fails every text scrape)', delimited(familyMessage('x', 9, [len(2, dbl(1, 1))])), 'unknown metric type 9 for family "x"'],
    ['a negative type number', delimited(familyMessage('x', -1, [])), 'unknown metric type -1 for family "x"'],
  ])('%s', (_name, body, message) => {
    let error: unknown;
    try {
      decodeProtobufDelimited(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ code: ErrorCode.badBody, httpStatus: 400 });
    expect((error as Error).message).toMatch(/^protobuf format parsing error/);
    expect((error as Error).message).toContain(message);
  });

  test('an out-of-enum type is fine in a family a later one replaces', () => {
    const body = delimited(familyMessage('x', 9, []), familyMessage('x', GAUGE, [len(2, dbl(1, 1))]));
    expect(decodeProtobufDelimited(body).map((f) => f.type)).toEqual(['gauge']);
  });
});

describe('encodeFamilyDelimited', () => {
  test('writes name, help, type, then labels and typed value fields', () => {
    const family: MetricFamily = { name: 'c', help: 'H', type: 'counter', metrics: [{ labels: [{ name: 'a', value: 'b' }], value: 5 }] };
    expect(encodeFamilyDelimited(family)).toEqual(delimited([...str(1, 'c'), ...str(2, 'H'), ...int(3, COUNTER), ...len(4, [...label('a', 'b'), ...len(3, dbl(1, 5))])]));
  });

  test('writes no help field when help is undefined, and an empty one when empty', () => {
    expect(encodeFamilyDelimited({ name: 'g', type: 'gauge', metrics: [] })).toEqual(delimited([...str(1, 'g'), ...int(3, GAUGE)]));
    expect(encodeFamilyDelimited({ name: 'g', help: '', type: 'gauge', metrics: [] })).toEqual(delimited([...str(1, 'g'), ...str(2, ''), ...int(3, GAUGE)]));
  });

  test.each<[string, MetricFamily, number[]]>([
    [
      'a histogram with whole counts uses the integer fields',
      { name: 'h', type: 'histogram', metrics: [{ labels: [], histogram: { sampleCount: 3, sampleSum: 1.5, buckets: [{ upperBound: 1, cumulativeCount: 2 }] } }] },
      len(7, [...int(1, 3), ...dbl(2, 1.5), ...len(3, [...int(1, 2), ...dbl(2, 1)])]),
    ],
    [
      'one fractional count switches the whole histogram to the float fields',
      { name: 'h', type: 'gaugehistogram', metrics: [{ labels: [], histogram: { sampleCount: 3, sampleSum: 0, buckets: [{ upperBound: 1, cumulativeCount: 1.5 }] } }] },
      len(7, [...dbl(2, 0), ...len(3, [...dbl(2, 1), ...dbl(4, 1.5)]), ...dbl(4, 3)]),
    ],
    [
      'a summary',
      { name: 's', type: 'summary', metrics: [{ labels: [], summary: { sampleCount: 2, sampleSum: 3, quantiles: [{ quantile: 0.5, value: 1 }] } }] },
      len(4, [...int(1, 2), ...dbl(2, 3), ...len(3, [...dbl(1, 0.5), ...dbl(2, 1)])]),
    ],
    [
      'a summary count of 2^64 (a wrapped negative count) is written as the largest uint64',
      { name: 's', type: 'summary', metrics: [{ labels: [], summary: { sampleCount: 2 ** 64, sampleSum: 0, quantiles: [] } }] },
      len(4, [...int(1, 2n ** 64n - 1n), ...dbl(2, 0)]),
    ],
    [
      'a negative timestamp as a ten-byte varint, before a histogram',
      { name: 'h', type: 'histogram', metrics: [{ labels: [], histogram: { sampleCount: 0, sampleSum: 0, buckets: [] }, timestampMs: -1 }] },
      [...int(6, -1), ...len(7, [...int(1, 0), ...dbl(2, 0)])],
    ],
    [
      'the kept bytes instead of the typed fields',
      { name: 'g', type: 'gauge', metrics: [{ labels: [], value: 99, protobufRest: Uint8Array.from(len(2, dbl(1, 1))) }] },
      len(2, dbl(1, 1)),
    ],
    ['no value field for a metric without a value', { name: 'g', type: 'gauge', metrics: [{ labels: [] }] }, []],
  ])('%s', (_name, family, metricBody) => {
    const type = { counter: COUNTER, gauge: GAUGE, summary: SUMMARY, untyped: UNTYPED, histogram: HISTOGRAM, gaugehistogram: GAUGE_HISTOGRAM }[family.type];
    expect(encodeFamilyDelimited(family)).toEqual(delimited([...str(1, family.name), ...int(3, type), ...len(4, metricBody)]));
  });

  test('a long family gets a multi-byte length prefix', () => {
    const metrics: Metric[] = Array.from({ length: 50 }, (_, i) => ({ labels: [{ name: 'i', value: String(i) }], value: i }));
    const encoded = encodeFamilyDelimited({ name: 'x', type: 'gauge', metrics });
    expect(encoded[0]).toBeGreaterThanOrEqual(0x80);
    expect(decodeProtobufDelimited(encoded)[0]?.metrics.map((m) => m.value)).toEqual(metrics.map((m) => m.value));
  });

  test('long and non-ASCII strings are written as UTF-8', () => {
    const value = 'Π'.repeat(100);
    const [family] = decodeProtobufDelimited(encodeFamilyDelimited({ name: 'x', help: value, type: 'gauge', metrics: [{ labels: [{ name: 'l', value }], value: 1 }] }));
    expect(family?.help).toBe(value);
    expect(family?.metrics[0]?.labels[0]?.value).toBe(value);
  });
});

describe('round trips', () => {
  const stripRest = (families: MetricFamily[]): MetricFamily[] =>
    families.map((f) => ({ ...f, metrics: f.metrics.map(({ protobufRest: _rest, ...m }) => m) }));
  const text = [
    '# HELP c Requests.',
    '# TYPE c counter',
    'c{code="200",path="/Π"} 1027 1700000000000',
    'c{code="500",path=""} NaN',
    '# TYPE g gauge',
    'g -Inf',
    '# TYPE s summary',
    's{quantile="0.5"} 0.05',
    's_sum 17',
    's_count 2',
    '# TYPE h histogram',
    'h_bucket{le="0.1",a="b"} 1',
    'h_bucket{le="+Inf",a="b"} 2',
    'h_sum{a="b"} 0.0001',
    'h_count{a="b"} 2',
    '# TYPE f gaugehistogram',
    'f_bucket{le="1"} 0.5',
    'f_count 1.5',
    'u 3',
    '',
  ].join('\n');
  const parsed = parseText(new TextEncoder().encode(text));

  test.each(parsed.map((f): [string, MetricFamily] => [f.name, f]))('a text-born %s family decodes to itself', (_name, family) => {
    const encoded = encodeFamilyDelimited(family);
    const decoded = decodeProtobufDelimited(encoded);
    expect(stripRest(decoded)).toEqual([family]);
    expect(decoded[0] && encodeFamilyDelimited(decoded[0])).toEqual(encoded);
  });

  test('a protobuf-born body decodes, encodes and decodes to the same families', () => {
    const body = delimited(
      familyMessage('nh', HISTOGRAM, [[...label('a', 'b'), ...len(7, [...int(1, 10), ...int(5, zigzag(3)), ...len(12, int(2, 2)), ...len(16, exemplar)])]], 'native'),
      familyMessage('c', COUNTER, [[...len(3, [...dbl(1, 5), ...len(2, exemplar), ...createdTimestamp]), ...int(6, -3)]]),
    );
    const decoded = decodeProtobufDelimited(body);
    const again = decodeProtobufDelimited(Uint8Array.from(decoded.flatMap((f) => [...encodeFamilyDelimited(f)])));
    expect(again).toEqual(decoded);
  });
});

interface ProtobufReferenceCase {
  hex: string;
  expected: { error: true; upstreamAccepts?: true } | { families: ReferenceFamily[] };
}

describe('decodeProtobufDelimited against upstream', () => {
  const { cases } = readFixture<{ cases: ProtobufReferenceCase[] }>('protobuf-reference.json');
  test.each(cases.map((c): [string, ProtobufReferenceCase] => [c.hex.length > 100 ? `${c.hex.slice(0, 100)}…` : c.hex, c]))('%s', (_name, c) => {
    const body = Uint8Array.from(Buffer.from(c.hex, 'hex'));
    if ('error' in c.expected) {
      expect(() => decodeProtobufDelimited(body)).toThrow(BadRequestError);
      return;
    }
    const actual = referenceForm(decodeProtobufDelimited(body));
    const expected = c.expected.families;
    // Where upstream's text writer fails (a metric without its type's value), compare the data only.
    expect(actual.map((f, i) => (expected[i]?.text === null ? { ...f, text: null } : f))).toEqual(expected);
  });
});
