/**
 * Structure-aware generators for delimited protobuf: MetricFamily / Metric / LabelPair and every
 * nested message of prometheus/client_model (exemplars, created timestamps, native histogram
 * spans and packed deltas), written by a test-side wire writer that can also produce what no
 * client would: unknown fields, wrong wire types, overlong and overflowing varints, nested
 * groups beyond the depth limit, and length prefixes larger than the buffer.
 */

import fc from 'fast-check';
import { anyBytes, concat, latin1, mutated, utf8 } from './byte-mutations.js';

/** A field as the test writer sees it. */
export type PbField =
  | { readonly field: number; readonly wire: 'varint'; readonly value: bigint; readonly pad: number }
  | { readonly field: number; readonly wire: 'fixed64' | 'fixed32' | 'bytes'; readonly bytes: Uint8Array }
  | { readonly field: number; readonly wire: 'message'; readonly fields: readonly PbField[]; readonly lengthDelta: number }
  | { readonly field: number; readonly wire: 'group'; readonly fields: readonly PbField[] }
  | { readonly field: number; readonly wire: 'raw-wiretype'; readonly wireType: number; readonly bytes: Uint8Array };

/** A varint, with `pad` redundant continuation bytes (overlong; past 10 bytes, invalid). */
export function varint(value: bigint, pad = 0): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  if (pad > 0) {
    out[out.length - 1] = (out[out.length - 1] ?? 0) | 0x80;
    for (let i = 1; i < pad; i++) out.push(0x80);
    out.push(0);
  }
  return Uint8Array.from(out);
}

const tag = (field: number, wireType: number): Uint8Array => varint(BigInt(field) * 8n + BigInt(wireType));

export function encodeFields(fields: readonly PbField[]): Uint8Array {
  return concat(...fields.map(encodeField));
}

function encodeField(f: PbField): Uint8Array {
  switch (f.wire) {
    case 'varint':
      return concat(tag(f.field, 0), varint(f.value, f.pad));
    case 'fixed64':
      return concat(tag(f.field, 1), f.bytes);
    case 'fixed32':
      return concat(tag(f.field, 5), f.bytes);
    case 'bytes':
      return concat(tag(f.field, 2), varint(BigInt(f.bytes.length)), f.bytes);
    case 'message': {
      const body = encodeFields(f.fields);
      return concat(tag(f.field, 2), varint(BigInt(Math.max(0, body.length + f.lengthDelta))), body);
    }
    case 'group':
      return concat(tag(f.field, 3), encodeFields(f.fields), tag(f.field, 4));
    case 'raw-wiretype':
      return concat(tag(f.field, f.wireType), f.bytes);
  }
}

// --- scalars

const VARINT_EDGES = [0n, 1n, 127n, 128n, 255n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

const varintValue = fc.oneof(
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 300n }) },
  { weight: 2, arbitrary: fc.constantFrom(...VARINT_EDGES) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
);
const padding = fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) });

const varintField = (field: number, value: fc.Arbitrary<bigint> = varintValue): fc.Arbitrary<PbField> =>
  fc.record({ field: fc.constant(field), wire: fc.constant('varint' as const), value, pad: padding });

const double = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53, 2 ** 63, 2 ** 64, 0.5, 1),
);
const doubleBytes = double.map((v) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
});
const doubleField = (field: number): fc.Arbitrary<PbField> =>
  fc.record({ field: fc.constant(field), wire: fc.constant('fixed64' as const), bytes: fc.oneof({ weight: 5, arbitrary: doubleBytes }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 8, maxLength: 8 }) }) });

const stringBytes = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('x', 'y', 'x_count', 'a', 'b', 'le', 'quantile', 'job', 'instance', '', 'push_time_seconds', 'a.b', 'Π', '__name__').map(utf8) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(utf8) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('\xff', '\xc3', '\xed\xa0\x80', 'a\x00b').map(latin1) },
);
const stringField = (field: number): fc.Arbitrary<PbField> =>
  fc.record({ field: fc.constant(field), wire: fc.constant('bytes' as const), bytes: stringBytes });

