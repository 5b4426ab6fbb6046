import { describe, expect, test } from '@jest/globals';
import { parseMetricsGroup } from '../../../src/kube/index.js';

describe('MetricsGroup spec', () => {
  const mg = (spec: unknown) => ({
    metadata: { name: 'scans', namespace: 'team-a', uid: 'u1', generation: 2, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec,
    status: { groups: 1 },
  });

  test('a full spec becomes a selector, a policy, an owner reference and a schedule', () => {
    const parsed = parseMetricsGroup(
      mg({
        selector: { matchLabels: { job: 'scan' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
        ownerRef: { kind: 'CronJob', name: 'scan' },
        ttl: '7d',
        keepLast: 3,
        maxGrace: '1m',
        deletionPolicy: 'Orphan',
        overdue: { after: '15m', schedule: '0 * * * *', timeZone: 'Europe/Berlin' },
      }),
    );
    expect(parsed).toEqual({
      uid: 'u1',
      namespace: 'team-a',
      name: 'scans',
      generation: 2,
      createdAt: Date.parse('2024-01-01T00:00:00Z'),
      status: { groups: 1 },
      selector: { matchLabels: { job: 'scan' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] },
      policy: { ttlMs: 7 * 86_400_000, keepLast: 3, maxGraceMs: 60_000, deletionPolicy: 'Orphan', overdueAfterMs: 900_000 },
      ownerRef: { group: 'batch', kind: 'CronJob', name: 'scan' },
      schedule: { schedule: '0 * * * *', timeZone: 'Europe/Berlin' },
    });
  });

  test.each([
    ['a Job by name (batch/v1 needs no apiVersion)', { kind: 'Job', name: 'migrate' }, { group: 'batch', kind: 'Job', name: 'migrate' }],
    ['a bare pod by name', { kind: 'Pod', name: 'load-x1' }, { group: '', kind: 'Pod', name: 'load-x1' }],
    [
      'a CronWorkflow by apiVersion, kind and UID',
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', name: 'nightly', uid: 'cwf-uid' },
      { group: 'argoproj.io', kind: 'CronWorkflow', name: 'nightly', uid: 'cwf-uid' },
    ],
  ])('spec.ownerRef takes any kind: %s', (_name, ownerRef, expected) => {
    const parsed = parseMetricsGroup(mg({ selector: { matchLabels: { job: 'x' } }, ownerRef }));
    expect(parsed?.ownerRef).toEqual(expected);
    expect(parsed?.invalid).toBeUndefined();
  });

  test.each([
    ['a Workflow without apiVersion', { kind: 'Workflow', name: 'etl' }, /^spec\.ownerRef=.*apiVersion is needed for kind Workflow/],
    ['a Namespace', { kind: 'Namespace', name: 'team-a' }, /^spec\.ownerRef=.*names the object whose life bounds the groups/],
  ])('spec.ownerRef that cannot be read is reported: %s', (_name, ownerRef, problem) => {
    const parsed = parseMetricsGroup(mg({ selector: { matchLabels: { job: 'x' } }, ownerRef }));
    expect(parsed?.ownerRef).toBeUndefined();
    expect(parsed?.invalid).toMatch(problem);
  });

  test.each([
    ['a bad duration', { selector: { matchLabels: { job: 'x' } }, ttl: 'soon' }, /^spec\.ttl="soon": not a duration/],
    ['a bad deletion policy', { selector: { matchLabels: { job: 'x' } }, deletionPolicy: 'orphan' }, /^spec\.deletionPolicy="orphan": /],
    ['In without values', { selector: { matchExpressions: [{ key: 'env', operator: 'In' }] } }, /need values/],
    ['no selector', {}, /selector/],
  ])('%s makes it invalid, with the reason', (_name, spec, reason) => {
    expect(parseMetricsGroup(mg(spec))?.invalid).toMatch(reason);
  });

  test('an invalid field spoils no other: the selector still selects, the readable policy stays', () => {
    const parsed = parseMetricsGroup(mg({ selector: { matchLabels: { job: 'x' } }, ttl: '7 days', maxGrace: '1m', deletionPolicy: 'Orphan' }));
    expect(parsed).toMatchObject({
      selector: { matchLabels: { job: 'x' }, matchExpressions: [] },
      policy: { maxGraceMs: 60_000, deletionPolicy: 'Orphan' },
      invalid: expect.stringMatching(/^spec\.ttl="7 days": not a duration/) as unknown,
    });
    expect(parsed?.holdsNamespace).toBeUndefined();
  });

  test.each([
    ['no selector', {}],
    ['an empty selector (it would select every group)', { selector: {} }],
    ['a selector that is not an object', { selector: 'job=x' }],
  ])('%s: it holds its whole namespace', (_name, spec) => {
    const parsed = parseMetricsGroup(mg(spec));
    expect(parsed?.holdsNamespace).toBe(true);
    expect(parsed?.invalid).toMatch(/^spec\.selector/);
  });

  test('a valid spec is neither invalid nor holding', () => {
    const parsed = parseMetricsGroup(mg({ selector: { matchLabels: { job: 'x' } } }));
    expect(parsed?.invalid).toBeUndefined();
    expect(parsed?.holdsNamespace).toBeUndefined();
  });

  test('unusable metadata drops the object', () => {
    expect(parseMetricsGroup({ metadata: { name: 'x' } })).toBeUndefined();
  });
});
