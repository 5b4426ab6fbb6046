import type { DeflatedPiece } from './group-store.js';

/**
 * A name's merged text (render-cache.ts) as UTF-8 in segments of about SEGMENT_BYTES, each in a
 * buffer of its own and compressed on its own when a compressed scrape asks for it. A push that
 * changes a few lines makes new buffers only for the segments those lines are in: the others, and
 * their compressed bytes, are kept as they are. (One buffer for the whole text had to be copied,
 * into freshly mapped memory, and compressed whole again after every change: about 17 ms and 60
 * ms for the 4.5 MB of a name shared by 10,000 groups.)
 *
 * Offsets are those of the whole text, as if it were one buffer. A segment's bytes never change.
 */

/** About this many bytes per segment (a new one is cut at twice this). */
export const SEGMENT_BYTES = 128 * 1024;

export interface Segment {
  readonly bytes: Buffer;
  /** `bytes` compressed (see TextPiece), once a compressed scrape asked for it. */
  deflated: DeflatedPiece | undefined;
}

/**
 * What to write, in order: a string (written as UTF-8), or two numbers, `start` and `end`, for
 * the bytes [start, end) of the text before.
 */
export type Pieces = (string | number)[];

/** Text that replaces [start, end) of a text (`length`: its UTF-8 bytes). */
export interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly length: number;
}

/** Texts joined before encoding them: fewer calls into the encoder, and no string of the whole text. */
const JOINED_TEXTS = 256;

export class SegmentedText {
  readonly segments: readonly Segment[];
  /** Where each segment starts in the whole text. */
  readonly #starts: readonly number[];
  readonly length: number;
  /** The segment size (SEGMENT_BYTES; smaller in tests). */
  readonly #segmentBytes: number;

  private constructor(segments: readonly Segment[], segmentBytes: number) {
    this.segments = segments;
    this.#segmentBytes = segmentBytes;
    const starts = new Array<number>(segments.length);
    let at = 0;
    segments.forEach((segment, i) => {
      starts[i] = at;
      at += segment.bytes.length;
    });
    this.#starts = starts;
    this.length = at;
  }

  /** The text the pieces make (`length` bytes in all; numbers are ranges of `previous`). */
  static write(pieces: Pieces, previous: SegmentedText | undefined, length: number, segmentBytes = SEGMENT_BYTES): SegmentedText {
    return new SegmentedText(cut(writePieces(pieces, previous, length), segmentBytes), segmentBytes);
  }

  /**
   * This text with each replacement's range replaced by its text (sorted by start, not
   * overlapping, none empty). Segments no replacement touches are kept, compressed bytes and all.
   */
  replaced(replacements: readonly Replacement[]): SegmentedText {
    const out: Segment[] = [];
    const segments = this.segments;
    let r = 0;
    for (let i = 0; i < segments.length; ) {
      const segment = segments[i] as Segment;
      const start = this.#starts[i] as number;
      let end = start + segment.bytes.length;
      let next = i + 1;
      if (r >= replacements.length || (replacements[r] as Replacement).start >= end) {
        out.push(segment);
        i = next;
        continue;
      }
      // A run of segments with replacements in it, written again (a replacement may cross into the next segment).
      const pieces: Pieces = [];
      let cursor = start;
      let length = 0;
      for (; r < replacements.length && (replacements[r] as Replacement).start < end; r++) {
        const replacement = replacements[r] as Replacement;
        if (replacement.start > cursor) pieces.push(cursor, replacement.start);
        length += replacement.start - cursor + replacement.length;
        pieces.push(replacement.text);
        cursor = replacement.end;
        while (replacement.end > end && next < segments.length) end += (segments[next++] as Segment).bytes.length;
      }
      if (end > cursor) pieces.push(cursor, end);
      length += end - cursor;
      out.push(...cut(writePieces(pieces, this, length), this.#segmentBytes));
      i = next;
    }
    return new SegmentedText(out, this.#segmentBytes);
  }

  /** Copies [start, end) of the text into target at `at`; returns the bytes copied. */
  copyTo(target: Buffer, at: number, start: number, end: number): number {
    // The last segment that starts at or before `start`.
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#starts[mid] as number) <= start) lo = mid + 1;
      else hi = mid;
    }
    let copied = 0;
    for (let i = lo - 1; i >= 0 && i < this.segments.length && start + copied < end; i++) {
      const segmentStart = this.#starts[i] as number;
      const bytes = (this.segments[i] as Segment).bytes;
      copied += bytes.copy(target, at + copied, start + copied - segmentStart, Math.min(bytes.length, end - segmentStart));
    }
    return copied;
  }
}

/** Bytes as segments: one when small enough, else copied out in pieces of `size` (each in memory of its own). */
function cut(bytes: Buffer, size: number): Segment[] {
  if (bytes.length === 0) return [];
  if (bytes.length <= 2 * size) return [{ bytes, deflated: undefined }];
  const out: Segment[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.length - at < 2 * size ? bytes.length : at + size;
    const piece = Buffer.allocUnsafeSlow(end - at);
    bytes.copy(piece, 0, at, end);
    out.push({ bytes: piece, deflated: undefined });
    at = end;
  }
  return out;
}

/**
 * The pieces in order (`length` bytes in all) in one buffer of its own: not a slice of Node's
 * shared pool, which a kept small text would hold on to whole.
 */
function writePieces(pieces: Pieces, previous: SegmentedText | undefined, length: number): Buffer {
  const bytes = Buffer.allocUnsafeSlow(length);
  let at = 0;
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 0) at += bytes.write(run.length === 1 ? (run[0] ?? '') : run.join(''), at, 'utf8');
    run = [];
  };
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] as string | number;
    if (typeof piece === 'string') {
      if (run.push(piece) === JOINED_TEXTS) flush();
      continue;
    }
    flush();
    const end = pieces[++i] as number;
    at += (previous as SegmentedText).copyTo(bytes, at, piece, end);
  }
  flush();
  return bytes;
}