/** A field no schema knows, or a known number under a wire type the schema does not expect. */
const strayField: fc.Arbitrary<PbField> = fc.oneof(
  fc.integer({ min: 1, max: 40 }).chain((field) => varintField(field)),
  fc.record({ field: fc.integer({ min: 1, max: 2 ** 29 - 1 }), wire: fc.constant('fixed32' as const), bytes: fc.uint8Array({ minLength: 4, maxLength: 4 }) }),
  fc.record({ field: fc.integer({ min: 1, max: 40 }), wire: fc.constant('fixed64' as const), bytes: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({ field: fc.integer({ min: 1, max: 40 }), wire: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({
    field: fc.integer({ min: 1, max: 40 }),
    wire: fc.constant('group' as const),
    fields: fc.array(fc.integer({ min: 1, max: 40 }).chain((f) => varintField(f)), { maxLength: 3 }),
  }),
  fc.record({
    field: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2 ** 29 - 1, 2 ** 29, 2 ** 31)),
    wire: fc.constant('raw-wiretype' as const),
    wireType: fc.integer({ min: 0, max: 7 }),
    bytes: fc.uint8Array({ maxLength: 10 }),
  }),
);

/** A nested message field with its schema's fields, sometimes a stray one or a wrong length. */
function message(field: number, fields: fc.Arbitrary<PbField>, maxLength = 4): fc.Arbitrary<PbField> {
  return fc.record({
    field: fc.constant(field),
    wire: fc.constant('message' as const),
    fields: fc.array(fc.oneof({ weight: 8, arbitrary: fields }, { weight: 1, arbitrary: strayField }), { maxLength }),
    lengthDelta: fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
  });
}

const packedVarints = (field: number): fc.Arbitrary<PbField> =>
  fc.oneof(
    fc.record({
      field: fc.constant(field),
      wire: fc.constant('bytes' as const),
      bytes: fc.array(fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), padding), { maxLength: 6 }).map((vs) => concat(...vs.map(([v, p]) => varint(v, p)))),
    }),
    varintField(field),
  );
const packedDoubles = (field: number): fc.Arbitrary<PbField> =>
  fc.oneof(
    fc.record({ field: fc.constant(field), wire: fc.constant('bytes' as const), bytes: fc.array(doubleBytes, { maxLength: 4 }).map((b) => concat(...b)) }),
    fc.record({ field: fc.constant(field), wire: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 20 }) }),
    doubleField(field),
  );

// --- client_model messages

const timestampMsg = (field: number): fc.Arbitrary<PbField> => message(field, fc.oneof(varintField(1), varintField(2)), 3);
const labelPair = (field: number): fc.Arbitrary<PbField> => message(field, fc.oneof(stringField(1), stringField(2)), 3);
const exemplar = (field: number): fc.Arbitrary<PbField> => message(field, fc.oneof(labelPair(1), doubleField(2), timestampMsg(3)), 4);
const valueMsg = (field: number): fc.Arbitrary<PbField> => message(field, fc.oneof(doubleField(1), exemplar(2), timestampMsg(3)), 3);
const quantile = message(3, fc.oneof(doubleField(1), doubleField(2)), 3);
const summaryMsg = message(4, fc.oneof(varintField(1), doubleField(2), quantile, timestampMsg(4)), 6);
const bucket = message(3, fc.oneof(varintField(1), doubleField(4), doubleField(2), exemplar(3)), 4);
const span = (field: number): fc.Arbitrary<PbField> => message(field, fc.oneof(varintField(1), varintField(2)), 2);
const histogramMsg = message(
  7,
  fc.oneof(
    varintField(1), doubleField(4), doubleField(2), bucket, bucket, timestampMsg(15), varintField(5), doubleField(6), varintField(7),
    doubleField(8), span(9), packedVarints(10), packedDoubles(11), span(12), packedVarints(13), packedDoubles(14), exemplar(16),
  ),
  8,
);
const metricMsg = message(
  4,
  fc.oneof(
    { weight: 4, arbitrary: labelPair(1) },
    { weight: 2, arbitrary: valueMsg(2) },
    { weight: 2, arbitrary: valueMsg(3) },
    { weight: 1, arbitrary: summaryMsg },
    { weight: 2, arbitrary: valueMsg(5) },
    { weight: 1, arbitrary: varintField(6) },
    { weight: 1, arbitrary: histogramMsg },
  ),
  6,
);
const typeField = varintField(3, fc.oneof({ weight: 8, arbitrary: fc.bigInt({ min: 0n, max: 5n }) }, { weight: 1, arbitrary: varintValue }));

