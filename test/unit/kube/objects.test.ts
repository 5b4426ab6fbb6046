import { describe, expect, test } from '@jest/globals';
import { parseJob, parsePod } from '../../../src/kube/index.js';

/** Pods and Jobs as the caches keep them: what the owner chain, bare pods and Kueue's queued runs need. */
describe('parsePod', () => {
  test('keeps its owner references, its IPs, and what its lethe.dev annotations say', () => {
    const pod = parsePod({
      metadata: {
        name: 'load-x1',
        namespace: 'team-a',
        uid: 'pod-uid',
        annotations: { 'lethe.dev/schedule-key': 'etl.load', 'lethe.dev/ttl': '1h', 'airflow/x': 'y' },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'j-uid', controller: true }],
      },
      spec: {},
      status: { phase: 'Running', podIP: '10.0.0.1' },
    });
    expect(pod).toEqual({
      uid: 'pod-uid',
      group: '',
      kind: 'Pod',
      namespace: 'team-a',
      name: 'load-x1',
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'j-uid', controller: true }],
      ips: ['10.0.0.1'],
      hostNetwork: false,
      finished: false,
      policy: { ttlMs: 3_600_000 },
      scheduleKey: 'etl.load',
    });
  });

  test('a pod cannot claim a grouping key: said, and its policy is invalid', () => {
    const pod = parsePod({ metadata: { name: 'p', namespace: 'team-a', uid: 'u', annotations: { 'lethe.dev/grouping-key': 'job=x' } } });
    expect(pod?.invalid).toMatch(/^lethe\.dev\/grouping-key="job=x": expected no claim here/);
  });
});

describe('parseJob', () => {
  test.each([
    ['a Job that runs', { suspend: false }, { startTime: '2026-12-01T03:00:05Z' }, false, Date.parse('2026-12-01T03:00:05Z')],
    ['a Job waiting suspended (Kueue), not started', { suspend: true }, {}, true, undefined],
    ['a Job without spec.suspend', {}, undefined, false, undefined],
  ])('%s', (_name, spec, status, suspended, startedAt) => {
    const job = parseJob({
      metadata: { name: 'j', namespace: 'team-a', uid: 'j-uid', creationTimestamp: '2026-12-01T03:00:00Z', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'c', uid: 'c-uid', controller: true }] },
      spec,
      ...(status === undefined ? {} : { status }),
    });
    expect(job).toMatchObject({ group: 'batch', kind: 'Job', suspended, ownerReferences: [{ kind: 'CronJob', uid: 'c-uid', controller: true }] });
    expect(job?.startedAt).toBe(startedAt);
  });

  test('a startTime as client-node lists it (a Date) is read too', () => {
    expect(parseJob({ metadata: { name: 'j', namespace: 'n', uid: 'u' }, status: { startTime: new Date(5_000) } })?.startedAt).toBe(5_000);
  });
});
