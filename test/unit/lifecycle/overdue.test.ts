import { describe, expect, test } from '@jest/globals';
import { decide, overdueOf, parseSchedule } from '../../../src/lifecycle/index.js';
import { defaultPolicy } from '../../../src/model/index.js';
import { MIN, T0, cronJob, fromJob, group, job, metricsGroup, ownedBy, ownerRef, pushedAt, refTo, runOf, snapshot } from './builders.js';

const at = (iso: string): number => Date.parse(iso);

function state(schedule: string, lastPush: string, now: string, overdueAfterMs = 0, extra: { timeZone?: string; since?: string; suspended?: boolean } = {}) {
  const parsed = parseSchedule({ schedules: [schedule], ...(extra.timeZone === undefined ? {} : { timeZone: extra.timeZone }) });
  if (!parsed.ok) throw new Error(parsed.error);
  return overdueOf({
    times: parsed.times,
    lastPushAt: at(lastPush),
    now: at(now),
    overdueAfterMs,
    since: at(extra.since ?? '2000-01-01T00:00:00Z'),
    suspended: extra.suspended ?? false,
  });
}

describe('overdueOf', () => {
  test.each([
    // [name, schedule, last push, now, overdueAfter, options, overdue, since, nextCheck]
    ['hourly, pushed after the last run: not overdue', '0 * * * *', '2024-01-01T11:05:00Z', '2024-01-01T11:30:00Z', 0, {}, false, undefined, '2024-01-01T12:00:00Z'],
    ['hourly, the 10:00 run never pushed by 11:00: overdue since 11:00', '0 * * * *', '2024-01-01T09:05:00Z', '2024-01-01T11:30:00Z', 0, {}, true, '2024-01-01T11:00:00Z', '2024-01-01T12:00:00Z'],
    ['hourly, the 11:00 run still has until 12:00', '0 * * * *', '2024-01-01T10:05:00Z', '2024-01-01T11:30:00Z', 0, {}, false, undefined, '2024-01-01T12:00:00Z'],
    ['overdueAfter 10m: the 11:00 run is late at 11:15', '0 * * * *', '2024-01-01T10:05:00Z', '2024-01-01T11:15:00Z', 10 * MIN, {}, true, '2024-01-01T11:10:00Z', '2024-01-01T12:10:00Z'],
    ['overdueAfter 10m: at 11:05 the 11:00 run is not late yet', '0 * * * *', '2024-01-01T10:05:00Z', '2024-01-01T11:05:00Z', 10 * MIN, {}, false, undefined, '2024-01-01T11:10:00Z'],
    ['a suspended CronJob is never overdue', '0 * * * *', '2024-01-01T01:00:00Z', '2024-01-01T11:30:00Z', 0, { suspended: true }, false, undefined, undefined],
    ['runs before the CronJob existed are not expected', '0 * * * *', '2023-12-01T00:00:00Z', '2024-01-01T11:30:00Z', 0, { since: '2024-01-01T10:30:00Z' }, false, undefined, '2024-01-01T12:00:00Z'],
    ['time zone: 02:30 in New York is 07:30 UTC', '30 2 * * *', '2024-01-01T07:31:00Z', '2024-01-02T07:40:00Z', 30 * MIN, { timeZone: 'America/New_York' }, false, undefined, '2024-01-02T08:00:00Z'],
    ['time zone: the New York run of Jan 2 is late at 08:05 UTC', '30 2 * * *', '2024-01-01T07:31:00Z', '2024-01-02T08:05:00Z', 30 * MIN, { timeZone: 'America/New_York' }, true, '2024-01-02T08:00:00Z', '2024-01-03T08:00:00Z'],
    ['@daily is understood', '@daily', '2024-01-01T00:10:00Z', '2024-01-03T01:00:00Z', 0, {}, true, '2024-01-03T00:00:00Z', '2024-01-04T00:00:00Z'],
  ] as const)('%s', (_name, schedule, lastPush, now, after, extra, overdue, since, nextCheck) => {
    const s = state(schedule, lastPush, now, after, extra);
    expect(s.overdue).toBe(overdue);
    expect(s.since === undefined ? undefined : new Date(s.since).toISOString()).toBe(since === undefined ? undefined : new Date(since).toISOString());
    expect(s.nextCheckAt === undefined ? undefined : new Date(s.nextCheckAt).toISOString()).toBe(
      nextCheck === undefined ? undefined : new Date(nextCheck).toISOString(),
    );
  });

  test.each([
    ['six fields are not a Kubernetes schedule', '*/5 * * * * *', undefined],
    ['an out-of-range minute', '61 * * * *', undefined],
    ['an unknown time zone', '0 * * * *', 'Nowhere/Town'],
  ])('%s is reported, not thrown', (_name, schedule, timeZone) => {
    const parsed = parseSchedule({ schedules: [schedule], ...(timeZone === undefined ? {} : { timeZone }) });
    expect(parsed.ok).toBe(false);
  });
});

