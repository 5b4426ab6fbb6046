/**
 * Properties of the gateway's request decoders under hostile input:
 * - decodeRequestPath: any request target gives a path that starts with `/`, or BadRequestError;
 * - decodeBody: gzip and snappy bodies decode to what was compressed; damaged ones and anything
 *   else give BadRequestError (400) or PayloadTooLargeError (413), nothing else; what it returns
 *   is never larger than the limit;
 * - compression bombs (gzip, snappy) are refused with 413, quickly.
 */

import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { BadRequestError, ErrorCode, PayloadTooLargeError } from '../../src/errors.js';
import { decodeBody } from '../../src/gateway/body/decompress.js';
import { decodeRequestPath } from '../../src/gateway/request-path.js';
import { assertAsyncProperty, assertProperty } from './assert-property.js';
import type { FuzzProperty } from './budget.js';
import { anyBytes, concat, mutated, utf8 } from './byte-mutations.js';
import { asyncOutcomeOf, check, outcomeOf } from './outcome.js';
import { snappyBomb, snappyStream } from './snappy-frames.js';

/** The body limit the decoder properties use (the flag's default is 32 MiB). */
export const DECODE_LIMIT = 256 * 1024;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const pathUnit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('/', '/', '//', '.', '..', '/./', '/../', 'metrics', 'job', 'job@base64', '@base64', 'a', 'Z', '=', '+', ' ', '?', '#', '&') },
  { weight: 4, arbitrary: fc.constantFrom('%', '%2F', '%2f', '%2E', '%2e', '%25', '%zz', '%C3%BF', '%ED%A0%80', '%FF', '%00', '%0A', '%E2%82', '%F0%9F%98%80', '%%', '%2') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('\xff', '\u0000', '\n', '\\') },
  { weight: 1, arbitrary: loneSurrogate },
);
export const hostileRequestTarget = fc.oneof(
  fc.string({ unit: pathUnit, maxLength: 24 }),
  fc.string({ unit: pathUnit, maxLength: 24 }).map((s) => `/${s}`),
  fc.constantFrom('*', 'http://example/metrics', '', '/metrics/job/j?x=%zz', '/metrics/job/%E0%A4%A'),
);

const ENCODINGS = ['gzip', 'GZIP', ' gzip ', 'x-gzip', 'snappy', 'Snappy', 'identity', 'deflate', 'br', '', 'gzip, snappy'] as const;

interface EncodedBody {
  readonly encoding: string | undefined;
  readonly body: Uint8Array;
  /** What it must decode to, when it is known to be valid. */
  readonly want?: Uint8Array;
}

const plainData = fc.oneof(fc.uint8Array({ maxLength: 2048 }), fc.string({ unit: 'grapheme', maxLength: 512 }).map(utf8));
const GZIP_TOKENS = [Uint8Array.of(0x1f, 0x8b, 0x08, 0x00), Uint8Array.of(0x00), Uint8Array.of(0xff, 0xff), Uint8Array.of(0x1f, 0x8b)];
const SNAPPY_TOKENS = [Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59), Uint8Array.of(0x00, 0xff, 0xff, 0xff), Uint8Array.of(0xfe), Uint8Array.of(0x02)];

const encodedBody: fc.Arbitrary<EncodedBody> = fc.oneof(
  plainData.map((data) => ({ encoding: 'gzip', body: gzipSync(data), want: data })),
  fc.array(plainData, { minLength: 2, maxLength: 3 }).map((parts) => ({ encoding: 'gzip', body: concat(...parts.map((p) => gzipSync(p))), want: concat(...parts) })),
  snappyStream.map(({ stream, data }) => ({ encoding: 'snappy', body: stream, want: data })),
  mutated(plainData.map((d) => new Uint8Array(gzipSync(d))), GZIP_TOKENS).map((body) => ({ encoding: 'gzip', body })),
  mutated(snappyStream.map((s) => s.stream), SNAPPY_TOKENS).map((body) => ({ encoding: 'snappy', body })),
  fc.record({ encoding: fc.option(fc.constantFrom(...ENCODINGS), { nil: undefined }), body: anyBytes() }),
);