/** The fields of one MetricFamily. */
const familyFields: fc.Arbitrary<PbField[]> = fc
  .tuple(
    stringField(1),
    fc.option(stringField(2), { freq: 2 }),
    fc.option(typeField, { freq: 6 }),
    fc.array(metricMsg, { maxLength: 4 }),
    fc.array(fc.oneof(stringField(5), strayField, stringField(1), typeField), { maxLength: 2 }),
    fc.boolean(),
  )
  .map(([name, help, type, metrics, extra, shuffle]) => {
    const fields = [name, ...(help === null ? [] : [help]), ...(type === null ? [] : [type]), ...metrics, ...extra];
    return shuffle ? fields.reverse() : fields;
  });

/** A delimited protobuf body: each MetricFamily behind its length, sometimes a wrong length. */
export const protobufBody: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.tuple(familyFields, fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -4, max: 1 << 20 }) }), padding),
    { maxLength: 4 },
  )
  .map((families) =>
    concat(
      ...families.map(([fields, delta, pad]) => {
        const body = encodeFields(fields);
        return concat(varint(BigInt(Math.max(0, body.length + delta)), pad), body);
      }),
    ),
  );

/** Tokens that mutations splice into protobuf bodies: varint edges, tags, big lengths. */
export const PROTOBUF_TOKENS: readonly Uint8Array[] = [
  varint(2n ** 64n - 1n),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02),
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
  Uint8Array.of(0x80),
  varint(2n ** 31n),
  tag(1, 2),
  tag(4, 2),
  tag(1, 3),
  tag(1, 4),
  tag(2, 1),
  tag(3, 0),
  tag(0, 0),
  tag(2 ** 29, 0),
  tag(7, 6),
  tag(7, 7),
  Uint8Array.of(0x00),
  Uint8Array.of(0x7f),
];

/** Groups nested `depth` deep inside a Metric (the decoder's depth limit is 10,000). */
export const deeplyNested: fc.Arbitrary<Uint8Array> = fc
  .record({ depth: fc.integer({ min: 1, max: 12_000 }), field: fc.integer({ min: 8, max: 40 }), closed: fc.boolean() })
  .map(({ depth, field, closed }) => {
    const open = tag(field, 3);
    const close = tag(field, 4);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < depth; i++) parts.push(open);
    if (closed) for (let i = 0; i < depth; i++) parts.push(close);
    const metric = concat(...parts);
    const family = concat(tag(1, 2), varint(1n), utf8('x'), tag(4, 2), varint(BigInt(metric.length)), metric);
    return concat(varint(BigInt(family.length)), family);
  });

/** Many small metrics or labels in one family: large but well-formed bodies (5,000 ≈ 60 KiB). */
export const largeProtobufBody = (maxCount = 5000, minCount = 1): fc.Arbitrary<Uint8Array> => fc
  .record({ count: fc.integer({ min: minCount, max: maxCount }), labels: fc.boolean() })
  .map(({ count, labels }) => {
    const label = encodeFields([{ field: 1, wire: 'message', lengthDelta: 0, fields: [
      { field: 1, wire: 'bytes', bytes: utf8('a') },
      { field: 2, wire: 'bytes', bytes: utf8('v') },
    ] }]);
    const gauge = encodeFields([{ field: 2, wire: 'message', lengthDelta: 0, fields: [{ field: 1, wire: 'fixed64', bytes: new Uint8Array(8) }] }]);
    const metricBody = labels ? concat(...Array.from({ length: count }, () => label), gauge) : gauge;
    const metric = concat(tag(4, 2), varint(BigInt(metricBody.length)), metricBody);
    const body = concat(tag(1, 2), varint(1n), utf8('x'), tag(3, 0), varint(1n), ...(labels ? [metric] : Array.from({ length: count }, () => metric)));
    return concat(varint(BigInt(body.length)), body);
  });

/** Every kind of protobuf input: valid, mutated, deep, large, arbitrary bytes. */
export const hostileProtobufBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: mutated(protobufBody, PROTOBUF_TOKENS) },
  { weight: 3, arbitrary: protobufBody },
  { weight: 1, arbitrary: fc.oneof(deeplyNested, largeProtobufBody(), mutated(largeProtobufBody(), PROTOBUF_TOKENS)) },
  { weight: 2, arbitrary: anyBytes() },
);
