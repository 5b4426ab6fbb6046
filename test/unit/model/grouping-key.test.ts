import { describe, expect, test } from '@jest/globals';
import { BadRequestError } from '../../../src/errors.js';
import { groupingKeyOf, groupingKeyOfPairs, labelsObject, parseGroupingKey } from '../../../src/model/index.js';

// Rows follow the Pushgateway's TestSplitLabels and PUSHGATEWAY.md §2.3.
describe('parseGroupingKey accepts', () => {
  test.each([
    ['a plain job', 'j', false, '', { job: 'j' }],
    ['a trailing slash as no labels', 'j', false, '/', { job: 'j' }],
    ['label pairs', 'j', false, '/a/1/b/2', { job: 'j', a: '1', b: '2' }],
    ['a trailing slash after a name as the empty value', 'j', false, '/a/', { job: 'j', a: '' }],
    ['a literal plus', 'j', false, '/a/x+y', { job: 'j', a: 'x+y' }],
    ['a base64 value, unpadded', 'j', false, '/path@base64/L3Zhci90bXA', { job: 'j', path: '/var/tmp' }],
    ['a base64 value, padded once', 'j', false, '/path@base64/L3Zhci90bXA=', { job: 'j', path: '/var/tmp' }],
    ['a base64 value with extra padding', 'j', false, '/path@base64/L3Zhci90bXA===', { job: 'j', path: '/var/tmp' }],
    ['= as the empty value', 'j', false, '/a@base64/=', { job: 'j', a: '' }],
    ['nothing after @base64 as the empty value', 'j', false, '/a@base64/', { job: 'j', a: '' }],
    ['URL-safe alphabet', 'j', false, '/a@base64/Pj4-Pz8', { job: 'j', a: '>>>??' }],
    ['a base64 job', 'L3Zhci90bXA', true, '', { job: '/var/tmp' }],
    ['the last of duplicate names', 'j', false, '/a/1/a/2', { job: 'j', a: '2' }],
    ['the job segment over a job label', 'j17', false, '/job/other', { job: 'j17' }],
    ['a UTF-8 value', 'j', false, '/a/Π', { job: 'j', a: 'Π' }],
  ])('%s', (_name, job, jobIsBase64, rest, want) => {
    expect(labelsObject(parseGroupingKey(job, jobIsBase64, rest))).toEqual(want);
  });
});

describe('parseGroupingKey rejects', () => {
  test.each([
    ['an odd number of components', 'j', false, '/a/1/b', /odd number of components in label string "a\/1\/b"/],
    ['a value then a trailing slash (odd)', 'j', false, '/a/b/', /odd number of components/],
    ['an invalid label name', 'j', false, '/a-b/1', /improper label name "a-b"/],
    ['a reserved label name', 'j', false, '/__a/1', /improper label name "__a"/],
    ['an empty label name', 'j', false, '//1', /improper label name ""/],
    ['invalid base64 in a value', 'j', false, '/a@base64/%%%', /invalid base64 encoding for label a="%%%"/],
    ['standard alphabet in a value', 'j', false, '/a@base64/ab+c', /invalid base64 encoding for label a/],
    ['invalid base64 in the job', '!!', true, '', /invalid base64 encoding in job name "!!"/],
    ['an empty base64 job', '=', true, '', /job name is required/],
    ['a bad label string before an empty job', '=', true, '/a', /odd number of components/],
  ])('%s', (_name, job, jobIsBase64, rest, message) => {
    expect(() => parseGroupingKey(job, jobIsBase64, rest)).toThrow(BadRequestError);
    expect(() => parseGroupingKey(job, jobIsBase64, rest)).toThrow(message);
  });
});

describe('grouping keys are canonical', () => {
  test('label order does not matter', () => {
    expect(parseGroupingKey('j', false, '/a/1/b/2').id).toBe(parseGroupingKey('j', false, '/b/2/a/1').id);
  });
  test('an empty instance is the same group as no instance', () => {
    expect(parseGroupingKey('j', false, '/instance@base64/=').id).toBe(parseGroupingKey('j', false, '').id);
    expect(parseGroupingKey('j', false, '/instance/').id).toBe(parseGroupingKey('j', false, '').id);
  });
  test('a non-empty instance is a different group', () => {
    expect(parseGroupingKey('j', false, '/instance/i').id).not.toBe(parseGroupingKey('j', false, '').id);
  });
  test('other empty labels still count', () => {
    expect(parseGroupingKey('j', false, '/a@base64/=').id).not.toBe(parseGroupingKey('j', false, '').id);
  });
  // Found by the fuzz properties: ÿ (\xff, the id's separator) in a value spelled other labels.
  test.each([
    ['a value holding the separator', '/a/x\xffb\xffy', '/a/x/b/y'],
    ['an empty value next to a separator', '/a@base64/w79kw78', '/a@base64/=/d@base64/='],
    ['an escaped separator against a literal backslash', '/a/\\xff', '/a/\xff'],
  ])('%s is a different group', (_name, rest, other) => {
    expect(parseGroupingKey('j', false, rest).id).not.toBe(parseGroupingKey('j', false, other).id);
  });
});

describe('groupingKeyOfPairs', () => {
  test.each([
    ['pairs in canonical order', [['a', '1'], ['instance', 'x'], ['job', 'j']]],
    ['pairs out of order', [['job', 'j'], ['a', '1']]],
    ['a duplicate name (the last wins)', [['a', '1'], ['a', '2'], ['job', 'j']]],
    ['an empty instance (the same as none)', [['instance', ''], ['job', 'j']]],
    ['values with the separator and backslashes', [['a', 'x\xffb'], ['b', 'c\\d'], ['job', 'j']]],
    ['no pairs', []],
  ] as [string, [string, string][]][])('makes the key groupingKeyOf makes from %s', (_name, pairs) => {
    expect(groupingKeyOfPairs(pairs)).toEqual(groupingKeyOf(Object.fromEntries(pairs)));
  });
});
