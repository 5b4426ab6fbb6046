import { describe, expect, test } from '@jest/globals';
import { efficiencyModeChosen, useEfficiencyMode } from '../../../src/efficiency-mode.js';

describe('V8 efficiency mode at start', () => {
  test('is turned on, with the garbage collector keeping its helper threads, when node was started without a choice', () => {
    const set: string[] = [];
    expect(useEfficiencyMode(['--enable-source-maps', '--max-semi-space-size=16'], (flag) => set.push(flag))).toBe(true);
    expect(set).toEqual(['--efficiency-mode', '--no-single-threaded-gc-in-background']);
  });

  test.each([['--efficiency-mode'], ['--no-efficiency-mode'], ['--efficiency-mode=false'], ['--efficiency_mode'], ['--no-efficiency_mode']])(
    'is left as node was told with %s',
    (arg) => {
      const set: string[] = [];
      expect(efficiencyModeChosen(['--inspect', arg])).toBe(true);
      expect(useEfficiencyMode([arg], (flag) => set.push(flag))).toBe(false);
      expect(set).toEqual([]);
    },
  );

  test('other flags that merely contain the words are no choice', () => {
    expect(efficiencyModeChosen(['--efficiency-mode-delay-turbofan=100', '--efficiency-mode-for-tiering-heuristics'])).toBe(false);
  });
});
