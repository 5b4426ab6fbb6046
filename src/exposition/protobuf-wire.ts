/**
 * Protocol buffer wire format primitives: a bounds-checked reader that never reads past its
 * end (every length is checked against the bytes that remain), and a growable writer.
 * Malformed input throws WireFormatError; the delimited decoder turns it into a 400.
 *
 * (About 310 lines: the reader and the writer of one wire format, each a flat list of primitives.)
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

const MAX_FIELD_NUMBER = 2 ** 29 - 1;
/** Nesting limit for groups and known sub-messages, as in the Go protobuf runtime. */
const MAX_DEPTH = 10000;
const TWO_POW_32 = 2 ** 32;

export class WireFormatError extends Error {}

export interface WireReader {
  readonly buf: Uint8Array;
  /** `buf` as a Buffer (the same memory), for reading strings out of it. */
  readonly bytes: Buffer;
  readonly view: DataView;
  pos: number;
  /** Where the message being read ends (moved by enterMessage / leaveMessage). */
  end: number;
  /** The field number and wire type of the last tag read. */
  field: number;
  wireType: number;
}

export function createReader(buf: Uint8Array): WireReader {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return { buf, bytes, view, pos: 0, end: buf.length, field: 0, wireType: 0 };
}

/**
 * Enters the length-delimited message whose length prefix is next: until leaveMessage, r.end is
 * its end. Returns the enclosing end, to pass to leaveMessage.
 */
export function enterMessage(r: WireReader): number {
  const end = readLengthEnd(r);
  const outer = r.end;
  r.end = end;
  return outer;
}

export function leaveMessage(r: WireReader, outer: number): void {
  r.end = outer;
}

const truncated = (): WireFormatError => new WireFormatError('unexpected EOF');

function byteAt(r: WireReader): number {
  if (r.pos >= r.end) throw truncated();
  return r.buf[r.pos++] ?? 0;
}

/**
 * A varint as an unsigned 64-bit number (exact below 2^53). At most 10 bytes, the tenth at
 * most 1, as the Go runtime requires. lo/hi receive the two 32-bit halves.
 */
function readVarintParts(r: WireReader): { lo: number; hi: number } {
  let lo = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    b = byteAt(r);
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return { lo: lo >>> 0, hi: 0 };
  }
  b = byteAt(r);
  lo |= (b & 0x7f) << 28;
  let hi = (b & 0x7f) >>> 4;
  if (b < 0x80) return { lo: lo >>> 0, hi };
  for (let shift = 3; shift < 31; shift += 7) {
    b = byteAt(r);
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) return { lo: lo >>> 0, hi: hi >>> 0 };
  }
  b = byteAt(r);
  if (b > 1) throw new WireFormatError('varint overflows 64 bits');
  hi |= b << 31;
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

/** An unsigned varint (uint64, uint32, enum, length) as a number. */
export function readVarint(r: WireReader): number {
  const { buf, pos } = r;
  if (r.end - pos >= 4) {
    const b0 = buf[pos] ?? 0;
    if (b0 < 0x80) {
      r.pos = pos + 1;
      return b0;
    }
    const b1 = buf[pos + 1] ?? 0;
    if (b1 < 0x80) {
      r.pos = pos + 2;
      return (b0 & 0x7f) | (b1 << 7);
    }
    const b2 = buf[pos + 2] ?? 0;
    if (b2 < 0x80) {
      r.pos = pos + 3;
      return (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
    }
  }
  const { lo, hi } = readVarintParts(r);
  return hi * TWO_POW_32 + lo;
}

/** A varint as a signed 64-bit integer (int64), exact within ±2^53. */
export function readInt64(r: WireReader): number {
  const { lo, hi } = readVarintParts(r);
  if (hi < 0x80000000) return hi * TWO_POW_32 + lo;
  return Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
}

/** A varint as int32 (enum values): the low 32 bits, signed, as the Go runtime truncates. */
export function readInt32(r: WireReader): number {
  return readVarintParts(r).lo | 0;
}

/** Reads a tag into r.field / r.wireType. */
export function readTag(r: WireReader): void {
  const tag = readVarint(r);
  const field = Math.floor(tag / 8);
  if (field < 1 || field > MAX_FIELD_NUMBER) throw new WireFormatError(`invalid field number ${field}`);
  r.field = field;
  r.wireType = tag % 8;
}

export function readDouble(r: WireReader): number {
  if (r.end - r.pos < 8) throw truncated();
  const v = r.view.getFloat64(r.pos, true);
  r.pos += 8;
  return v;
}

/** The end offset of a length-delimited field whose length prefix is next. */
export function readLengthEnd(r: WireReader): number {
  const length = readVarint(r);
  if (length > r.end - r.pos) throw truncated();
  return r.pos + length;
}

/** Skips the value of the field whose tag was just read (a group up to its end tag). */
export function skipField(r: WireReader): void {
  let groups: number[] | undefined;
  for (;;) {
    switch (r.wireType) {
      case VARINT:
        readVarint(r);
        break;
      case FIXED64:
        if (r.end - r.pos < 8) throw truncated();
        r.pos += 8;
        break;
      case LENGTH_DELIMITED:
        r.pos = readLengthEnd(r);
        break;
      case FIXED32:
        if (r.end - r.pos < 4) throw truncated();
        r.pos += 4;
        break;
      case START_GROUP:
        groups ??= [];
        if (groups.length >= MAX_DEPTH) throw new WireFormatError('exceeded maximum nesting depth');
        groups.push(r.field);
        break;
      case END_GROUP:
        if (groups?.pop() !== r.field) throw new WireFormatError('mismatched end-group tag');
        break;
      default:
        throw new WireFormatError(`invalid wire type ${r.wireType}`);
    }
    if (groups === undefined || groups.length === 0) return;
    readTag(r);
  }
}

export interface WireWriter {
  buf: Uint8Array;
  view: DataView;
  len: number;
}

export function createWriter(capacity = 256): WireWriter {
  const buf = new Uint8Array(capacity);
  return { buf, view: new DataView(buf.buffer), len: 0 };
}

function ensure(w: WireWriter, extra: number): void {
  if (w.len + extra <= w.buf.length) return;
  let size = w.buf.length * 2;
  while (size < w.len + extra) size *= 2;
  const buf = new Uint8Array(size);
  buf.set(w.buf.subarray(0, w.len));
  w.buf = buf;
  w.view = new DataView(buf.buffer);
}

/** Writes a non-negative integer below 2^64 as a varint. */
export function writeVarint(w: WireWriter, v: number): void {
  ensure(w, 10);
  w.len = putVarint(w.buf, w.len, v);
}

const MAX_INT64_BYTES = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);

