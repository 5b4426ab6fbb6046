import { describe, expect, test } from '@jest/globals';
import { compareUtf8, containsInvalidUtf8, encodeUtf8 } from '../../../src/exposition/index.js';
import { decodeUtf8, utf8TextAt } from '../../../src/exposition/utf8.js';

const bytesOf = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...new TextEncoder().encode(p)] : p)));

describe('decodeUtf8', () => {
  test.each<[string, Uint8Array, string, boolean]>([
    ['valid UTF-8', bytesOf('aΠ✓😀'), 'aΠ✓😀', true],
    ['a byte order mark is kept', bytesOf([0xef, 0xbb, 0xbf], 'x'), '\ufeffx', true],
    ['an invalid byte is escaped', bytesOf('a', [0xff], 'b'), 'a\udcffb', false],
    ['a truncated sequence escapes each byte', bytesOf([0xe2, 0x9c], 'x'), '\udce2\udc9cx', false],
    ['an encoded surrogate is invalid', bytesOf([0xed, 0xa0, 0x80]), '\udced\udca0\udc80', false],
    ['an overlong encoding is invalid', bytesOf([0xc0, 0xaf]), '\udcc0\udcaf', false],
    ['a code point above U+10FFFF is invalid', bytesOf([0xf4, 0x90, 0x80, 0x80]), '\udcf4\udc90\udc80\udc80', false],
    ['valid text around invalid bytes is decoded', bytesOf('Π', [0x80], '😀'), 'Π\udc80😀', false],
  ])('%s', (_name, input, text, valid) => {
    expect(decodeUtf8(input)).toEqual({ text, valid });
  });

  test('a large body with one invalid byte keeps everything else', () => {
    const body = bytesOf('x'.repeat(100000), [0xff], 'y'.repeat(100000));
    const { text, valid } = decodeUtf8(body);
    expect(valid).toBe(false);
    expect(text.length).toBe(200001);
    expect(text[100000]).toBe('\udcff');
  });
});

describe('utf8TextAt', () => {
  test.each<[string, Uint8Array]>([
    ['short ASCII', bytesOf('/api/v1/items/7')],
    ['ASCII of 64 bytes', bytesOf('a'.repeat(64))],
    ['ASCII of 65 bytes', bytesOf('b'.repeat(65))],
    ['the ASCII control and DEL bytes', bytesOf([0, 9, 10, 0x7f])],
    ['Latin-1 bytes that are not UTF-8', bytesOf('caf', [0xe9])],
    ['nothing', bytesOf('')],
    ['short UTF-8', bytesOf('Π✓')],
    ['a short invalid byte', bytesOf('a', [0xff])],
    ['a byte order mark', bytesOf([0xef, 0xbb, 0xbf], 'x')],
    ['a long string with one invalid byte', bytesOf('x'.repeat(100), [0x80])],
  ])('reads %s as decodeUtf8 does, also from within a larger body', (_name, input) => {
    expect(utf8TextAt(Buffer.from(input), 0, input.length)).toBe(decodeUtf8(input).text);
    const body = Buffer.concat([Buffer.from([0xff, 0x41]), input, Buffer.from([0xc3, 0x42])]);
    expect(utf8TextAt(body, 2, 2 + input.length)).toBe(decodeUtf8(input).text);
  });
});

describe('encodeUtf8', () => {
  test.each<[string, string, Uint8Array]>([
    ['ASCII', 'abc', bytesOf('abc')],
    ['two, three and four byte sequences', 'Π✓😀', bytesOf('Π✓😀')],
    ['escaped bytes are written back raw', 'a\udcffb', bytesOf('a', [0xff], 'b')],
    ['another lone surrogate becomes U+FFFD', 'a\ud800b', bytesOf('a', [0xef, 0xbf, 0xbd], 'b')],
  ])('%s', (_name, input, expected) => {
    expect(encodeUtf8(input)).toEqual(expected);
  });

  test('decoding then encoding gives back the bytes, valid or not', () => {
    const body = bytesOf('ok Π ', [0xff, 0xc3], ' 😀 ', [0xed, 0xa0, 0x80]);
    expect(encodeUtf8(decodeUtf8(body).text)).toEqual(body);
  });
});

describe('containsInvalidUtf8', () => {
  test.each([
    ['plain text', 'abc', false],
    ['a surrogate pair', '😀', false],
    ['an escaped byte', 'a\udcff', true],
    ['a lone high surrogate', '\ud83d', true],
    ['a lone high surrogate before text', '\ud83dx', true],
  ])('%s', (_name, input, expected) => {
    expect(containsInvalidUtf8(input)).toBe(expected);
  });
});

describe('compareUtf8', () => {
  test.each([
    ['byte order, not locale order', 'Z', 'a'],
    ['a prefix first', 'ab', 'abc'],
    ['U+FFFD before a supplementary character (UTF-16 order would differ)', '\ufffd', '😀'],
    ['U+E000 before a supplementary character', '\ue000', '𐀀'],
    ['a BMP character below the surrogates before one above', '\ud7ff', '\ue000'],
  ])('%s', (_name, first, second) => {
    expect(compareUtf8(first, second)).toBe(-1);
    expect(compareUtf8(second, first)).toBe(1);
  });

  test('equal strings compare equal', () => {
    expect(compareUtf8('Π😀', 'Π😀')).toBe(0);
  });

  test('agrees with a byte comparison of the encodings', () => {
    const samples = ['', 'a', 'A', '/', '2', 'Π', '\ufffd', '😀', '\ue000', '\uffff', 'ab', 'a\u0000', '𝄞', '\u07ff', '\u0800'];
    for (const a of samples) {
      for (const b of samples) {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }
    }
  });
});