const bomb: fc.Arbitrary<EncodedBody> = fc.oneof(
  fc
    .record({ size: fc.integer({ min: DECODE_LIMIT + 1, max: 16 * DECODE_LIMIT }), fill: fc.uint8Array({ minLength: 1, maxLength: 16 }) })
    .map(({ size, fill }) => ({ encoding: 'gzip', body: gzipSync(Buffer.alloc(size, fill)) })),
  fc
    .array(fc.integer({ min: 1, max: DECODE_LIMIT }), { minLength: 2, maxLength: 6 })
    .filter((sizes) => sizes.reduce((a, b) => a + b, 0) > DECODE_LIMIT)
    .map((sizes) => ({ encoding: 'gzip', body: concat(...sizes.map((n) => gzipSync(Buffer.alloc(n)))) })),
  fc.integer({ min: DECODE_LIMIT + 1, max: 16 * DECODE_LIMIT }).map((size) => ({ encoding: 'snappy', body: snappyBomb(size) })),
);

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

async function checkDecode({ encoding, body, want }: EncodedBody): Promise<void> {
  const out = await asyncOutcomeOf('decodeBody', () => decodeBody(toBuffer(body), encoding, DECODE_LIMIT), [BadRequestError, PayloadTooLargeError]);
  if (want !== undefined) {
    check(out.ok, () => `a valid ${encoding ?? ''} body was refused: ${out.ok ? '' : out.error.message}`);
    if (out.ok) check(Buffer.compare(out.value, toBuffer(want)) === 0, () => `a valid ${encoding ?? ''} body decoded to other bytes`);
  }
  if (out.ok) check(out.value.length <= Math.max(DECODE_LIMIT, body.length), () => `decoded ${out.value.length} bytes, over the limit`);
  else if (out.error instanceof PayloadTooLargeError) check(out.error.code === ErrorCode.bodyTooLarge, () => `unexpected code ${out.error.code}`);
  else check(out.error.code === ErrorCode.badEncoding, () => `unexpected code ${out.error.code}: ${out.error.message}`);
}

export const decoderProperties: readonly FuzzProperty[] = [
  {
    name: 'decodeRequestPath: any request target gives a path or BadRequestError',
    weight: 6,
    run: (fuzz) =>
      assertProperty(fuzz, hostileRequestTarget, (t) => t, (target) => {
          const out = outcomeOf('decodeRequestPath', () => decodeRequestPath(target), [BadRequestError]);
          if (out.ok) check(out.value.startsWith('/'), () => `decoded to ${JSON.stringify(out.value)}`);
          else check(out.error.code === ErrorCode.badPath, () => `unexpected code ${out.error.code}`);
      }),
  },
  {
    name: 'decodeBody: gzip and snappy bodies decode exactly, or give 400/413',
    weight: 6,
    run: (fuzz) => assertAsyncProperty(fuzz, encodedBody, (t) => t.body, checkDecode),
  },
  {
    name: 'decodeBody: gzip and snappy bombs are refused with 413',
    weight: 1,
    run: (fuzz) =>
      assertAsyncProperty(fuzz, bomb, (t) => t.body, async ({ encoding, body }) => {
        const out = await asyncOutcomeOf('decodeBody', () => decodeBody(toBuffer(body), encoding, DECODE_LIMIT), [BadRequestError, PayloadTooLargeError]);
        check(!out.ok && out.error instanceof PayloadTooLargeError, () => `a ${encoding ?? ''} bomb of ${body.length} bytes gave ${out.ok ? `${out.value.length} bytes` : `${out.error.httpStatus} ${out.error.message}`}`);
      }),
  },
];
