import { describe, expect, test } from '@jest/globals';
import { ReadBarrier } from '../../../src/store/read-barrier.js';

/**
 * The read barrier with a hand-driven count of writes in flight: a reader renders only when
 * nothing applied is waiting for the disk, and writes that come while it waits are held until
 * it rendered, in call order.
 */
function setup() {
  const state = { inFlight: 0, applied: [] as string[] };
  const barrier = new ReadBarrier(() => state.inFlight);
  /** A write that changes memory at once and stays in flight until settle(). */
  const write = (name: string): Promise<string> =>
    barrier.write(() => {
      state.applied.push(name);
      state.inFlight++;
      return Promise.resolve(name);
    });
  const settle = (): void => {
    state.inFlight = 0;
    barrier.settled();
  };
  return { state, barrier, write, settle };
}

describe('ReadBarrier', () => {
  test('with nothing in flight a reader reads at once and writes apply at once', async () => {
    const { state, barrier, write } = setup();
    expect(await barrier.read(() => 'read')).toBe('read');
    void write('a');
    expect(state.applied).toEqual(['a']);
  });

  test('a reader waits for the writes in flight and sees none of the writes that came after it', async () => {
    const { state, barrier, write, settle } = setup();
    void write('a');
    const seen = barrier.read(() => [...state.applied]);
    void write('b');
    void write('c');
    expect(state.applied).toEqual(['a']);
    settle();
    expect(await seen).toEqual(['a']);
    // Held writes apply right after the reader, in call order.
    expect(state.applied).toEqual(['a', 'b', 'c']);
  });

  test('the read runs in the same tick as the settle, so no write can slip in before it', async () => {
    const { state, barrier, write, settle } = setup();
    void write('a');
    let ranAt: string[] | undefined;
    const seen = barrier.read(() => {
      ranAt = [...state.applied];
      return ranAt;
    });
    settle();
    expect(ranAt).toEqual(['a']);
    void write('b');
    expect(await seen).toEqual(['a']);
  });

  test('a stream of writes cannot starve a reader', async () => {
    const { state, barrier, write, settle } = setup();
    void write('w0');
    const seen = barrier.read(() => state.applied.length);
    for (let i = 1; i <= 100; i++) void write(`w${i}`);
    settle();
    expect(await seen).toBe(1);
    expect(state.applied).toHaveLength(101);
  });

  test('several readers wait together and all run before the held writes', async () => {
    const { state, barrier, write, settle } = setup();
    void write('a');
    const first = barrier.read(() => state.applied.join());
    void write('b');
    const second = barrier.read(() => state.applied.join());
    settle();
    expect([await first, await second]).toEqual(['a', 'a']);
    expect(state.applied).toEqual(['a', 'b']);
  });

  test('a reader that throws rejects, and the held writes still apply', async () => {
    const { state, barrier, write, settle } = setup();
    void write('a');
    const failed = barrier.read(() => {
      throw new Error('render failed');
    });
    const held = write('b');
    settle();
    await expect(failed).rejects.toThrow('render failed');
    expect(await held).toBe('b');
    expect(state.applied).toEqual(['a', 'b']);
  });

  test('a held write that fails synchronously rejects its own caller only', async () => {
    const { state, barrier, write, settle } = setup();
    void write('a');
    const seen = barrier.read(() => 'read');
    const bad = barrier.write(() => {
      throw new Error('refused');
    });
    const good = write('b');
    settle();
    expect(await seen).toBe('read');
    await expect(bad).rejects.toThrow('refused');
    expect(await good).toBe('b');
    expect(state.applied).toEqual(['a', 'b']);
  });
});
