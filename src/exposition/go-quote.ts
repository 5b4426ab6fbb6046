/**
 * Go's %q, for error messages that name the offending text the way upstream's messages do.
 * Escaped invalid bytes (lone surrogates U+DC80..U+DCFF, see utf8.ts) print as `\xNN`, other
 * non-printable characters as `\uNNNN`.
 */

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
};

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
/** Go's strconv.IsPrint beyond ASCII: letters, marks, numbers, punctuation and symbols. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** One code point (or escaped byte) as it appears inside a Go quoted literal. */
function quoteCodePoint(cp: number, quote: number): string {
  if (cp === quote || cp === 0x5c) return `\\${String.fromCharCode(cp)}`;
  if (cp >= 0x20 && cp < 0x7f) return String.fromCharCode(cp);
  const short = SHORT_ESCAPES[cp];
  if (short !== undefined) return short;
  if (cp < 0x80) return `\\x${hex(cp, 2)}`;
  if (cp >= 0xdc80 && cp <= 0xdcff) return `\\x${hex(cp - 0xdc00, 2)}`;
  const text = String.fromCodePoint(cp);
  if (PRINTABLE.test(text)) return text;
  return cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
}

/**
 * The longest text quoted in full. A message names the offending token; a token of megabytes
 * (one label value can be almost the whole body) would make the message, the 400 answer and the
 * log line several times the body's size, so longer text is cut, marked by `...` after the quote.
 */
const MAX_QUOTED = 256;

/** strconv.Quote(s), for text of at most MAX_QUOTED characters. */
export function goQuote(s: string): string {
  if (s.length > MAX_QUOTED) return `${goQuote(s.slice(0, MAX_QUOTED))}...`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i) ?? 0;
    if (cp > 0xffff) i++;
    out += quoteCodePoint(cp, 0x22);
  }
  return `${out}"`;
}

/**
 * Go's %q of a single byte: a rune literal such as 'x' or '\n'. The byte is the first UTF-8
 * byte of the character at s[i], shown as the rune of that value, as upstream prints it.
 */
export function goQuoteByte(s: string, i: number): string {
  return `'${quoteCodePoint(firstUtf8Byte(s, i), 0x27)}'`;
}

/** Go's %c of a single byte (used in "invalid escape sequence" messages). */
export function goCharOfByte(s: string, i: number): string {
  return String.fromCharCode(firstUtf8Byte(s, i));
}

function firstUtf8Byte(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x80) return c;
  if (c >= 0xdc80 && c <= 0xdcff) return c - 0xdc00;
  if (c < 0x800) return 0xc0 | (c >> 6);
  if (c >= 0xd800 && c <= 0xdbff) return 0xf0 | ((0x10000 + ((c - 0xd800) << 10)) >> 18);
  return 0xe0 | (c >> 12);
}
