import { describe, expect, test } from '@jest/globals';
import { parseAnnotations } from '../../../src/kube/index.js';

describe('lethe.dev annotations', () => {
  test.each([
    ['no annotations: nothing set', undefined, {}, [], 0],
    ['ttl and keep-last', { 'lethe.dev/ttl': '24h', 'lethe.dev/keep-last': '3' }, { ttlMs: 86_400_000, keepLast: 3 }, [], 0],
    ['ttl 0 turns a flag ttl off', { 'lethe.dev/ttl': '0' }, { ttlMs: 0 }, [], 0],
    ['deletion policy and superseding', { 'lethe.dev/deletion-policy': 'Orphan', 'lethe.dev/keep-until-superseded': 'false' }, { deletionPolicy: 'Orphan', keepUntilSuperseded: false }, [], 0],
    ['max grace and overdue', { 'lethe.dev/max-grace': '30s', 'lethe.dev/overdue-after': '15m' }, { maxGraceMs: 30_000, overdueAfterMs: 900_000 }, [], 0],
    ['a claim', { 'lethe.dev/grouping-key': 'job=backup, env=prod' }, {}, [{ matchLabels: { job: 'backup', env: 'prod' }, matchExpressions: [] }], 0],
    ['bad values are reported (the policy is then invalid)', { 'lethe.dev/ttl': 'soon', 'lethe.dev/keep-last': '-1', 'lethe.dev/deletion-policy': 'delete', 'lethe.dev/grouping-key': '=x' }, {}, [], 4],
    ['a misspelt lethe.dev name is reported', { 'lethe.dev/deletion-polcy': 'Orphan' }, {}, [], 1],
    ['unrelated annotations are ignored silently', { 'example.com/ttl': 'x' }, {}, [], 0],
    ['a schedule key is no policy knob', { 'lethe.dev/schedule-key': 'etl.load' }, {}, [], 0],
    ['an empty schedule key is reported', { 'lethe.dev/schedule-key': ' ' }, {}, [], 1],
  ] as const)('%s', (_name, annotations, policy, claims, problems) => {
    const parsed = parseAnnotations(annotations);
    expect(parsed.policy).toEqual(policy);
    expect(parsed.claims).toEqual(claims);
    expect(parsed.problems).toHaveLength(problems);
  });
});

test('a problem names the annotation and its value', () => {
  expect(parseAnnotations({ 'lethe.dev/deletion-policy': 'orphan', 'lethe.dev/ttl': '12h' })).toEqual({
    policy: { ttlMs: 12 * 3_600_000 },
    claims: [],
    problems: ['lethe.dev/deletion-policy="orphan": expected Delete or Orphan'],
  });
  expect(parseAnnotations({ 'lethe.dev/deletion-polcy': 'Orphan' }).problems[0]).toMatch(/^lethe\.dev\/deletion-polcy="Orphan": expected a known annotation name \(.*lethe\.dev\/deletion-policy/);
});

test('a schedule key is read; a claim on an object that cannot claim is reported', () => {
  expect(parseAnnotations({ 'lethe.dev/schedule-key': ' etl.load ' }).scheduleKey).toBe('etl.load');
  expect(parseAnnotations({ 'lethe.dev/grouping-key': 'job=x' }, { claims: false })).toEqual({
    policy: {},
    claims: [],
    problems: ['lethe.dev/grouping-key="job=x": expected no claim here: only Jobs and CronJobs claim grouping keys'],
  });
});
