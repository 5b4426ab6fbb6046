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

/** Text that replaces [start, end) of a text (`length`: its UTF-8 bytes). */
export interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly length: number;
}

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

  /** Text made of segments written by a SegmentWriter. */
  static of(segments: readonly Segment[], segmentBytes: number): SegmentedText {
    return new SegmentedText(segments, segmentBytes);
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
      const writer = new SegmentWriter(this, this.#segmentBytes);
      let cursor = start;
      for (; r < replacements.length && (replacements[r] as Replacement).start < end; r++) {
        const replacement = replacements[r] as Replacement;
        if (replacement.start > cursor) writer.copy(cursor, replacement.start);
        writer.text(replacement.text);
        cursor = replacement.end;
        while (replacement.end > end && next < segments.length) end += (segments[next++] as Segment).bytes.length;
      }
      if (end > cursor) writer.copy(cursor, end);
      out.push(...writer.finish().segments);
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

/** Room in the scratch buffer beyond a segment: a text this long or shorter is encoded into it directly. */
const SLACK = 64 * 1024;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_BYTES_PER_UNIT = 3;

/** The scratch buffer every SegmentWriter writes into, and the writer using it now. */
const shared: { scratch: Buffer | undefined; owner: SegmentWriter | undefined } = { scratch: undefined, owner: undefined };

/**
 * Writes a text as segments while it is made (texts and ranges of the text before), so that a
 * name's text is never whole in one buffer and the texts written need not be kept until the end:
 * bytes go into a scratch buffer shared by every writer (one at a time: a writer is made,
 * written and finished without waiting for anything), and each `size` bytes of it are copied out into a segment of their own (not a slice of
 * Node's shared pool, which a kept small text would hold on to whole). The segments are those a
 * cut of the whole text would give: `size` bytes each, the last one up to twice that.
 */
export class SegmentWriter {
  readonly #previous: SegmentedText | undefined;
  readonly #size: number;
  readonly #scratch: Buffer;
  readonly #segments: Segment[] = [];
  /** Bytes in the scratch buffer not yet in a segment. */
  #at = 0;

  constructor(previous: SegmentedText | undefined, size = SEGMENT_BYTES) {
    this.#previous = previous;
    this.#size = size;
    if (shared.scratch === undefined || shared.scratch.length < size + SLACK) shared.scratch = Buffer.allocUnsafeSlow(size + SLACK);
    this.#scratch = shared.scratch;
    shared.owner = this;
  }

  /** Writes `text` as UTF-8; returns its length in bytes. */
  text(text: string): number {
    this.#own();
    if (text.length * MAX_BYTES_PER_UNIT > SLACK) {
      const bytes = Buffer.from(text, 'utf8');
      this.#bytes(bytes);
      return bytes.length;
    }
    const written = this.#scratch.write(text, this.#at, 'utf8');
    this.#at += written;
    this.#cut();
    return written;
  }

  /** Writes bytes [start, end) of the text before. */
  copy(start: number, end: number): void {
    this.#own();
    const previous = this.#previous as SegmentedText;
    while (start < end) {
      const copied = previous.copyTo(this.#scratch, this.#at, start, Math.min(end, start + this.#scratch.length - this.#at));
      this.#at += copied;
      start += copied;
      this.#cut();
    }
  }

  #bytes(bytes: Uint8Array): void {
    for (let start = 0; start < bytes.length; ) {
      const n = Math.min(bytes.length - start, this.#scratch.length - this.#at);
      this.#scratch.set(bytes.subarray(start, start + n), this.#at);
      this.#at += n;
      start += n;
      this.#cut();
    }
  }

  /** Copies out each full segment in the scratch buffer. */
  #cut(): void {
    const size = this.#size;
    if (this.#at < size) return;
    let from = 0;
    for (; this.#at - from >= size; from += size) this.#segments.push({ bytes: copyOut(this.#scratch, from, from + size), deflated: undefined });
    this.#scratch.copyWithin(0, from, this.#at);
    this.#at -= from;
  }

  /** The text written (the writer is done with). */
  finish(): SegmentedText {
    this.#own();
    shared.owner = undefined;
    const segments = this.#segments;
    if (this.#at > 0) {
      // What is left joins the last segment (the last one is up to twice the size), or is the only one.
      const last = segments.pop();
      segments.push({ bytes: joined(last?.bytes, this.#scratch.subarray(0, this.#at)), deflated: undefined });
    } else if (segments.length === 2) {
      // Exactly twice the size: one segment, as a cut of it would give.
      const [a, b] = segments.splice(0, 2) as [Segment, Segment];
      segments.push({ bytes: joined(a.bytes, b.bytes), deflated: undefined });
    }
    return SegmentedText.of(segments, this.#size);
  }

  /** The scratch buffer is this writer's (a writer that started after it would have written over it). */
  #own(): void {
    if (shared.owner !== this) throw new Error('a SegmentWriter was used after another one started');
  }
}

/** a then b, in memory of their own. */
function joined(a: Buffer | undefined, b: Buffer): Buffer {
  const bytes = Buffer.allocUnsafeSlow((a?.length ?? 0) + b.length);
  a?.copy(bytes, 0);
  b.copy(bytes, a?.length ?? 0);
  return bytes;
}

/** Bytes [start, end) of `from` in memory of their own. */
function copyOut(from: Buffer, start: number, end: number): Buffer {
  const bytes = Buffer.allocUnsafeSlow(end - start);
  from.copy(bytes, 0, start, end);
  return bytes;
}
