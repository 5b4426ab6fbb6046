/**
 * Numbers as the Prometheus text format reads and writes them: Go's strconv rules, not
 * JavaScript's. JavaScript already gives the shortest round-trip digits; only the layout and
 * the accepted grammar differ.
 */

const TWO_POW_63 = 2 ** 63;
const TWO_POW_64 = 2 ** 64;

/**
 * Formats a sample value like the text format writer: `NaN`, `+Inf`, `-Inf`, zero of either
 * sign as `0`, otherwise strconv.FormatFloat(v, 'g', -1, 64): shortest round-trip digits, in
 * exponent form iff the decimal exponent is below -4 or at least 6, with two or more exponent
 * digits (`1e+06`, `1.5e-05`, `123456.7`).
 */
export function formatGoFloat(v: number): string {
  if (v === 0) return '0';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const magnitude = Math.abs(v);
  // Between these JavaScript writes what Go does: the shortest digits, without an exponent.
  if (magnitude >= 1e-4 && magnitude < 1e6) return String(v);
  const sign = v < 0 ? '-' : '';
  const { digits, exponent } = shortestDigits(Math.abs(v));
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0] ?? ''}.${digits.slice(1)}` : digits;
    const abs = Math.abs(exponent);
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  const pointAt = exponent + 1;
  if (pointAt <= 0) return `${sign}0.${'0'.repeat(-pointAt)}${digits}`;
  if (digits.length <= pointAt) return `${sign}${digits}${'0'.repeat(pointAt - digits.length)}`;
  return `${sign}${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
}

/** The shortest round-trip digits of a positive finite v (no leading or trailing zeros). */
function shortestDigits(v: number): { digits: string; exponent: number } {
  const s = String(v);
  const e = s.indexOf('e');
  const mantissa = e < 0 ? s : s.slice(0, e);
  const shift = e < 0 ? 0 : Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const whole = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let all = dot < 0 ? mantissa : whole + mantissa.slice(dot + 1);
  let pointAt = whole.length + shift;
  let lead = 0;
  while (all.charCodeAt(lead) === 0x30) lead++;
  all = all.slice(lead);
  pointAt -= lead;
  let end = all.length;
  while (end > 1 && all.charCodeAt(end - 1) === 0x30) end--;
  return { digits: all.slice(0, end), exponent: pointAt - 1 };
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** Case-insensitive (ASCII) equality of s.slice(from) and a lower-case word. */
function restEqualsIgnoreCase(s: string, from: number, word: string): boolean {
  if (s.length - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((s.charCodeAt(from + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses a sample value as the text format parser does: strconv.ParseFloat(s, 64), with any
 * string holding `p`, `P` or `_` refused. Accepts `1e3`, `.5`, `5.`, `+5`, `nan` and
 * `[+-]inf`/`[+-]infinity` in any case. Refuses `+nan`/`-nan`, hex, surrounding space and values
 * beyond the float64 range (`1e400`); values below it round to zero as in Go. Returns undefined
 * for anything refused.
 */
export function parseGoFloat(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  const first = s.charCodeAt(0);
  const signed = first === 0x2b || first === 0x2d;
  if (signed) i = 1;
  const lead = s.charCodeAt(i) | 0x20;
  if (lead === 0x69 /* i */) {
    if (restEqualsIgnoreCase(s, i, 'inf') || restEqualsIgnoreCase(s, i, 'infinity')) {
      return first === 0x2d ? -Infinity : Infinity;
    }
    return undefined;
  }
  if (lead === 0x6e /* n */) return !signed && restEqualsIgnoreCase(s, i, 'nan') ? NaN : undefined;
  let digits = 0;
  let dot = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (c === 0x2e && !dot) dot = true;
    else break;
  }
  if (digits === 0) return undefined;
  if (i < n && (s.charCodeAt(i) | 0x20) === 0x65 /* e */) {
    i++;
    const c = s.charCodeAt(i);
    if (c === 0x2b || c === 0x2d) i++;
    const expStart = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return undefined;
  }
  if (i !== n) return undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Parses a timestamp like strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64
 * range. Values beyond 2^53 lose precision as JavaScript numbers.
 */
export function parseGoInt64(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  const first = s.charCodeAt(0);
  if (first === 0x2b || first === 0x2d) i = 1;
  if (i === n) return undefined;
  for (let k = i; k < n; k++) if (!isDigit(s.charCodeAt(k))) return undefined;
  if (n - i <= 15) return Number(s) + 0;
  const big = BigInt(s);
  if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
  return Number(big);
}

/**
 * Go's uint64(v) conversion as compiled for amd64 (the upstream release images), seen through
 * float64 again: the value a summary's `_count` line stores. In range it truncates; negative
 * values wrap around 2^64; NaN, infinities and values beyond the range give 2^63.
 */
export function goFloatToUint64(v: number): number {
  if (v >= 0 && v < TWO_POW_64) return Math.trunc(v) + 0;
  if (v < 0 && v >= -TWO_POW_63) {
    const t = Math.trunc(v);
    return t === 0 ? 0 : TWO_POW_64 + t;
  }
  return TWO_POW_63;
}

/** True when v survives Go's float64 → uint64 → float64 round trip (a whole count). */
export function isUint64Integer(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < TWO_POW_64;
}
