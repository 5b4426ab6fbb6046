import { afterEach, describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { LeaderElector, leaseTimingsOf, type LeaseAttempt, type LeaseBackend, type LeaseTimings } from '../../../src/leadership/index.js';
import { createLeaderMetrics } from '../../../src/observability/index.js';
import { FakeClock } from '../../harness/builders.js';
import { eventually } from '../../harness/eventually.js';
import { capturingLogger } from '../../harness/logger.js';

/** A lease backend the test answers by hand (a fake of our own port). */
class FakeBackend implements LeaseBackend {
  readonly lease = 'fake/lease';
  readonly holder = 'replica-1';
  answer: () => Promise<LeaseAttempt> = () => Promise.resolve({ state: 'held' });
  attempts = 0;
  released = 0;
  releaseFails = false;
  tryAcquireOrRenew(): Promise<LeaseAttempt> {
    this.attempts++;
    return this.answer();
  }
  release(): Promise<void> {
    this.released++;
    return this.releaseFails ? Promise.reject(new Error('gone')) : Promise.resolve();
  }
}

const timings: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 5 };
const electors: LeaderElector[] = [];

function setup(t: LeaseTimings = timings) {
  const backend = new FakeBackend();
  const clock = new FakeClock();
  const registry = new Registry();
  const logs = capturingLogger('info');
  const elector = new LeaderElector({ backend, timings: t, clock, logger: logs.logger, metrics: createLeaderMetrics(registry) });
  electors.push(elector);
  const leaderGauge = async (): Promise<number | undefined> => (await registry.getSingleMetric('lethe_leader')?.get())?.values[0]?.value;
  return { backend, clock, elector, logs, leaderGauge };
}

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

describe('the leadership loop (one for both lease backends)', () => {
  test('a held lease makes this replica leader: one log line, lethe_leader 1, listeners told', async () => {
    const { elector, logs, leaderGauge } = setup();
    let told = 0;
    elector.onChange(() => told++);
    expect(await leaderGauge()).toBe(0);
    elector.start();
    await eventually(() => elector.isLeader());
    expect(await leaderGauge()).toBe(1);
    expect(told).toBe(1);
    await eventually(() => expect(logs.withMessage('Became leader')).toEqual([expect.objectContaining({ component: 'leadership', lease: 'fake/lease', identity: 'replica-1' })]));
  });

  test('another holder ends leadership at once', async () => {
    const { backend, elector, logs, leaderGauge } = setup();
    elector.start();
    await eventually(() => elector.isLeader());
    backend.answer = () => Promise.resolve({ state: 'other' });
    await eventually(() => !elector.isLeader());
    expect(await leaderGauge()).toBe(0);
    await eventually(() => expect(logs.withMessage('Stopped leading')).toHaveLength(1));
  });

  test('failed renewals keep leadership until the renew deadline, then end it; each failure is a warning', async () => {
    const { backend, clock, elector, logs } = setup();
    elector.start();
    await eventually(() => elector.isLeader());
    backend.answer = () => Promise.reject(new Error('connection refused'));
    const before = backend.attempts;
    await eventually(() => backend.attempts > before + 2);
    expect(elector.isLeader()).toBe(true);
    expect(logs.withMessage('Stopped leading')).toEqual([]);
    clock.advance(timings.renewDeadlineMs);
    expect(elector.isLeader()).toBe(false);
    await eventually(() => expect(logs.withMessage('Stopped leading')).toHaveLength(1));
    expect(logs.withMessage('Failed to acquire or renew the leader lease')[0]).toEqual(
      expect.objectContaining({ level: 'warn', lease: 'fake/lease', err: expect.objectContaining({ message: 'connection refused' }) }),
    );
  });

  test('a renewal after leadership lapsed (a slow answer, a clock that jumped) ends and resumes it: both logged, listeners told', async () => {
    const { clock, elector, logs, leaderGauge } = setup();
    let told = 0;
    elector.onChange(() => told++);
    elector.start();
    await eventually(() => elector.isLeader());
    expect(told).toBe(1);
    // Past the renew deadline between two attempts: not leader now, although nothing failed.
    clock.advance(timings.renewDeadlineMs + 1);
    expect(elector.isLeader()).toBe(false);
    // The next renewal holds the lease again: a pass blocked meanwhile must hear of it.
    await eventually(() => told === 3);
    expect(elector.isLeader()).toBe(true);
    expect(await leaderGauge()).toBe(1);
    expect(logs.withMessage('Stopped leading')).toHaveLength(1);
    expect(logs.withMessage('Became leader')).toHaveLength(2);
  });

  test('an attempt without an answer (a write conflict, a refusal reported by the backend) changes nothing before the deadline', async () => {
    const { backend, clock, elector } = setup();
    elector.start();
    await eventually(() => elector.isLeader());
    backend.answer = () => Promise.resolve({ state: 'unknown' });
    const before = backend.attempts;
    await eventually(() => backend.attempts > before + 2);
    expect(elector.isLeader()).toBe(true);
    clock.advance(timings.renewDeadlineMs);
    expect(elector.isLeader()).toBe(false);
  });

  test('a lease another holds is tried for again when it frees, not a whole retry period later', async () => {
    const { backend, elector } = setup({ ...timings, retryPeriodMs: 3_600_000 });
    backend.answer = () => Promise.resolve({ state: 'other', retryInMs: 1 });
    elector.start();
    await eventually(() => backend.attempts >= 3);
  });

  test('stop releases a held lease; a failed release is a warning and leadership still ends', async () => {
    const { backend, elector, logs } = setup();
    elector.start();
    await eventually(() => elector.isLeader());
    backend.releaseFails = true;
    await elector.stop();
    expect(backend.released).toBe(1);
    expect(elector.isLeader()).toBe(false);
    await eventually(() => expect(logs.withMessage('Failed to release the leader lease')).toHaveLength(1));
    await eventually(() => expect(logs.withMessage('Stopped leading')).toHaveLength(1));
  });

  test('stop without the lease releases nothing', async () => {
    const { backend, elector } = setup();
    backend.answer = () => Promise.resolve({ state: 'other' });
    elector.start();
    await eventually(() => backend.attempts > 0);
    await elector.stop();
    expect(backend.released).toBe(0);
  });

  test.each([
    ['15 s (the default)', 15_000, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }],
    ['3 s', 3_000, { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 }],
    ['a second: never more often than every 50 ms', 300, { leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 50 }],
  ])('timings from a lease duration of %s', (_name, duration, expected) => {
    expect(leaseTimingsOf(duration)).toEqual(expected);
  });
});
