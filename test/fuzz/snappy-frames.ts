/**
 * A test-side writer of the snappy framing format with real compressed chunks (literals and all
 * three copy encodings, overlapping copies included), so the decoder's copy paths are reached,
 * and the bombs made of them: chunks of long copies that expand about twenty-fold.
 */

import fc from 'fast-check';
import { concat } from './byte-mutations.js';

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function maskedCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One element of a compressed block. */
export type SnappyOp =
  | { readonly kind: 'literal'; readonly bytes: Uint8Array }
  | { readonly kind: 'copy'; readonly encoding: 1 | 2 | 4; readonly back: number; readonly length: number };

function uvarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function le(n: number, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => Math.floor(n / 2 ** (8 * i)) & 0xff);
}

/** Encodes ops as one block; returns the block and the bytes it decodes to. */
export function snappyBlock(ops: readonly SnappyOp[]): { block: Uint8Array; data: Uint8Array } {
  const data: number[] = [];
  const elements: number[] = [];
  for (const op of ops) {
    if (op.kind === 'literal' || data.length === 0) {
      const bytes = op.kind === 'literal' ? op.bytes : Uint8Array.of(0);
      if (bytes.length === 0) continue;
      const n = bytes.length - 1;
      if (n < 60) elements.push(n << 2);
      else {
        const width = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
        elements.push((59 + width) << 2, ...le(n, width));
      }
      elements.push(...bytes);
      data.push(...bytes);
      continue;
    }
    const offset = 1 + (op.back % data.length);
    let encoding = op.encoding;
    let length = op.length;
    if (encoding === 1 && offset >= 2048) encoding = 2;
    if (encoding === 2 && offset >= 0x10000) encoding = 4;
    if (encoding === 1) {
      length = 4 + (length % 8);
      elements.push(0x01 | ((length - 4) << 2) | ((offset >> 8) << 5), offset & 0xff);
    } else {
      length = 1 + (length % 64);
      elements.push((encoding === 2 ? 0x02 : 0x03) | ((length - 1) << 2), ...le(offset, encoding));
    }
    for (let i = 0; i < length; i++) data.push(data[data.length - offset] ?? 0);
  }
  return { block: Uint8Array.from([...uvarint(data.length), ...elements]), data: Uint8Array.from(data) };
}

const STREAM_IDENTIFIER = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59);

function chunk(type: number, data: Uint8Array, payload: Uint8Array): Uint8Array {
  const crc = maskedCrc32c(data);
  const length = payload.length + 4;
  return concat(Uint8Array.of(type, length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff), Uint8Array.from(le(crc, 4)), payload);
}

/** A framed stream of the given chunks (compressed or stored); returns it and its decoded bytes. */
export function snappyFramed(chunks: readonly { readonly ops: readonly SnappyOp[]; readonly stored: boolean }[]): {
  stream: Uint8Array;
  data: Uint8Array;
} {
  const parts: Uint8Array[] = [STREAM_IDENTIFIER];
  const decoded: Uint8Array[] = [];
  for (const c of chunks) {
    const { block, data } = snappyBlock(c.ops);
    parts.push(c.stored ? chunk(0x01, data, data) : chunk(0x00, data, block));
    decoded.push(data);
  }
  return { stream: concat(...parts), data: concat(...decoded) };
}

const op: fc.Arbitrary<SnappyOp> = fc.oneof(
  fc.record({ kind: fc.constant('literal' as const), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.uint8Array({ minLength: 200, maxLength: 300 })) }),
  fc.record({ kind: fc.constant('copy' as const), encoding: fc.constantFrom(1 as const, 2 as const, 4 as const), back: fc.nat(), length: fc.nat() }),
);

/** Valid framed streams with their decoded bytes. */
export const snappyStream = fc
  .array(fc.record({ ops: fc.array(op, { maxLength: 12 }), stored: fc.boolean() }), { maxLength: 4 })
  .map(snappyFramed);

/** A stream that decodes to about `bytes` bytes from a much smaller input (64 KiB chunks of copies). */
export function snappyBomb(bytes: number): Uint8Array {
  const perChunk = 1 + 1023 * 64;
  const ops: SnappyOp[] = [{ kind: 'literal', bytes: Uint8Array.of(0x61) }];
  for (let i = 0; i < 1023; i++) ops.push({ kind: 'copy', encoding: 2, back: 0, length: 63 });
  const chunks = Array.from({ length: Math.ceil(bytes / perChunk) }, () => ({ ops, stored: false }));
  return snappyFramed(chunks).stream;
}
