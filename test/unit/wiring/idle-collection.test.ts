import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { IdleCollection, fullCollection } from '../../../src/idle-collection.js';

describe('IdleCollection', () => {
  let clock = 0;
  let collections: number[] = [];
  /** How long each collection takes (the clock moves on by it). */
  let cost = 10;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
    collections = [];
    cost = 10;
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const idle = (): IdleCollection =>
    new IdleCollection({
      quietMs: 1_000,
      budget: 0.05,
      now: () => clock,
      collect: () => {
        collections.push(clock);
        clock += cost;
      },
    });
  const advance = (ms: number): void => {
    clock += ms;
    jest.advanceTimersByTime(ms);
  };

  test('collects once, quietMs after the last write', () => {
    const c = idle();
    c.written();
    advance(600);
    c.written();
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
    c.written();
    advance(1_000);
    c.written();
    advance(1_000);
    expect(collections).toHaveLength(2);
  });

  test('holds collections to their budget: after one of 100 ms, the next waits 2 s from its start', () => {
    cost = 100;
    const c = idle();
    c.written();
    advance(1_000);
    expect(collections).toEqual([1_000]);
    // Written at once again: quiet 1 s later, but the budget allows the next only 2 s after the first began.
    c.written();
    advance(1_500);
    expect(collections).toHaveLength(1);
    advance(2_000);
    expect(collections).toHaveLength(2);
    expect(collections[1]).toBeGreaterThanOrEqual(3_000);
  });

  test('stop() cancels what was pending', () => {
    const c = idle();
    c.written();
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
