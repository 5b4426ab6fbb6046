/**
 * Generic hostile bytes: arbitrary byte strings, and mutations of valid inputs (insert, delete,
 * overwrite, flip, duplicate, truncate, splice a token from a format's dictionary), which reach
 * far deeper into a parser than random bytes do.
 */

import fc from 'fast-check';

/** Largest input the properties build (the brief's ~64 KiB). */
export const MAX_INPUT_BYTES = 64 * 1024;

type Mutation =
  | { readonly kind: 'insert' | 'overwrite'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete' | 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number };

const position = fc.nat({ max: 0x7fffffff });

function mutationArb(tokens: readonly Uint8Array[]): fc.Arbitrary<Mutation> {
  const bytes = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...tokens) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }) },
  );
  return fc.oneof(
    fc.record({ kind: fc.constantFrom('insert' as const, 'overwrite' as const), at: position, bytes }),
    fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: position }),
  );
}

function apply(input: Uint8Array, m: Mutation): Uint8Array {
  const n = input.length;
  const at = n === 0 ? 0 : m.at % (n + 1);
  switch (m.kind) {
    case 'insert':
      return concat(input.subarray(0, at), m.bytes, input.subarray(at));
    case 'overwrite': {
      const out = concat(input.subarray(0, at), m.bytes, input.subarray(Math.min(n, at + m.bytes.length)));
      return out;
    }
    case 'delete':
      return concat(input.subarray(0, at), input.subarray(Math.min(n, at + m.length)));
    case 'duplicate': {
      const end = Math.min(n, at + m.length);
      return concat(input.subarray(0, end), input.subarray(at, end), input.subarray(end));
    }
    case 'flip': {
      if (n === 0) return input;
      const out = input.slice();
      const i = at % n;
      out[i] = (out[i] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return input.subarray(0, at);
  }
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The input, then the same with 1–6 mutations applied (a quarter of the time unmutated). */
export function mutated(valid: fc.Arbitrary<Uint8Array>, tokens: readonly Uint8Array[], maxBytes = MAX_INPUT_BYTES): fc.Arbitrary<Uint8Array> {
  const mutations = fc.oneof(
    { weight: 1, arbitrary: fc.constant([] as Mutation[]) },
    { weight: 3, arbitrary: fc.array(mutationArb(tokens), { minLength: 1, maxLength: 6 }) },
  );
  return fc.tuple(valid, mutations).map(([input, ms]) => capped(ms.reduce(apply, input), maxBytes));
}

export function capped(input: Uint8Array, maxBytes = MAX_INPUT_BYTES): Uint8Array {
  return input.length <= maxBytes ? input : input.subarray(0, maxBytes);
}

/** Arbitrary bytes: mostly short, sometimes up to the size limit. */
export function anyBytes(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 4096 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 4096, maxLength: MAX_INPUT_BYTES, size: 'max' }) },
  );
}

/**
 * A piece repeated until the input is large (up to maxBytes; at least minCount times when that
 * fits), between a prefix and a suffix: the shape of inputs that make a parser quadratic.
 */
export function repeated(
  pieces: fc.Arbitrary<Uint8Array>,
  frames: fc.Arbitrary<Uint8Array>,
  maxBytes = MAX_INPUT_BYTES,
  minCount = 1,
): fc.Arbitrary<Uint8Array> {
  return fc
    .record({ prefix: frames, piece: pieces, count: fc.integer({ min: minCount, max: maxBytes }), suffix: frames })
    .map(({ prefix, piece, count, suffix }) => {
      const room = Math.max(0, maxBytes - prefix.length - suffix.length);
      const times = piece.length === 0 ? 0 : Math.min(count, Math.floor(room / piece.length));
      const out = new Uint8Array(prefix.length + times * piece.length + suffix.length);
      out.set(prefix, 0);
      for (let i = 0; i < times; i++) out.set(piece, prefix.length + i * piece.length);
      out.set(suffix, prefix.length + times * piece.length);
      return out;
    });
}

const encoder = new TextEncoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
/** Bytes from a string of code points below 256 (for byte sequences that are not UTF-8). */
export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
