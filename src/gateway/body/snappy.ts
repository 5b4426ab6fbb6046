import { BadRequestError, ErrorCode } from '../../errors.js';

/**
 * A decoder for the snappy framing format (what `Content-Encoding: snappy` carries, as the
 * Pushgateway reads it with golang/snappy's Reader), bounded by `limit` output bytes.
 */

const bad = (why: string): never => {
  throw new BadRequestError(ErrorCode.badEncoding, `snappy: ${why}`);
};

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Decodes one raw snappy block. */
export function decodeSnappyBlock(input: Uint8Array, limit: number): Uint8Array {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) bad('corrupt input');
    const b = input[pos++] ?? 0;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > limit) bad('decoded block too large');
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++] ?? 0;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const bytes = len - 59;
          if (pos + bytes > input.length) bad('corrupt input');
          len = 0;
          for (let i = 0; i < bytes; i++) len += (input[pos + i] ?? 0) * 2 ** (8 * i);
          pos += bytes;
        }
        len += 1;
        if (pos + len > input.length || o + len > length) bad('corrupt input');
        out.set(input.subarray(pos, pos + len), o);
        pos += len;
        o += len;
        continue;
      }
      case 1:
        if (pos >= input.length) bad('corrupt input');
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | (input[pos++] ?? 0);
        break;
      case 2:
        if (pos + 2 > input.length) bad('corrupt input');
        len = (tag >>> 2) + 1;
        offset = (input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8);
        pos += 2;
        break;
      default:
        if (pos + 4 > input.length) bad('corrupt input');
        len = (tag >>> 2) + 1;
        offset = ((input[pos] ?? 0) | ((input[pos + 1] ?? 0) << 8) | ((input[pos + 2] ?? 0) << 16)) + (input[pos + 3] ?? 0) * 2 ** 24;
        pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) bad('corrupt input');
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset] ?? 0;
  }
  if (o !== length) bad('corrupt input');
  return out;
}

/** The framing format's largest chunk, decoded (golang/snappy refuses larger ones as corrupt). */
const MAX_CHUNK_BYTES = 65536;

/**
 * Decodes a snappy framed stream. Stops as soon as the output passes `limit` bytes and returns
 * what it has, so the caller sees a body over its limit (413) while the work and memory stay
 * bounded: at most one chunk past the limit, and no chunk above 64 KiB.
 */
export function decodeSnappyFramed(input: Uint8Array, limit: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  let sawIdentifier = false;
  while (pos < input.length) {
    if (pos + 4 > input.length) bad('corrupt input');
    const type = input[pos] ?? 0;
    const len = (input[pos + 1] ?? 0) | ((input[pos + 2] ?? 0) << 8) | ((input[pos + 3] ?? 0) << 16);
    pos += 4;
    if (pos + len > input.length) bad('corrupt input');
    const chunk = input.subarray(pos, pos + len);
    pos += len;
    if (type === 0xff) {
      if (new TextDecoder().decode(chunk) !== 'sNaPpY') bad('unsupported input (not a snappy stream)');
      sawIdentifier = true;
      continue;
    }
    if (!sawIdentifier) bad('corrupt input (missing stream identifier)');
    if (type === 0x00 || type === 0x01) {
      if (len < 4) bad('corrupt input');
      const checksum = (chunk[0] ?? 0) | ((chunk[1] ?? 0) << 8) | ((chunk[2] ?? 0) << 16) | ((chunk[3] ?? 0) << 24);
      const data = type === 0x00 ? decodeSnappyBlock(chunk.subarray(4), MAX_CHUNK_BYTES) : chunk.subarray(4);
      if (maskedCrc(data) !== checksum >>> 0) bad('corrupt input (checksum mismatch)');
      total += data.length;
      parts.push(data);
      if (total > limit) break;
    } else if (type >= 0x02 && type <= 0x7f) {
      bad('unsupported input (reserved chunk type)');
    }
  }
  return Buffer.concat(parts);
}
