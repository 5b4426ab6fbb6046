import { describe, expect, test } from '@jest/globals';
import { formatGoFloat, parseGoFloat } from '../../../src/exposition/index.js';
import { goFloatToUint64, parseGoInt64 } from '../../../src/exposition/go-float.js';
import { readFixture } from './reference-form.js';

const fromBits = (hex: string): number => {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
};

describe('formatGoFloat', () => {
  test.each([
    ['an integer below 1e6 is written in full', 1000, '1000'],
    ['a fraction is written in decimal', 0.5, '0.5'],
    ['1e-06 uses an exponent (JavaScript would write 0.000001)', 0.000001, '1e-06'],
    ['a large integer uses an exponent (JavaScript would not)', 123456789012, '1.23456789012e+11'],
    ['a Unix time in seconds uses an exponent', 1795506594.1797535, '1.7955065941797535e+09'],
    ['shortest round-trip digits are kept', 3.14, '3.14'],
    ['100000 is the largest power of ten in full', 100000, '100000'],
    ['1e6 switches to an exponent', 1e6, '1e+06'],
    ['digits after the first go after a point', 1234567, '1.234567e+06'],
    ['exponent 5 with a fraction stays decimal', 123456.7, '123456.7'],
    ['0.0001 is the smallest power of ten in full', 0.0001, '0.0001'],
    ['1e-05 uses an exponent', 0.00001, '1e-05'],
    ['three-digit exponents are not padded', 1e100, '1e+100'],
    ['tiny values keep their sign of exponent', 2e-300, '2e-300'],
    ['negative zero is 0', -0, '0'],
    ['zero is 0', 0, '0'],
    ['one is 1', 1, '1'],
    ['minus one is -1', -1, '-1'],
    ['NaN', NaN, 'NaN'],
    ['positive infinity has a sign', Infinity, '+Inf'],
    ['negative infinity', -Infinity, '-Inf'],
    ['negative values keep their sign', -1.5e-7, '-1.5e-07'],
    ['the smallest subnormal', 5e-324, '5e-324'],
    ['the largest double', 1.7976931348623157e308, '1.7976931348623157e+308'],
    ['2^53 uses an exponent', 2 ** 53, '9.007199254740992e+15'],
    ['0.1 + 0.2 keeps all its digits', 0.1 + 0.2, '0.30000000000000004'],
    ['JavaScript switches at 1e21; Go does not care', 1e21, '1e+21'],
    ['the largest double below 1e6 stays decimal', 999999.9999999999, '999999.9999999999'],
    ['the largest double below 0.0001 uses an exponent', 0.0001 - 2 ** -66, '9.999999999999999e-05'],
    ['a negative value in decimal range', -123.25, '-123.25'],
  ])('%s', (_name, value, expected) => {
    expect(formatGoFloat(value)).toBe(expected);
  });

  test('matches the upstream writer on every reference value', () => {
    const { format } = readFixture<{ format: [string, string][] }>('go-float-reference.json');
    const mismatches = format.filter(([bits, text]) => formatGoFloat(fromBits(bits)) !== text);
    expect(mismatches).toEqual([]);
    expect(format.length).toBeGreaterThan(1000);
  });
});

describe('parseGoFloat', () => {
  test.each([
    ['an exponent', '1e3', 1000],
    ['a leading point', '.5', 0.5],
    ['a trailing point', '5.', 5],
    ['a plus sign', '+5', 5],
    ['NaN in any case', 'nAn', NaN],
    ['inf', 'inf', Infinity],
    ['+Inf', '+Inf', Infinity],
    ['-infinity', '-infinity', -Infinity],
    ['INFINITY with a sign', '+INFINITY', Infinity],
    ['leading zeros (not octal)', '00012', 12],
    ['an upper-case exponent with a sign', '1E+05', 100000],
    ['a value below the range rounds to zero', '1e-400', 0],
    ['a negative value below the range is negative zero', '-1e-400', -0],
    ['the largest double', '1.7976931348623157e308', 1.7976931348623157e308],
    ['an exponent with leading zeros', '1e0005', 100000],
    ['a huge exponent of zero is zero', '0e99999999999', 0],
  ])('accepts %s', (_name, input, expected) => {
    expect(parseGoFloat(input)).toBe(expected);
  });

  test.each([
    ['a value beyond the range', '1e400'],
    ['a value just beyond the largest double', '1.7976931348623159e308'],
    ['+nan', '+nan'],
    ['-nan', '-nan'],
    ['hex without a p exponent', '0x10'],
    ['hex with a p exponent', '0x1p3'],
    ['a P exponent', '1P5'],
    ['digit separators', '1_000'],
    ['a point alone', '.'],
    ['an empty string', ''],
    ['a sign alone', '-'],
    ['an exponent without digits', '1e'],
    ['an exponent sign without digits', '1e+'],
    ['a leading space', ' 1'],
    ['a trailing space', '1 '],
    ['a trailing carriage return', '1\r'],
    ['two signs', '+-1'],
    ['two points', '1.2.3'],
    ['a truncated infinity', 'infin'],
    ['text after infinity', 'Infinity1'],
    ['non-ASCII digits', '٣'],
    ['a binary literal', '0b1'],
  ])('refuses %s', (_name, input) => {
    expect(parseGoFloat(input)).toBeUndefined();
  });

  test('matches the upstream reader on every reference string', () => {
    const { parse } = readFixture<{ parse: [string, string][] }>('go-float-reference.json');
    const toBits = (v: number | undefined): string => {
      if (v === undefined) return 'error';
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, v);
      return view.getBigUint64(0).toString(16).padStart(16, '0');
    };
    const mismatches = parse.filter(([input, bits]) => {
      const mine = parseGoFloat(input);
      if (bits !== 'error' && Number.isNaN(fromBits(bits))) return !Number.isNaN(mine);
      return toBits(mine) !== bits;
    });
    expect(mismatches).toEqual([]);
  });
});

describe('parseGoInt64', () => {
  test.each([
    ['a plain integer', '123', 123],
    ['a plus sign', '+5', 5],
    ['a negative integer', '-2', -2],
    ['minus zero', '-0', 0],
    ['the largest int64 (rounded to a double)', '9223372036854775807', 2 ** 63],
    ['the smallest int64', '-9223372036854775808', -(2 ** 63)],
  ])('accepts %s', (_name, input, expected) => {
    expect(parseGoInt64(input)).toBe(expected);
  });

  test.each([
    ['a decimal point', '1.5'],
    ['beyond int64', '9223372036854775808'],
    ['below int64', '-9223372036854775809'],
    ['an empty string', ''],
    ['a sign alone', '+'],
    ['digit separators', '1_0'],
    ['hex', '0x1'],
    ['an exponent', '1e3'],
  ])('refuses %s', (_name, input) => {
    expect(parseGoInt64(input)).toBeUndefined();
  });
});

describe('goFloatToUint64 (a summary _count line)', () => {
  test.each([
    ['a whole count is kept', 7, 7],
    ['a fraction is truncated', 1.5, 1],
    ['a small negative fraction is zero', -0.5, 0],
    ['minus one wraps around to 2^64', -1, 2 ** 64],
    ['2^63 and above are kept', 1e19, 1e19],
    ['NaN gives 2^63', NaN, 2 ** 63],
    ['infinity gives 2^63', Infinity, 2 ** 63],
    ['2^64 and above give 2^63', 2e19, 2 ** 63],
    ['below -2^63 gives 2^63', -1e19, 2 ** 63],
  ])('%s', (_name, input, expected) => {
    expect(goFloatToUint64(input)).toBe(expected);
  });
});
