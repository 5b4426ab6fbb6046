import { describe, expect, test } from '@jest/globals';
import { decide, overdueOf, parseSchedule, type RunQueue } from '../../../src/lifecycle/index.js';
import { defaultPolicy } from '../../../src/model/index.js';
import { MIN, T0, cronJob, fromJob, group, job, metricsGroup, ownedBy, ownerObject, ownerRef, pushedAt, refTo, runOf, snapshot } from './builders.js';

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

describe('overdue of other schedules', () => {
  const stateOf = (schedules: string[], lastPush: string, now: string, overdueAfterMs = 0, queue?: RunQueue, since = '2000-01-01T00:00:00Z') => {
    const parsed = parseSchedule({ schedules });
    if (!parsed.ok) throw new Error(parsed.error);
    return overdueOf({ times: parsed.times, lastPushAt: at(lastPush), now: at(now), overdueAfterMs, since: at(since), suspended: false, queue });
  };
  const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

  test.each([
    // [name, schedules, last push, now, overdueAfter, overdue, since]
    ['two crons (a CronWorkflow\'s spec.schedules): the 15:00 run is due by 03:00', ['0 3 * * *', '0 15 * * *'], '2024-01-01T15:05:00Z', '2024-01-02T02:00:00Z', 0, false, undefined],
    ['two crons: the 15:00 run never pushed, overdue at the 03:00 run', ['0 3 * * *', '0 15 * * *'], '2024-01-01T03:05:00Z', '2024-01-02T04:00:00Z', 0, true, '2024-01-02T03:00:00.000Z'],
    ['two crons with overdueAfter: late 10 minutes after the 15:00 run', ['0 3 * * *', '0 15 * * *'], '2024-01-01T03:05:00Z', '2024-01-01T15:20:00Z', 10 * MIN, true, '2024-01-01T15:10:00.000Z'],
    ['@every 1h: pushed 90 minutes ago, the next push is due by 2h after the last', ['@every 1h'], '2024-01-01T10:00:00Z', '2024-01-01T11:30:00Z', 0, false, undefined],
    ['@every 1h: no push for 2h, overdue', ['@every 1h'], '2024-01-01T10:00:00Z', '2024-01-01T12:30:00Z', 0, true, '2024-01-01T12:00:00.000Z'],
    ['@every 1h30m with overdueAfter 10m', ['@every 1h30m'], '2024-01-01T10:00:00Z', '2024-01-01T11:45:00Z', 10 * MIN, true, '2024-01-01T11:40:00.000Z'],
  ] as const)('%s', (_name, schedules, lastPush, now, after, overdue, since) => {
    const s = stateOf([...schedules], lastPush, now, after);
    expect([s.overdue, iso(s.since)]).toEqual([overdue, since]);
  });

  test.each([
    ['@every mixed with cron times', ['@every 1h', '0 3 * * *'], /mixes @every with cron times/],
    ['@every without a duration', ['@every often'], /not a duration/],
    ['one bad cron of two names itself', ['0 3 * * *', '61 * * * *'], /^61 \* \* \* \*: /],
  ])('%s is reported, not thrown', (_name, schedules, message) => {
    const parsed = parseSchedule({ schedules });
    expect(parsed.ok ? '' : parsed.error).toMatch(message);
  });

  test('a run waiting suspended (Kueue) is queued, never overdue, however late', () => {
    const s = stateOf(['0 * * * *'], '2024-01-01T01:00:00Z', '2024-01-01T11:30:00Z', 0, { queuedSince: at('2024-01-01T02:00:00Z') });
    expect(s).toEqual({ overdue: false, queuedSince: at('2024-01-01T02:00:00Z'), dueRunAt: at('2024-01-01T10:00:00Z') });
  });

  test('admitted after its scheduled time: the deadline counts from the admission', () => {
    // Hourly, due 10 minutes after each run. The 11:00 run was admitted at 11:20: due by 11:30.
    const admitted = { admittedAt: at('2024-01-01T11:20:00Z') };
    const before = stateOf(['0 * * * *'], '2024-01-01T10:05:00Z', '2024-01-01T11:25:00Z', 10 * MIN, admitted);
    expect([before.overdue, iso(before.nextCheckAt)]).toEqual([false, '2024-01-01T11:30:00.000Z']);
    const after = stateOf(['0 * * * *'], '2024-01-01T10:05:00Z', '2024-01-01T11:31:00Z', 10 * MIN, admitted);
    expect([after.overdue, iso(after.since)]).toEqual([true, '2024-01-01T11:30:00.000Z']);
    // Admitted before its scheduled time (or never queued): the schedule's own deadline.
    const early = stateOf(['0 * * * *'], '2024-01-01T10:05:00Z', '2024-01-01T11:15:00Z', 10 * MIN, { admittedAt: at('2024-01-01T10:59:00Z') });
    expect([early.overdue, iso(early.since)]).toEqual([true, '2024-01-01T11:10:00.000Z']);
  });

  test("decide: a CronJob whose newest Job waits suspended is queued, not overdue; once admitted, overdue counts from then", () => {
    const groups = [group('report', '', fromJob('r-1', 'report'), ownedBy(ownerRef('Job', 'r-1', { schedule: refTo('CronJob', 'report'), resolvedFor: T0 - 150 * MIN })), pushedAt(T0 - 150 * MIN))];
    const queued = job('r-2', runOf('report'), (j) => ({ ...j, createdAt: T0 - 30 * MIN, suspended: true }));
    const at0 = (snap: ReturnType<typeof snapshot>, now = T0) => decide({ groups, snapshot: snap, defaults: defaultPolicy, now });
    // Hourly; the newest push 09:30; at 12:00 the 10:00 and 11:00 runs have not pushed.
    const waiting = at0(snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-1', runOf('report')), queued] }));
    expect(waiting.overdue[0]?.state).toMatchObject({ overdue: false, queuedSince: T0 - 30 * MIN });
    expect(waiting.insights.get(groups[0]!.key.id)).toMatchObject({ queued: { since: T0 - 30 * MIN } });
    expect(waiting.insights.get(groups[0]!.key.id)?.overdue).toBeUndefined();
    // Admitted at 12:00: the run due since 11:00 has until 13:00 (the next run after its time).
    const admitted = { ...queued, suspended: false, startedAt: T0 };
    const justAdmitted = at0(snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-1', runOf('report')), admitted] }), T0 + 5 * MIN);
    expect(justAdmitted.overdue[0]?.state.overdue).toBe(false);
    const late = at0(snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-1', runOf('report')), admitted] }), T0 + 61 * MIN);
    expect(late.overdue[0]?.state).toMatchObject({ overdue: true });
  });

  test('decide: a CronWorkflow with several schedules and a time zone, read from its spec', () => {
    const wf = ownerRef('Workflow', 'etl-1', { schedule: refTo('CronWorkflow', 'nightly'), resolvedFor: T0 - 20 * 60 * MIN });
    const plan = decide({
      groups: [group('etl', '', fromJob('etl-1', 'nightly', 'Workflow', 'CronWorkflow'), ownedBy(wf), pushedAt(T0 - 20 * 60 * MIN))],
      snapshot: snapshot({
        runKinds: ['Workflow'],
        scheduleKinds: ['CronWorkflow'],
        owners: [
          ownerObject('Workflow', 'etl-1', runOf('nightly', 'CronWorkflow')),
          ownerObject('CronWorkflow', 'nightly', (o) => ({ ...o, createdAt: T0 - 10 * 24 * 60 * MIN, schedule: { schedules: ['0 3 * * *', '0 9 * * *'], timeZone: 'Europe/Berlin', suspend: false } })),
        ],
      }),
      defaults: defaultPolicy,
      now: T0,
    });
    // T0 is 12:00 UTC = 13:00 Berlin; the newest push 16:00 UTC yesterday; the 03:00 Berlin run (02:00 UTC) was due by 09:00 Berlin (08:00 UTC).
    expect(plan.overdue[0]?.state).toMatchObject({ overdue: true, since: Date.UTC(2024, 0, 1, 8, 0, 0), dueRunAt: Date.UTC(2024, 0, 1, 2, 0, 0) });
    expect(plan.overdue[0]?.owner.schedule?.name).toBe('nightly');
  });
});
