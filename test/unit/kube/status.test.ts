import { describe, expect, test } from '@jest/globals';
import { deletionEvent, desiredStatus, statusUpToDate } from '../../../src/kube/index.js';
import type { MetricsGroupReport } from '../../../src/lifecycle/index.js';
import { key } from '../../harness/builders.js';
import { T0, metricsGroup } from '../lifecycle/builders.js';

const report = (mods: Partial<MetricsGroupReport> = {}): MetricsGroupReport => ({
  metricsGroup: metricsGroup('scans', (m) => ({ ...m, generation: 3 })),
  groups: 2,
  series: 5,
  lastPushAt: T0 - 60_000,
  overdue: undefined,
  scheduleError: undefined,
  ...mods,
});

describe('MetricsGroup status', () => {
  test('rebuilt from the report: counts, last push, Ready and Overdue conditions', () => {
    const status = desiredStatus(report({ overdue: { overdue: true, since: T0 - 30_000, dueRunAt: T0 - 90_000 } }), undefined, T0);
    expect(status).toEqual({
      observedGeneration: 3,
      groups: 2,
      series: 5,
      lastPushTime: '2024-01-01T11:59:00Z',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Selecting', message: 'Owns 2 metric groups', observedGeneration: 3, lastTransitionTime: '2024-01-01T12:00:00Z' },
        {
          type: 'Overdue',
          status: 'True',
          reason: 'PushMissing',
          message: 'No push for the run scheduled at 2024-01-01T11:58:30Z; overdue since 2024-01-01T11:59:30Z',
          observedGeneration: 3,
          lastTransitionTime: '2024-01-01T12:00:00Z',
        },
      ],
    });
  });

  test('lastTransitionTime is kept while a condition keeps its status, and the same status is up to date', () => {
    const first = desiredStatus(report(), undefined, T0);
    const later = desiredStatus(report(), first, T0 + 3_600_000);
    expect(later).toEqual(first);
    expect(statusUpToDate(first, later)).toBe(true);
    const changed = desiredStatus(report({ groups: 3 }), first, T0 + 3_600_000);
    expect(statusUpToDate(first, changed)).toBe(false);
    expect(changed.conditions[1]?.lastTransitionTime).toBe(first.conditions[1]?.lastTransitionTime);
  });

  test("a run waiting suspended (Kueue) says Queued, not overdue", () => {
    const status = desiredStatus(report({ overdue: { overdue: false, queuedSince: T0 - 600_000, dueRunAt: T0 - 3_600_000 } }), undefined, T0);
    expect(status.conditions[1]).toMatchObject({
      type: 'Overdue',
      status: 'False',
      reason: 'Queued',
      message: "A run waits suspended (e.g. for Kueue's admission) since 2024-01-01T11:50:00Z; overdue counts from its admission",
    });
  });

  test('an invalid spec says why in Ready, and that its groups are kept', () => {
    const status = desiredStatus(report({ groups: 2, metricsGroup: metricsGroup('bad', (m) => ({ ...m, invalid: 'spec.ttl="soon": not a duration' })) }), undefined, T0);
    expect(status.conditions[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.ttl="soon": not a duration. Lethe keeps the 2 metric groups it selects (as with deletionPolicy Orphan, no ttl or keepLast) until it is fixed',
    });
  });

  test('a selector that cannot be read: Ready says the whole namespace is kept', () => {
    const bad = metricsGroup('bad', (m) => ({ ...m, invalid: 'spec.selector=null: expected object', holdsNamespace: true }));
    const status = desiredStatus(report({ metricsGroup: bad }), undefined, T0);
    expect(status.conditions[0]?.message).toMatch(/keeps every metric group of namespace team-a/);
  });
});

describe('deletion Events', () => {
  test('one Event on the owner, naming the reason and the groups', () => {
    const event = deletionEvent(
      { reason: 'job-deleted', subject: { group: 'batch', kind: 'Job', namespace: 'team-a', name: 'backup-2871', uid: 'u' }, groups: [key('backup', '/instance/db1'), key('backup', '/instance/db2')] },
      { podName: 'lethe-0', namespace: 'lethe' },
      new Date(T0),
    );
    expect(event).toMatchObject({
      metadata: { namespace: 'team-a', generateName: 'backup-2871.' },
      involvedObject: { apiVersion: 'batch/v1', kind: 'Job', name: 'backup-2871', namespace: 'team-a', uid: 'u' },
      reason: 'job-deleted',
      type: 'Normal',
      message: 'Deleted 2 metric groups after Job team-a/backup-2871 was deleted: instance="db1",job="backup"; instance="db2",job="backup"',
      reportingInstance: 'lethe-0',
    });
  });

  test('a namespace\'s Event lives in default', () => {
    const event = deletionEvent({ reason: 'namespace-deleted', subject: { group: '', kind: 'Namespace', namespace: 'gone', name: 'gone', uid: '' }, groups: [key('x')] }, { podName: 'p', namespace: 'lethe' }, new Date(T0));
    expect(event.metadata.namespace).toBe('default');
    expect(event.involvedObject).toEqual({ apiVersion: 'v1', kind: 'Namespace', name: 'gone' });
  });
});
