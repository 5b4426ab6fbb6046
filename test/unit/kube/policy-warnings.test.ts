import { describe, expect, test } from '@jest/globals';
import { INVALID_POLICY_REASON, invalidPolicyEvent } from '../../../src/kube/index.js';

describe('the InvalidPolicy Event', () => {
  const job = { group: 'batch', kind: 'Job', namespace: 'team-a', name: 'migrate', uid: 'job-uid' };
  const problem = 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan';
  const identity = { podName: 'lethe-0', namespace: 'lethe' };

  test('is a Warning on the object that names the annotation, its value and what Lethe does', () => {
    const event = invalidPolicyEvent(job, problem, identity, new Date(0));
    expect(event).toMatchObject({
      metadata: { namespace: 'team-a' },
      involvedObject: { apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', namespace: 'team-a', uid: 'job-uid' },
      reason: INVALID_POLICY_REASON,
      type: 'Warning',
      source: { component: 'lethe' },
    });
    expect(event.message).toBe(
      'Invalid policy: lethe.dev/deletion-policy="orphan": expected Delete or Orphan. Lethe keeps the metric groups this Job governs (as with deletion policy Orphan, no ttl or keepLast) until it is fixed',
    );
  });

  test('has one name per object and problem, so replicas and restarts record it once', () => {
    const name = (subject: typeof job, text: string, at: number): string | undefined => invalidPolicyEvent(subject, text, identity, new Date(at)).metadata.name;
    expect(name(job, problem, 0)).toBe(name(job, problem, 60_000));
    expect(name(job, problem, 0)).toMatch(/^migrate\.[0-9a-f]{16}$/);
    expect(name(job, 'lethe.dev/ttl="x": expected a duration', 0)).not.toBe(name(job, problem, 0));
    expect(name({ ...job, uid: 'another-uid' }, problem, 0)).not.toBe(name(job, problem, 0));
  });

  test('on a MetricsGroup it names its API version', () => {
    const event = invalidPolicyEvent({ group: 'lethe.dev', kind: 'MetricsGroup', namespace: 'team-a', name: 'scans', uid: 'mg-uid' }, 'spec.ttl="7 days": not a duration', identity, new Date(0));
    expect(event.involvedObject.apiVersion).toBe('lethe.dev/v1alpha1');
    expect(event.message).toContain('this MetricsGroup selects');
  });
});
