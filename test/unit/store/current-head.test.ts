import { describe, expect, test } from '@jest/globals';
import { isCurrentHead } from '../../../src/store/current-head.js';
import { groupHeadSchema } from '../../../src/store/persistence.js';

// The hand check of a group record's head (src/store/current-head.ts) accepts only heads the
// schema accepts and returns unchanged; the others go to the schema.

const ref = { group: 'batch', kind: 'Job', name: 'j', uid: 'u1' };
const base = { t: 'g', k: [['job', 'a'], ['instance', 'i']], n: 10, push: 1_700_000_000_000, fail: 0, attr: { source: 'none' } };
const fullAttr = { source: 'token', namespace: 'ns', pod: 'p', podUid: 'pu', user: 'system:serviceaccount:ns:sa', namespaceUid: 'nu', run: ref, schedule: { ...ref, kind: 'CronJob' }, scheduleKey: 'sk', chainIncomplete: true };
const policy = { source: 'annotations', overrides: { ttlMs: 1, keepLast: 2, maxGraceMs: 3, deletionPolicy: 'Orphan', keepUntilSuperseded: true, overdueAfterMs: 4 }, invalid: 'bad ttl' };
const owner = { group: 'batch', kind: 'Job', namespace: 'ns', name: 'j', uid: 'u1', schedule: ref, scheduleKey: 'sk', resolvedFor: 5, policy };

const current: [string, unknown][] = [
  ['the smallest head', base],
  ['every attribution field', { ...base, attr: fullAttr }],
  ['an owner with every field', { ...base, attr: fullAttr, owner }],
  ['an owner with a policy without overrides', { ...base, owner: { ...owner, policy: { source: 'metricsgroup', overrides: {} } } }],
  ['an empty key', { ...base, k: [] }],
];

const other: [string, unknown][] = [
  ['an attribution written before runs of any kind (job, cronJob)', { ...base, attr: { source: 'pod-ip', job: { name: 'j', uid: 'u' } } }],
  ['an owner written before owners of any kind (no group)', { ...base, owner: { kind: 'Job', namespace: 'ns', name: 'j', uid: 'u' } }],
  ['an owner with a CronJob in the old form', { ...base, owner: { ...owner, cronJob: { name: 'c', uid: 'u' } } }],
  ['an unknown field', { ...base, extra: 1 }],
  ['an unknown attribution field', { ...base, attr: { source: 'none', extra: 'x' } }],
  ['an unknown source', { ...base, attr: { source: 'guess' } }],
  ['no series count', { ...base, n: undefined }],
  ['a series count that is a string', { ...base, n: '10' }],
  ['a key pair of three', { ...base, k: [['a', 'b', 'c']] }],
  ['a key value that is a number', { ...base, k: [['a', 1]] }],
  ['a delete', { t: 'd', k: [] }],
  ['a policy with an unknown deletion policy', { ...base, owner: { ...owner, policy: { ...policy, overrides: { deletionPolicy: 'Keep' } } } }],
  ['not an object', [base]],
  ['null', null],
];

describe('isCurrentHead', () => {
  test.each(current)('accepts %s, which the schema returns unchanged', (_name, head) => {
    expect(isCurrentHead(head)).toBe(true);
    const parsed = groupHeadSchema.safeParse(head);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(head);
  });

  test.each(other)('leaves %s to the schema', (_name, head) => {
    expect(isCurrentHead(JSON.parse(JSON.stringify(head)) as unknown)).toBe(false);
  });
});
