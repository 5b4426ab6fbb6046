import { describe, expect, test } from '@jest/globals';
import { ConfigError } from '../../../src/errors.js';
import { restoreHeapCheck } from '../../../src/wiring/restore-heap.js';

const MiB = 1024 * 1024;

describe('restoreHeapCheck', () => {
  /** A heap of 100 MiB whose reading is `used` until a collection brings it to `live`. */
  const world = () => {
    const state = { used: 0, live: 0, collections: 0, stopped: [] as ConfigError[] };
    const check = restoreHeapCheck(
      () => ({ used: state.used * MiB, limit: 100 * MiB }),
      () => {
        state.collections++;
        state.used = state.live;
      },
      (error) => state.stopped.push(error),
    );
    return { state, check };
  };

  test('below the line: nothing collected, nothing stopped', () => {
    const { state, check } = world();
    state.used = 80;
    check(10, 100);
    expect(state).toMatchObject({ collections: 0, stopped: [] });
  });

  test('over the line with garbage: one collection, and linking goes on', () => {
    const { state, check } = world();
    state.used = 95;
    state.live = 60;
    check(10, 100);
    expect(state).toMatchObject({ collections: 1, stopped: [] });
    // Another collection only after 5 MiB more than what was live.
    state.used = 64;
    check(20, 100);
    state.used = 82;
    state.live = 78;
    check(30, 100);
    expect(state.collections).toBe(2);
    // Over the line again, but less than 5 MiB past the last collection's 78: not collected again.
    state.used = 82;
    check(40, 100);
    expect(state).toMatchObject({ collections: 2, stopped: [] });
  });

  test('over the line after a collection: stops when the whole store needs more than 0.95 of the limit, naming it', () => {
    const { state, check } = world();
    // The first call sets what Lethe itself holds: 10 MiB.
    state.used = 10;
    check(1, 100);
    state.used = 95;
    state.live = 85;
    expect(() => check(50, 100)).toThrow(ConfigError);
    expect(state.collections).toBe(1);
    // 10 + (85 - 10) * 100 / 50 = 160 MiB.
    expect(state.stopped.map((e) => e.message)).toEqual([
      "the stored groups do not fit in V8's heap: with 50 of their 100 series read back, the heap holds 85 MiB after a full collection, of its limit of 100 MiB, and the whole store needs about 160 MiB. Give Lethe more memory (node gives the heap half the container's memory limit; pushes that add series are refused at --limits.heap-share of it) and start it again; the persistence file is left as it is",
    ]);
    expect(state.stopped[0]?.exitCode).toBe(2);
  });

  test('over the line after a collection, but the rest fits: linking goes on', () => {
    const { state, check } = world();
    state.used = 10;
    check(1, 100);
    // 10 + (85 - 10) * 100 / 90 = 93.3 MiB: under 95.
    state.used = 95;
    state.live = 85;
    check(90, 100);
    expect(state).toMatchObject({ collections: 1, stopped: [] });
    // Nearly all read back and over 95: stopped.
    state.used = 96;
    state.live = 96;
    expect(() => check(99, 100)).toThrow(ConfigError);
    expect(state.collections).toBe(2);
  });
});
