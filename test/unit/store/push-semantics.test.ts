import { describe, expect, test } from '@jest/globals';
import type { MetricFamily } from '../../../src/model/index.js';
import { failureTimeAfterPush, mergePushed, normalisePush } from '../../../src/store/push-semantics.js';
import { family, key, sample } from '../../harness/builders.js';

const names = (pushed: ReturnType<typeof normalisePush>): string[] => (pushed.refused === undefined ? pushed.families.map((f) => f.name) : []);

describe('normalisePush', () => {
  test.each<[string, MetricFamily[], string[], number | undefined]>([
    ['families keep their push order', [family('b'), family('a')], ['b', 'a'], undefined],
    ['push_time_seconds is dropped', [family('push_time_seconds', 'gauge', [sample(5)]), family('m')], ['m'], undefined],
    ['push_failure_time_seconds becomes the failure time (ms)', [family('push_failure_time_seconds', 'gauge', [sample(12.5)])], [], 12_500],
    ['a NaN failure time is ignored', [family('push_failure_time_seconds', 'gauge', [sample(NaN)])], [], undefined],
    ['an infinite failure time is ignored', [family('push_failure_time_seconds', 'gauge', [sample(Infinity)])], [], undefined],
  ])('%s', (_name, pushed, families, failureTimeMs) => {
    const result = normalisePush(key('j'), pushed);
    expect(names(result)).toEqual(families);
    expect(result.refused === undefined ? result.failureTimeMs : 'refused').toBe(failureTimeMs);
  });

  test('a timestamp refuses the whole push', () => {
    expect(normalisePush(key('j'), [family('m'), family('n', 'gauge', [sample(1, {}, { timestampMs: 5 })])])).toEqual({
      refused: 'pushed metrics must not have timestamps',
    });
  });

  test('labels are sanitised: the grouping labels forced on, instance="" added', () => {
    const result = normalisePush(key('j'), [family('m', 'gauge', [sample(1, { job: 'other', a: '1' })])]);
    expect(result.refused === undefined ? result.families[0]?.metrics[0]?.labels : undefined).toEqual([
      { name: 'a', value: '1' },
      { name: 'instance', value: '' },
      { name: 'job', value: 'j' },
    ]);
  });
});

describe('failureTimeAfterPush', () => {
  test.each<[string, number | undefined, number | undefined, number]>([
    ['a new group starts with none, whatever was pushed', undefined, 7, 0],
    ['an existing group takes the pushed time', 3, 7, 7],
    ['an existing group keeps its time when none was pushed', 3, undefined, 3],
  ])('%s', (_name, stored, pushed, expected) => {
    expect(failureTimeAfterPush(stored, pushed)).toBe(expected);
  });
});

describe('mergePushed', () => {
  const stored = new Map([
    ['a', 1],
    ['b', 2],
  ]);
  test.each<[string, 'PUT' | 'POST', ReadonlyMap<string, number> | undefined, [string, number][], [string, number][]]>([
    ['PUT replaces every family', 'PUT', stored, [['b', 20]], [['b', 20]]],
    ['POST replaces the families it names', 'POST', stored, [['b', 20], ['c', 30]], [['a', 1], ['b', 20], ['c', 30]]],
    ['POST to a new group', 'POST', undefined, [['c', 30]], [['c', 30]]],
  ])('%s', (_name, method, before, pushed, after) => {
    const { next, changed } = mergePushed(method, before, pushed);
    expect([...next]).toEqual(after);
    expect([...changed]).toEqual(pushed.map(([name]) => name));
    expect(stored.get('b')).toBe(2);
  });
});
