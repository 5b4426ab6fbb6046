import { beforeEach, describe, expect, test } from '@jest/globals';
import { YoungGenerationCap } from '../../../src/young-generation-cap.js';

describe('YoungGenerationCap', () => {
  /** The young generation's size (MiB), as V8 would report it. */
  let size = 1;
  /** Growth factors set, in order. */
  let factors: number[] = [];
  let cap: YoungGenerationCap;

  beforeEach(() => {
    size = 1;
    factors = [];
    cap = new YoungGenerationCap({ start: 8, writes: 16 }, () => size, (factor) => factors.push(factor));
  });

  test('holds the young generation from the start, grows it to the start cap across collections, then stops', () => {
    expect(factors).toEqual([1]);
    cap.started();
    expect(factors).toEqual([1, 2]);
    size = 4;
    cap.collected();
    expect(factors).toEqual([1, 2]);
    size = 8;
    cap.collected();
    expect(factors).toEqual([1, 2, 1]);
    cap.collected();
    expect(factors).toEqual([1, 2, 1]);
  });

  test('a write while growing from the start changes nothing: the start cap still stops it', () => {
    cap.started();
    cap.written();
    size = 8;
    cap.collected();
    expect(factors).toEqual([1, 2, 1]);
  });

  test('after a collection gave it back, a write lets it grow again, only until collections are seen', () => {
    cap.started();
    size = 8;
    cap.collected();
    // An idle collection gave the young generation back.
    size = 1;
    cap.collected();
    expect(factors).toEqual([1, 2, 1]);
    cap.written();
    expect(factors).toEqual([1, 2, 1, 2]);
    // Still below the cap: the collections seen stop it all the same (a scrape next must not grow it).
    size = 2;
    cap.collected();
    expect(factors).toEqual([1, 2, 1, 2, 1]);
    // The next write lets it grow again.
    cap.written();
    cap.written();
    expect(factors).toEqual([1, 2, 1, 2, 1, 2]);
  });

  test('a write finds it at the write cap: no growth', () => {
    cap.started();
    size = 16;
    cap.collected();
    cap.written();
    cap.collected();
    expect(factors).toEqual([1, 2, 1]);
  });

  test('writes may grow it past the start cap, up to the write cap', () => {
    cap.started();
    size = 8;
    cap.collected();
    cap.written();
    expect(factors).toEqual([1, 2, 1, 2]);
    size = 16;
    cap.collected();
    cap.written();
    expect(factors).toEqual([1, 2, 1, 2, 1]);
  });
});
