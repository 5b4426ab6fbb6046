import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import type { DeflatedPiece, TextPiece } from '../../store/index.js';

/**
 * A gzip answer to a text scrape built from pieces compressed one by one: one gzip member (RFC
 * 1952), whose deflate stream is the pieces' raw deflate, each ended by a full flush (so each
 * ends on a byte boundary with no final block and refers to nothing before it), then one final
 * empty block, then the CRC-32 and length of the whole text. Any gzip reader reads it as one
 * member. The store keeps a name's compressed piece beside its cached text until the text
 * changes, so an unchanged store is compressed once, not on every scrape.
 *
 * The pieces come from the store (GroupStore.scrapePieces, filled by the render cache).
 */

const deflateRawAsync = promisify(deflateRaw);

/** ID1 ID2, deflate, no flags, no time, no extra flags, OS unknown. */
const HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);
/** A final fixed-Huffman block with no data (BFINAL 1, BTYPE 01, end of block). */
const LAST_BLOCK = Uint8Array.of(0x03, 0x00);

/** Compresses one piece on the thread pool: raw deflate ended by a full flush. */
export async function deflatePiece(data: Uint8Array): Promise<DeflatedPiece> {
  const bytes = await deflateRawAsync(data, { finishFlush: constants.Z_FULL_FLUSH });
  return { bytes, crc: crc32(data), length: data.length };
}

/**
 * Pieces compressed at once: each compression holds a zlib stream (a few hundred KiB of native
 * memory) on the thread pool, so a scrape after many names changed does not take one per name.
 */
const COMPRESSING = 2;

/** The gzip member of the pieces' bytes in order; compresses (and hands back to keep) those not compressed yet. */
export async function gzipPieces(pieces: readonly TextPiece[]): Promise<Uint8Array[]> {
  const deflated: (DeflatedPiece | undefined)[] = pieces.map((piece) => piece.deflated);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < pieces.length; i = next++) {
      const piece = pieces[i];
      if (piece === undefined || deflated[i] !== undefined) continue;
      const made = await deflatePiece(piece.bytes);
      piece.keep?.(made);
      deflated[i] = made;
    }
  };
  await Promise.all(Array.from({ length: COMPRESSING }, worker));
  let crc = 0;
  let length = 0;
  const bytes: Uint8Array[] = [];
  for (const d of deflated) {
    if (d === undefined) continue;
    crc = crc32Combine(crc, d.crc, d.length);
    length += d.length;
    bytes.push(d.bytes);
  }
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc, true);
  view.setUint32(4, length % 2 ** 32, true);
  return [HEADER, ...bytes, LAST_BLOCK, trailer];
}

// ---- CRC-32 of a concatenation from the CRC-32s of its parts (zlib's crc32_combine) ----------

const POLY = 0xedb88320;

/** a × b modulo the CRC polynomial (bit-reflected). */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X2N: readonly number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  table.push(p);
  for (let k = 1; k < 32; k++) table.push((p = multiplyModP(p, p)));
  return table;
})();

/** x^(n·2^k) modulo the polynomial. */
function xPowerModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multiplyModP(X2N[k % 32] ?? 0, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** The CRC-32 of A followed by B, from crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xPowerModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}
