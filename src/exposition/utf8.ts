/**
 * UTF-8 as the wire sees it. Go strings are bytes, so upstream keeps invalid UTF-8 where the
 * format does not check it (HELP text, protobuf strings) and rejects it where it does (label
 * values). To keep that distinction in JavaScript strings, an invalid byte b decodes to the lone
 * surrogate U+DC00+b (U+DC80..U+DCFF), which valid UTF-8 can never produce; encodeUtf8 writes it
 * back as the original byte.
 */

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface DecodedText {
  readonly text: string;
  /** False when some bytes were not valid UTF-8 (they are escaped as lone surrogates). */
  readonly valid: boolean;
}

/** Decodes bytes, escaping each invalid byte as a lone surrogate (see the module comment). */
export function decodeUtf8(bytes: Uint8Array): DecodedText {
  try {
    return { text: strictDecoder.decode(bytes), valid: true };
  } catch {
    // A TypeError is the decoder's only way to say "invalid"; escape byte by byte instead.
    return { text: decodeEscaped(bytes), valid: false };
  }
}

/**
 * decodeUtf8(bytes.subarray(start, end)).text. ASCII, which names and label values almost always
 * are, is copied straight into a new string: no view of the bytes, no decoder call, no result
 * object (a protobuf body of 5,000 series has 20,000 such strings).
 */
export function utf8TextAt(bytes: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if ((bytes[i] as number) > 0x7f) return decodeUtf8(bytes.subarray(start, end)).text;
  return bytes.toString('latin1', start, end);
}

/** The length (1–4) of the valid UTF-8 sequence at i, or 0 when the byte at i starts none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] ?? 0;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function decodeEscaped(bytes: Uint8Array): string {
  const parts: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const runStart = i;
    while (i < bytes.length) {
      const len = sequenceLength(bytes, i);
      if (len === 0) break;
      i += len;
    }
    if (i > runStart) parts.push(strictDecoder.decode(bytes.subarray(runStart, i)));
    const escaped: number[] = [];
    while (i < bytes.length && escaped.length < 4096 && sequenceLength(bytes, i) === 0) {
      escaped.push(0xdc00 + (bytes[i] ?? 0));
      i++;
    }
    parts.push(String.fromCharCode(...escaped));
  }
  return parts.join('');
}

/** True when s holds a lone surrogate, i.e. it came from (or would encode to) invalid UTF-8. */
export function containsInvalidUtf8(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return true;
  }
  return false;
}

/**
 * Encodes s as UTF-8. Escaped bytes (U+DC80..U+DCFF alone) are written back as the raw byte;
 * any other lone surrogate becomes U+FFFD.
 */
export function encodeUtf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[n++] = 0xf0 | (cp >> 18);
        out[n++] = 0x80 | ((cp >> 12) & 0x3f);
        out[n++] = 0x80 | ((cp >> 6) & 0x3f);
        out[n++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      if (c >= 0xdc80 && c <= 0xdcff) {
        out[n++] = c - 0xdc00;
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return out.slice(0, n);
}

/** A code unit remapped so that comparing remapped units orders strings by their UTF-8 bytes. */
function utf8Rank(c: number): number {
  if (c < 0xd800) return c;
  // Surrogates stand for code points above U+FFFF, which sort after U+E000..U+FFFF in UTF-8.
  return c >= 0xe000 ? c - 0x800 : c + 0x2000;
}

/** Compares two strings in the byte order of their UTF-8 encodings (Go's string order). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) < utf8Rank(y) ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