/**
 * Writes a signed 64-bit integer (two's complement for negatives: 10 bytes). 2^63, the double
 * that int64 max reads as, is written as int64 max (as is, it would read back as -2^63).
 */
export function writeInt64(w: WireWriter, v: number): void {
  if (v >= 2 ** 63) {
    writeRaw(w, MAX_INT64_BYTES);
    return;
  }
  if (v >= 0) {
    writeVarint(w, v);
    return;
  }
  let n = BigInt.asUintN(64, BigInt(v));
  ensure(w, 10);
  while (n >= 0x80n) {
    w.buf[w.len++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  w.buf[w.len++] = Number(n);
}

export function writeTag(w: WireWriter, field: number, wireType: number): void {
  writeVarint(w, field * 8 + wireType);
}

export function writeDouble(w: WireWriter, field: number, v: number): void {
  writeTag(w, field, FIXED64);
  ensure(w, 8);
  w.view.setFloat64(w.len, v, true);
  w.len += 8;
}

export function writeRaw(w: WireWriter, bytes: Uint8Array): void {
  ensure(w, bytes.length);
  w.buf.set(bytes, w.len);
  w.len += bytes.length;
}

/** Starts a nested message; returns the mark to pass to endMessage. */
export function beginMessage(w: WireWriter): number {
  return w.len;
}

/** Ends a nested message begun at mark: inserts its tag (unless field is 0) and length. */
export function endMessage(w: WireWriter, mark: number, field: number): void {
  const length = w.len - mark;
  const tag = field * 8 + LENGTH_DELIMITED;
  const headLength = (field > 0 ? varintSize(tag) : 0) + varintSize(length);
  ensure(w, headLength);
  w.buf.copyWithin(mark + headLength, mark, w.len);
  const at = field > 0 ? putVarint(w.buf, mark, tag) : mark;
  putVarint(w.buf, at, length);
  w.len += headLength;
}

function varintSize(v: number): number {
  let size = 1;
  for (let n = v; n >= 0x80; n = Math.floor(n / 0x80)) size++;
  return size;
}

/** Writes a varint at buf[at]; returns the offset after it. */
function putVarint(buf: Uint8Array, at: number, v: number): number {
  let p = at;
  let n = v;
  while (n >= 0x80) {
    buf[p++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[p++] = n;
  return p;
}

/**
 * Writes a length-delimited string field. Short ASCII strings are written in place; others go
 * through the given UTF-8 encoder.
 */
export function writeStringField(w: WireWriter, field: number, s: string, encode: (s: string) => Uint8Array): void {
  writeTag(w, field, LENGTH_DELIMITED);
  const n = s.length;
  if (n < 0x80) {
    ensure(w, n + 1);
    const { buf } = w;
    const start = w.len + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + i] = c;
    }
    if (i === n) {
      buf[w.len] = n;
      w.len = start + n;
      return;
    }
  }
  const bytes = encode(s);
  writeVarint(w, bytes.length);
  writeRaw(w, bytes);
}

export function writerBytes(w: WireWriter): Uint8Array {
  return w.buf.slice(0, w.len);
}