describe('decide: overdue', () => {
  test('a CronJob run group is overdue when no run of the CronJob pushed by the deadline, and every group of the CronJob says so', () => {
    const groups = [
      group('report', '/run/1', fromJob('r-1', 'report'), ownedBy(ownerRef('Job', 'r-1', { schedule: refTo('CronJob', 'report'), resolvedFor: T0 - 150 * MIN })), pushedAt(T0 - 150 * MIN)),
      group('report', '/run/2', fromJob('r-2', 'report'), ownedBy(ownerRef('Job', 'r-2', { schedule: refTo('CronJob', 'report'), resolvedFor: T0 - 119 * MIN })), pushedAt(T0 - 119 * MIN)),
    ];
    // Hourly; T0 is 12:00, the newest push 10:01: the 11:00 run had until 12:00.
    const plan = decide({
      groups,
      snapshot: snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-1', runOf('report')), job('r-2', runOf('report'))] }),
      defaults: defaultPolicy,
      now: T0,
    });
    expect(plan.overdue.map((o) => [o.owner.name, o.state.overdue, o.lastPushAt])).toEqual([
      ['r-1', true, T0 - 119 * MIN],
      ['r-2', true, T0 - 119 * MIN],
    ]);
    expect(plan.nextAt).toBe(T0 + 60 * MIN);
  });

  test('CronJobs sharing a schedule each get their own answer: overdueAfter per Job, runs before each CronJob existed', () => {
    const run = (cj: string, pushed: number, ...mods: Parameters<typeof job>[1][]) => ({
      group: group(cj, '', fromJob(`${cj}-1`, cj), ownedBy(ownerRef('Job', `${cj}-1`, { schedule: refTo('CronJob', cj), resolvedFor: pushed })), pushedAt(pushed)),
      job: job(`${cj}-1`, runOf(cj), ...mods),
    });
    // Hourly for all four; now 12:15. a: its Job says overdueAfter 10m, so the 12:00 run is late at 12:10.
    // b: by the next run, so the 11:00 run (pushed 11:02) is fine. c: created 11:30, so no run is expected
    // yet. d: nothing since 07:00, overdue since 12:00.
    const runs = [
      run('a', T0 - 58 * MIN, (j) => ({ ...j, policy: { overdueAfterMs: 10 * MIN } })),
      run('b', T0 - 58 * MIN),
      run('c', T0 - 300 * MIN),
      run('d', T0 - 300 * MIN),
    ];
    const plan = decide({
      groups: runs.map((r) => r.group),
      snapshot: snapshot({
        cronJobs: ['a', 'b', 'd'].map((n) => cronJob(n)).concat(cronJob('c', (c) => ({ ...c, createdAt: T0 - 30 * MIN }))),
        jobs: runs.map((r) => r.job),
      }),
      defaults: defaultPolicy,
      now: T0 + 15 * MIN,
    });
    expect(plan.overdue.map((o) => [o.owner.schedule?.name, o.state.overdue, o.state.since === undefined ? undefined : (o.state.since - T0) / MIN])).toEqual([
      ['a', true, 10],
      ['b', false, undefined],
      ['c', false, undefined],
      ['d', true, 0],
    ]);
  });

  test('a MetricsGroup with its own schedule reports overdue even before any push', () => {
    const plan = decide({
      groups: [],
      snapshot: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, createdAt: T0 - 180 * MIN, schedule: { schedule: '0 * * * *' } }))] }),
      defaults: defaultPolicy,
      now: T0,
    });
    expect(plan.metricsGroups[0]?.overdue?.overdue).toBe(true);
    expect(plan.metricsGroups[0]?.groups).toBe(0);
  });

  test('a MetricsGroup report counts groups and series and names the newest push', () => {
    const owner = ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN });
    const plan = decide({
      groups: [group('a', '', ownedBy(owner)), group('b', '', ownedBy(owner), pushedAt(T0 - 5 * MIN), (g) => ({ ...g, series: 3 }))],
      snapshot: snapshot({ metricsGroups: [metricsGroup('mg')] }),
      defaults: defaultPolicy,
      now: T0,
    });
    const report = plan.metricsGroups[0];
    expect([report?.groups, report?.series, report?.lastPushAt, report?.overdue]).toEqual([2, 4, T0 - MIN, undefined]);
  });
});
