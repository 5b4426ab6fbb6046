import { describe, expect, test } from '@jest/globals';
import { SegmentWriter, type SegmentedText, type Replacement } from '../../../src/store/segmented-text.js';

/** A seeded generator: the same cases on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The text of the pieces: strings, and pairs of numbers for ranges of `previous`. */
function write(pieces: (string | number)[], previous: SegmentedText | undefined, size: number): SegmentedText {
  const writer = new SegmentWriter(previous, size);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as string | number;
    if (typeof piece === 'string') expect(writer.text(piece)).toBe(Buffer.byteLength(piece));
    else writer.copy(piece, pieces[++i] as number);
  }
  return writer.finish();
}

const textOf = (text: SegmentedText): string => Buffer.concat(text.segments.map((s) => s.bytes)).toString('utf8');

describe('SegmentedText', () => {
  test('a long text is cut into segments of the size, the last one up to twice that', () => {
    const text = write(['a'.repeat(45)], undefined, 10);
    expect(text.segments.map((s) => s.bytes.length)).toEqual([10, 10, 10, 15]);
    expect(textOf(text)).toBe('a'.repeat(45));
    expect(write(['abc'], undefined, 10).segments).toHaveLength(1);
    expect(write([], undefined, 10).segments).toEqual([]);
  });

  test('pieces copied from the text before, across segments', () => {
    const before = write(['0123456789abcdefghij'], undefined, 4);
    const after = write(['<', 2, 15, '>', 18, 20], before, 4);
    expect(textOf(after)).toBe('<23456789abcde>ij');
  });

  test('texts and ranges longer than the scratch room of a writer, in segments of any size', () => {
    const long = 'é'.repeat(30_000) + 'x'.repeat(50_001);
    for (const size of [7, 4096, 128 * 1024]) {
      const text = write(['<', long, '>'], undefined, size);
      expect(textOf(text)).toBe(`<${long}>`);
      expect(text.segments.slice(0, -1).every((s) => s.bytes.length === size)).toBe(true);
      const again = write([0, text.length, long], text, size);
      expect(textOf(again)).toBe(`<${long}>${long}`);
    }
  });

  test('a writer used after another one started is refused, not written over', () => {
    const first = new SegmentWriter(undefined, 8);
    first.text('abc');
    const second = new SegmentWriter(undefined, 8);
    expect(() => first.text('d')).toThrow(/another one started/);
    second.text('xyz');
    expect(textOf(second.finish())).toBe('xyz');
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: replacements give the text a string replacement gives, and untouched segments are kept', (seed) => {
    const next = random(seed);
    const alphabet = ['a', 'b', 'é', '€', '😀', '\n'];
    const line = (): string => Array.from({ length: 1 + Math.floor(next() * 6) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const size = 4 + Math.floor(next() * 12);
    let lines = Array.from({ length: 40 }, line);
    let text = write(lines, undefined, size);
    for (let round = 0; round < 20; round++) {
      // Replace some lines (by their byte ranges in the text).
      const replacements: Replacement[] = [];
      const nextLines = [...lines];
      let at = 0;
      lines.forEach((old, i) => {
        const length = Buffer.byteLength(old);
        if (next() < 0.15) {
          const fresh = line();
          nextLines[i] = fresh;
          replacements.push({ start: at, end: at + length, text: fresh, length: Buffer.byteLength(fresh) });
        }
        at += length;
      });
      const touched = (start: number, end: number): boolean => replacements.some((r) => r.start < end && r.end > start);
      let segmentStart = 0;
      const kept = text.segments.filter((segment) => {
        const start = segmentStart;
        segmentStart += segment.bytes.length;
        return !touched(start, segmentStart);
      });
      const after = text.replaced(replacements);
      expect(textOf(after)).toBe(nextLines.join(''));
      expect(after.length).toBe(Buffer.byteLength(nextLines.join('')));
      for (const segment of kept) expect(after.segments).toContain(segment);
      // copyTo reads any range as the whole text would give it.
      const whole = Buffer.from(nextLines.join(''));
      const from = Math.floor(next() * whole.length);
      const to = from + Math.floor(next() * (whole.length - from));
      const target = Buffer.alloc(to - from);
      expect(after.copyTo(target, 0, from, to)).toBe(to - from);
      expect(target.equals(whole.subarray(from, to))).toBe(true);
      text = after;
      lines = nextLines;
    }
  });
});
