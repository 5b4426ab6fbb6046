import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { getHeapStatistics } from 'node:v8';
import { IdleCollection, fullCollection, oldGenerationBytes } from '../../../src/idle-collection.js';

describe('IdleCollection', () => {
  let clock = 0;
  let collections: number[] = [];
  /** How long each collection takes (the clock moves on by it). */
  let cost = 10;
  /** What the old generation holds (MiB); a collection brings it back to `live`. */
  let held = 0;
  let live = 0;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
    collections = [];
    cost = 10;
    held = 40;
    live = 40;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const idle = (): IdleCollection =>
    new IdleCollection({
      quietMs: 1_000,
      budget: 0.05,
      minGrowth: { share: 0.125, bytes: 4 },
      oldGeneration: () => held,
      now: () => clock,
      collect: () => {
        collections.push(clock);
        clock += cost;
        held = live;
      },
    });
  /** A write that leaves `mib` MiB more in the old generation (enough for a collection by default). */
  const write = (c: IdleCollection, mib = 10): void => {
    held += mib;
    c.written();
  };
  const advance = (ms: number): void => {
    clock += ms;
    jest.advanceTimersByTime(ms);
  };

  test('collects once, quietMs after the last write', () => {
    const c = idle();
    write(c);
    advance(600);
    write(c);
    advance(600);
    expect(collections).toEqual([]);
    advance(400);
    expect(collections).toEqual([1_600]);
    advance(10_000);
    expect(collections).toHaveLength(1);
  });

  test('never collects without a write', () => {
    idle();
    advance(10_000);
    expect(collections).toEqual([]);
  });

  test('collects again after later writes', () => {
    const c = idle();
    write(c);
    advance(1_000);
    write(c);
    advance(1_000);
    expect(collections).toHaveLength(2);
  });

  test('a read asks for a look quietMs later, by the same growth rule', () => {
    const c = idle();
    held += 10;
    c.read();
    advance(999);
    expect(collections).toEqual([]);
    advance(1);
    expect(collections).toEqual([1_000]);
    // A read that left little behind (a scrape served from the cached text): no collection.
    held += 1;
    c.read();
    advance(5_000);
    expect(collections).toEqual([1_000]);
  });

  test('reads put off a look that reads asked for: once requests stop', () => {
    const c = idle();
    held += 10;
    c.read();
    advance(600);
    c.read();
    advance(600);
    expect(collections).toEqual([]);
    advance(400);
    expect(collections).toEqual([1_600]);
  });

  test('reads never put off a look that writes asked for; writes put off any', () => {
    const c = idle();
    write(c);
    advance(600);
    c.read();
    advance(400);
    expect(collections).toEqual([1_000]);
    // (The collection took 10 ms: the clock is at 1,010.)
    held += 10;
    c.read();
    advance(600);
    write(c);
    advance(600);
    expect(collections).toEqual([1_000]);
    advance(400);
    expect(collections).toEqual([1_000, 2_610]);
  });

  test('holds collections to their budget: after one of 100 ms, the next waits 2 s from its start', () => {
    cost = 100;
    const c = idle();
    write(c);
    advance(1_000);
    expect(collections).toEqual([1_000]);
    // Written at once again: quiet 1 s later, but the budget allows the next only 2 s after the first began.
    write(c);
    advance(1_500);
    expect(collections).toHaveLength(1);
    advance(2_000);
    expect(collections).toHaveLength(2);
    expect(collections[1]).toBeGreaterThanOrEqual(3_000);
  });

  test('does not collect after writes that left less than an eighth of the old generation, or less than 4 MiB', () => {
    held = live = 48;
    const c = idle();
    write(c, 3);
    advance(1_000);
    expect(collections).toEqual([]);
    // Grown by 3 + 2 = 5: 4 MiB or more, but less than an eighth of 48.
    write(c, 2);
    advance(1_000);
    expect(collections).toEqual([]);
    // Grown by 5 + 1.5 = 6.5, past an eighth of 48: collects.
    write(c, 1.5);
    advance(1_000);
    expect(collections).toEqual([3_000]);
  });

  test('small stores wait for 4 MiB of growth, not an eighth', () => {
    held = live = 8;
    const c = idle();
    write(c, 3);
    advance(1_000);
    expect(collections).toEqual([]);
    write(c, 1);
    advance(1_000);
    expect(collections).toEqual([2_000]);
  });

  test('measures growth from what the old generation held after the last collection', () => {
    const c = idle();
    live = 60;
    write(c, 30);
    advance(1_000);
    expect(collections).toEqual([1_000]);
    // After it: 60 held. 6 more is less than an eighth of 60 (7.5).
    write(c, 6);
    advance(1_000);
    expect(collections).toHaveLength(1);
    write(c, 2);
    advance(1_000);
    expect(collections).toHaveLength(2);
  });

  test("a collection of V8's own in between lowers the mark", () => {
    const c = idle();
    // V8 collected by itself: the old generation holds 20, then 23 after a write.
    held = 20;
    write(c, 3);
    advance(1_000);
    expect(collections).toEqual([]);
    // 23 + 4 = 27: not 4 over the first mark of 40, but 4 over the new mark of 23 (and over an eighth of it).
    write(c, 4);
    advance(1_000);
    expect(collections).toEqual([2_000]);
  });

  test('waits while requests are in flight: a long scrape is not paused by a collection, which runs quietMs after the last request ends', () => {
    const c = idle();
    write(c);
    // A scrape begins and renders for seconds: the look comes due meanwhile and is held.
    c.began();
    c.read();
    advance(3_000);
    c.began();
    advance(1_000);
    c.ended();
    advance(2_000);
    expect(collections).toEqual([]);
    c.ended();
    advance(999);
    expect(collections).toEqual([]);
    advance(1);
    expect(collections).toEqual([7_000]);
  });

  test('requests that come and go do not put off a collection before it is due', () => {
    const c = idle();
    write(c);
    for (let i = 0; i < 9; i++) {
      advance(50);
      c.began();
      c.read();
      advance(50);
      c.ended();
    }
    advance(100);
    expect(collections).toEqual([1_000]);
  });

  test('requests alone never make a collection, and one ending with nothing due arms nothing', () => {
    const c = idle();
    c.began();
    c.ended();
    advance(5_000);
    expect(collections).toEqual([]);
  });

  test('stop() cancels what was pending', () => {
    const c = idle();
    write(c);
    c.stop();
    advance(5_000);
    expect(collections).toEqual([]);
  });
});

test('fullCollection runs V8 full collection, as often as asked', async () => {
  const collect = fullCollection();
  // Garbage that only a collection frees: an object held only weakly.
  const ref = new WeakRef({ big: new Array(1000).fill(0) });
  // A WeakRef keeps its target until the job that made it ends.
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  collect();
  expect(ref.deref()).toBeUndefined();
});

test('oldGenerationBytes: what the heap holds outside the young generation', () => {
  const old = oldGenerationBytes();
  expect(old).toBeGreaterThan(0);
  expect(old).toBeLessThan(getHeapStatistics().used_heap_size);
});
