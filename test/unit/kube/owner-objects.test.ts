import { describe, expect, test } from '@jest/globals';
import { SCHEDULE_READERS, ownerReferencesOf, parseOwnerObject } from '../../../src/kube/index.js';

const workflow = { group: 'argoproj.io', kind: 'Workflow', name: 'workflows.argoproj.io' };
const cronWorkflow = { group: 'argoproj.io', kind: 'CronWorkflow', name: 'cronworkflows.argoproj.io' };
const scheduledSpark = { group: 'sparkoperator.k8s.io', kind: 'ScheduledSparkApplication', name: 'scheduledsparkapplications.sparkoperator.k8s.io' };

/** A PartialObjectMetadata as the metadata-only watch sends it. */
const partial = (metadata: Record<string, unknown>) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata });

describe('parseOwnerObject', () => {
  test('keeps identity, the owner references, creation, deletion and what the lethe.dev annotations say', () => {
    const raw = partial({
      name: 'nightly-1733',
      namespace: 'team-a',
      uid: 'wf-uid',
      creationTimestamp: '2026-12-01T03:00:00Z',
      deletionTimestamp: '2026-12-01T04:00:00Z',
      annotations: { 'lethe.dev/keep-last': '2', 'workflows.argoproj.io/scheduled-time': '2026-12-01T03:00:00Z' },
      labels: { 'workflows.argoproj.io/cron-workflow': 'nightly' },
      ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', name: 'nightly', uid: 'cwf-uid', controller: true, blockOwnerDeletion: true }],
    });
    expect(parseOwnerObject(raw, workflow)).toEqual({
      uid: 'wf-uid',
      group: 'argoproj.io',
      kind: 'Workflow',
      namespace: 'team-a',
      name: 'nightly-1733',
      ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', name: 'nightly', uid: 'cwf-uid', controller: true }],
      createdAt: Date.parse('2026-12-01T03:00:00Z'),
      deleting: true,
      policy: { keepLast: 2 },
    });
  });

  test('a reference without controller: true is not the controller; a cluster-scoped object has namespace ""', () => {
    const raw = partial({ name: 'x', uid: 'u', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'pu' }] });
    expect(parseOwnerObject(raw, workflow)).toMatchObject({ namespace: '', deleting: false, createdAt: 0, ownerReferences: [{ controller: false }] });
  });

  test.each([
    ['not an object', 'nonsense'],
    ['no metadata', { kind: 'Workflow' }],
    ['no uid', partial({ name: 'x' })],
    ['an owner reference without apiVersion', partial({ name: 'x', uid: 'u', ownerReferences: [{ kind: 'Job', name: 'j', uid: 'ju' }] })],
  ])('drops an object with unusable metadata: %s', (_name, raw) => {
    expect(parseOwnerObject(raw, workflow)).toBeUndefined();
  });
});

describe('schedule readers', () => {
  const cwf = (spec: Record<string, unknown>) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'CronWorkflow', metadata: { name: 'nightly', namespace: 'team-a', uid: 'cwf-uid' }, spec: { workflowSpec: { entrypoint: 'main' }, ...spec } });
  const reader = (name: string) => {
    const r = SCHEDULE_READERS[name];
    if (r === undefined) throw new Error(`no reader for ${name}`);
    return r;
  };

  test.each([
    ['spec.schedules (Argo 3.6)', cwf({ schedules: ['0 3 * * *', '0 15 * * *'], timezone: 'Europe/Berlin' }), { schedules: ['0 3 * * *', '0 15 * * *'], timeZone: 'Europe/Berlin', suspend: false }],
    ['the older spec.schedule', cwf({ schedule: '*/5 * * * *', suspend: true }), { schedules: ['*/5 * * * *'], suspend: true }],
    ['spec.schedule wins over spec.schedules, as in Argo', cwf({ schedule: '0 1 * * *', schedules: ['0 2 * * *'] }), { schedules: ['0 1 * * *'], suspend: false }],
    ['an empty timezone is UTC', cwf({ schedules: ['0 3 * * *'], timezone: '' }), { schedules: ['0 3 * * *'], suspend: false }],
  ])('CronWorkflow: %s', (_name, raw, want) => {
    expect(reader('cronworkflows.argoproj.io')(raw)).toEqual(want);
    expect(parseOwnerObject(raw, cronWorkflow, reader('cronworkflows.argoproj.io'))).toMatchObject({ kind: 'CronWorkflow', schedule: want });
  });

  test.each([
    ['no schedule at all', cwf({}), 'neither spec.schedules nor spec.schedule is set'],
    ['a schedule of the wrong type', cwf({ schedules: '0 3 * * *' }), 'spec.schedule, spec.schedules, spec.timezone or spec.suspend has an unexpected type'],
  ])('CronWorkflow: %s is a schedule error, the object is still kept', (_name, raw, error) => {
    expect(reader('cronworkflows.argoproj.io')(raw)).toBe(error);
    const parsed = parseOwnerObject(raw, cronWorkflow, reader('cronworkflows.argoproj.io'));
    expect(parsed).toMatchObject({ uid: 'cwf-uid', scheduleError: error });
    expect(parsed?.schedule).toBeUndefined();
  });

  test('ScheduledSparkApplication: spec.schedule, spec.timeZone, spec.suspend', () => {
    const raw = { metadata: { name: 'report', namespace: 'team-a', uid: 'ssa' }, spec: { schedule: '@every 1h', timeZone: 'Asia/Tokyo', suspend: false, template: {} } };
    expect(parseOwnerObject(raw, scheduledSpark, reader('scheduledsparkapplications.sparkoperator.k8s.io'))).toMatchObject({
      schedule: { schedules: ['@every 1h'], timeZone: 'Asia/Tokyo', suspend: false },
    });
    expect(reader('scheduledsparkapplications.sparkoperator.k8s.io')({ spec: {} })).toBe('spec.schedule is not set');
  });
});

describe('ownerReferencesOf', () => {
  test('every owner reference of a pod, controller or not', () => {
    const pod = {
      metadata: {
        name: 'report-17-exec-1',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Pod', name: 'report-17-driver', uid: 'd', controller: true },
          { apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', name: 'report-17', uid: 's' },
        ],
      },
    };
    expect(ownerReferencesOf(pod)).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'report-17-driver', uid: 'd', controller: true },
      { apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', name: 'report-17', uid: 's', controller: false },
    ]);
  });

  test.each([['none', { metadata: {} }], ['not an object', null], ['malformed', { metadata: { ownerReferences: [{ kind: 'Job' }] } }]])('[] when %s', (_name, raw) => {
    expect(ownerReferencesOf(raw)).toEqual([]);
  });
});
