/** The benchmark's target check (bench/targets.ts): misses are named, nothing unmeasured passes. */
import { describe, expect, test } from '@jest/globals';
import { atLeast, atMost, atMostValue, checkReport, formatTargets, misses, type CheckedRow, type Measured, type Reference } from '../../../bench/targets.js';

const ref = (short: string, cell: Measured | undefined): Reference => ({ title: `Pushgateway ${short}`, short, cell });

function row(subject: Measured | undefined, references: readonly Reference[], targets = [atMost(1.0)]): CheckedRow {
  return { metric: 'resident memory', unit: 'bytes', targets, subject, references };
}

describe('misses', () => {
  test.each<[string, CheckedRow, string[]]>([
    ['a ratio under its bound against every reference holds', row({ value: 90 }, [ref('1.5.1', { value: 100 }), ref('1.11.3', { value: 95 })]), []],
    ['exactly at the bound holds', row({ value: 100 }, [ref('1.5.1', { value: 100 })]), []],
    ['over the bound against one reference misses, naming it', row({ value: 98 }, [ref('1.5.1', { value: 100 }), ref('1.11.3', { value: 80 })]), ['1.23× vs 1.11.3, target ≤ 1.0×']],
    ['throughput under its lower bound misses', { ...row({ value: 150 }, [ref('1.5.1', { value: 100 })], [atLeast(2)]), unit: 'req/s' }, ['1.50× vs 1.5.1, target ≥ 2.0×']],
    ['an absolute bound is checked on the value', { ...row({ value: 210 }, [ref('1.5.1', { value: 3000 })], [atMostValue(150), atMost(0.1)]), unit: 'ms' }, ['210 ms, target ≤ 150 ms']],
    ['the subject broke: a miss, never a pass', row({ note: 'broke: filling took over 120 s' }, [ref('1.5.1', { value: 100 })]), ['not measured (broke: filling took over 120 s)']],
    ['the subject has no cell', row(undefined, [ref('1.5.1', { value: 100 })]), ['not measured']],
    ['a NaN value is not a measurement', row({ value: Number.NaN }, [ref('1.5.1', { value: 100 })]), ['not measured']],
    ['a reference that broke leaves no ratio: a miss', row({ value: 50 }, [ref('1.5.1', { note: 'broke: the process was killed by SIGKILL' })]), ['no ratio vs 1.5.1: broke: the process was killed by SIGKILL']],
    ['a reference with no cell: a miss', row({ value: 50 }, [ref('1.5.1', undefined)]), ['no ratio vs 1.5.1: not measured']],
    ['no reference ran: a ratio target cannot hold', row({ value: 50 }, []), ['no reference ran, so ≤ 1.0× cannot be checked']],
    ['a row without targets is not checked', row({ note: 'broke' }, [], []), []],
  ])('%s', (_name, input, expected) => {
    expect(misses(input)).toEqual(expected);
  });
});

describe('checkReport', () => {
  test('every target holds: ok, one line counting the rows with targets', () => {
    const rows = [row({ value: 1 }, [ref('1.5.1', { value: 2 })]), row({ value: 5 }, [], [])];
    expect(checkReport(rows)).toEqual({ ok: true, lines: ['check: all 1 targets hold'] });
  });

  test('misses: not ok, a line per row that misses', () => {
    const rows = [row({ value: 3 }, [ref('1.5.1', { value: 2 })]), { ...row({ note: 'not run' }, [ref('1.5.1', { value: 2 })]), metric: 'restart' }, row({ value: 1 }, [ref('1.5.1', { value: 2 })])];
    expect(checkReport(rows)).toEqual({
      ok: false,
      lines: ['check: 2 of 3 rows miss their targets', '  MISS resident memory: 1.50× vs 1.5.1, target ≤ 1.0×', '  MISS restart: not run'],
    });
  });
});

test('formatTargets writes the table column', () => {
  expect(formatTargets([atMostValue(150), atMost(0.1)], 'ms')).toBe('≤ 150 ms, ≤ 0.1×');
  expect(formatTargets([atLeast(3.4)], 'req/s')).toBe('≥ 3.4×');
  expect(formatTargets([atMost(0.0062)], 'ms')).toBe('≤ 0.0062×');
  expect(formatTargets([atMostValue(80), atMostValue(1000)], 'ms')).toBe('≤ 80 ms, ≤ 1 s');
  expect(formatTargets([], 'ms')).toBe('');
});
