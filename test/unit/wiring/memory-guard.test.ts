import { beforeEach, describe, expect, test } from '@jest/globals';
import { getHeapStatistics } from 'node:v8';
import { MemoryGuard, heapReading, type HeapReading } from '../../../src/memory-guard.js';

describe('MemoryGuard', () => {
  let clock = 0;
  /** What the heap holds (MiB), garbage included; a collection brings it back to `live`. */
  let used = 0;
  let live = 0;
  let collections: number[] = [];
  let changes: Array<[boolean, number]> = [];
  const LIMIT = 100;
  /** How long a collection takes (the clock moves on by it). */
  const COST = 50;

  beforeEach(() => {
    clock = 0;
    used = 0;
    live = 0;
    collections = [];
    changes = [];
  });

  const guard = (): MemoryGuard =>
    new MemoryGuard({
      share: 0.8,
      heap: (): HeapReading => ({ used, limit: LIMIT }),
      collect: () => {
        collections.push(clock);
        clock += COST;
        used = live;
      },
      budget: 0.05,
      now: () => clock,
      onChange: (full, reading) => changes.push([full, reading.used]),
    });

  test('below the line: nothing is collected and nothing refused', () => {
    const g = guard();
    used = 80;
    live = 80;
    expect(g.pressed()).toBe(false);
    expect(g.full()).toBeUndefined();
    expect(collections).toEqual([]);
    expect(changes).toEqual([]);
  });

  test('over the line with garbage only: one collection, and growth goes on', () => {
    const g = guard();
    used = 95;
    live = 60;
    expect(g.full()).toBeUndefined();
    expect(collections).toEqual([0]);
    expect(changes).toEqual([]);
  });

  test('over the line after a collection: refused, and said once', () => {
    const g = guard();
    used = 95;
    live = 85;
    expect(g.pressed()).toBe(true);
    expect(collections).toEqual([]);
    expect(g.full()).toEqual({ used: 85, limit: LIMIT });
    expect(changes).toEqual([[true, 85]]);
    // Refusing: pressed even while the reading is (for a moment) under the line.
    used = 60;
    expect(g.pressed()).toBe(true);
    used = 90;
    expect(g.full()).toEqual({ used: 90, limit: LIMIT });
    expect(changes).toHaveLength(1);
  });

  test('collections are held to the budget: the answer of the last one stands until then', () => {
    const g = guard();
    used = 95;
    live = 85;
    g.full();
    // The collection took 50 ms: the next may come 1 s after it began.
    clock = 500;
    live = 40;
    used = 95;
    expect(g.full()).toBeDefined();
    expect(collections).toEqual([0]);
    clock = 1_000;
    expect(g.full()).toBeUndefined();
    expect(collections).toEqual([0, 1_000]);
    expect(changes).toEqual([
      [true, 85],
      [false, 40],
    ]);
  });

  test('growth taken in the budget\'s wait is checked at once past halfway from the line to the limit', () => {
    const g = guard();
    used = 95;
    live = 60;
    expect(g.full()).toBeUndefined();
    expect(collections).toEqual([0]);
    // Pushes add series while collections wait (until 1 s): under 90 (halfway from 80 to 100) the answer stands.
    clock = 100;
    live = 86;
    used = 89;
    expect(g.full()).toBeUndefined();
    expect(collections).toEqual([0]);
    // Past it: collected now, and the store is over the line.
    used = 91;
    expect(g.full()).toEqual({ used: 86, limit: LIMIT });
    expect(collections).toEqual([0, 100]);
    expect(changes).toEqual([[true, 86]]);
    // Refusing now: no more collections until the budget allows one, whatever the reading.
    clock = 200;
    used = 99;
    expect(g.full()).toBeDefined();
    expect(collections).toEqual([0, 100]);
  });

  test('a reading under the line (V8 collected meanwhile) ends the refusal without a collection', () => {
    const g = guard();
    used = 95;
    live = 85;
    g.full();
    clock = 100;
    used = 70;
    expect(g.full()).toBeUndefined();
    expect(collections).toEqual([0]);
    expect(changes).toEqual([
      [true, 85],
      [false, 70],
    ]);
  });

  test('heapReading is V8\'s own', () => {
    const reading = heapReading();
    expect(reading.limit).toBe(getHeapStatistics().heap_size_limit);
    expect(reading.used).toBeGreaterThan(0);
    expect(reading.used).toBeLessThan(reading.limit);
  });
});
