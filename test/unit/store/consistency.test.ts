import { describe, expect, test } from '@jest/globals';
import { PlainFamily, type Label, type MetricFamily } from '../../../src/model/index.js';
import { ConsistencyIndex, labelsHash } from '../../../src/store/consistency.js';
import { key } from '../../harness/builders.js';

const gauge = (...values: string[]): MetricFamily => ({
  name: 'm',
  type: 'gauge',
  metrics: values.map((value, i) => ({ labels: [{ name: 'a', value }], value: i })),
});

const check = (family: MetricFamily): string | undefined => new ConsistencyIndex(() => undefined).check('g', new Map([['m', family]]), ['m']);

/** Families as pushes build them (an object per series) and as the store keeps plain ones (packed): each is checked its own way. */
const FORMS: [string, (family: MetricFamily) => MetricFamily][] = [
  ['series as objects', (family) => family],
  ['packed', (family) => PlainFamily.of(family) ?? family],
];

describe.each(FORMS)('the duplicate check within a push (%s)', (_form, pack) => {
  // Two values whose label hashes meet (found by search): only a comparison tells them apart.
  const [x, y] = ['kbxcywg5', 'cbplu3yd'];
  const labels = (value: string): Label[] => [{ name: 'a', value }];

  test('the two values make one hash', () => {
    expect(labelsHash(labels(x))).toBe(labelsHash(labels(y)));
  });

  test('series whose hashes meet are both stored', () => {
    expect(check(pack(gauge(x, y)))).toBeUndefined();
    expect(check(pack(gauge(x, 'other', y, 'more')))).toBeUndefined();
  });

  test.each([
    ['the first of a hash', [x, y, x]],
    ['the second of a hash', [x, y, y]],
    ['a plain repeat', ['p', 'q', 'p']],
  ])('a repeat of %s is refused', (_name, values) => {
    expect(check(pack(gauge(...values)))).toMatch(/duplicate series: m\{a=".*"\} is already stored in this push/);
  });

  test('the same labels in two families are not duplicates', () => {
    const index = new ConsistencyIndex(() => undefined);
    const n = { ...gauge('p'), name: 'n' };
    expect(index.check('g', new Map([['m', pack(gauge('p'))], ['n', pack(n)]]), ['m', 'n'])).toBeUndefined();
  });

  test('many distinct series are stored, one repeat among them is found', () => {
    const values = Array.from({ length: 50_000 }, (_, i) => `/api/v1/items/${i}`);
    expect(check(pack(gauge(...values)))).toBeUndefined();
    expect(check(pack(gauge(...values, values[31_337] ?? '')))).toMatch(/items\/31337"\} is already stored in this push/);
  });
});

describe.each(FORMS)('label checks within a push (%s)', (_form, pack) => {
  const family = (...series: Label[][]): MetricFamily => pack({ name: 'm', type: 'gauge', metrics: series.map((labels, i) => ({ labels, value: i })) });

  test('a label name starting with __ or empty is refused, naming it', () => {
    expect(check(family([{ name: 'a', value: '1' }], [{ name: '__x', value: '2' }]))).toBe('metric "m" has a label with an invalid name: "__x"');
    expect(check(family([{ name: '', value: '1' }]))).toBe('metric "m" has a label with an invalid name: ""');
  });

  test('a label value that is not valid UTF-8 is refused', () => {
    expect(check(family([{ name: 'a', value: 'ok' }], [{ name: 'a', value: 'bad \ud800' }]))).toBe('metric "m" has a label "a" whose value is not valid UTF-8');
  });

  test('the first problem in series order is the one given', () => {
    const a = (value: string): Label[] => [{ name: 'a', value }];
    expect(check(family(a('1'), a('1'), [{ name: '__x', value: '2' }]))).toMatch(/^duplicate series: m\{a="1"\} is already stored in this push$/);
    expect(check(family(a('1'), [{ name: '__x', value: '2' }], a('1')))).toBe('metric "m" has a label with an invalid name: "__x"');
  });
});

describe.each(FORMS)('series stored in another group (%s)', (_form, pack) => {
  test('a series that a group of another key shape holds is a duplicate; one its own group holds is not', () => {
    const keys = new Map([
      ['by-job', key('j')],
      ['by-job-instance', key('j', '/instance/i')],
    ]);
    const index = new ConsistencyIndex(() => undefined, (id) => keys.get(id));
    const series = (instance: string): MetricFamily =>
      pack({ name: 'm', type: 'gauge', metrics: [{ labels: [{ name: 'instance', value: instance }, { name: 'job', value: 'j' }], value: 1 }] });
    index.replace('by-job-instance', undefined, series('i'));
    expect(index.check('by-job', new Map([['m', series('i')]]), ['m'])).toBe('duplicate series: m{instance="i", job="j"} is already stored in another group');
    expect(index.check('by-job', new Map([['m', series('other')]]), ['m'])).toBeUndefined();
    expect(index.check('by-job-instance', new Map([['m', series('i')]]), ['m'])).toBeUndefined();
  });
});
