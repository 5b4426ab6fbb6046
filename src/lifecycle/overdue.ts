import { Cron } from 'croner';
import { parseDuration } from '../config/index.js';

/**
 * Overdue: the replacement for the `up` series a push setup loses. A group run on a schedule is
 * overdue when a scheduled run's push has not arrived by its deadline: `overdueAfter` after the
 * run when set, else the next scheduled run. A run waiting suspended (queued for Kueue's
 * admission) is never overdue, and its deadline counts from its admission when that came after
 * its scheduled time. Pure: time comes in as `now`.
 */

export interface Schedule {
  /** Cron expressions (five fields or a `@daily`-style name), or `@every <duration>`; due when any fires. */
  readonly schedules: readonly string[];
  /** IANA zone; absent: UTC. */
  readonly timeZone?: string;
}

/**
 * When runs are due: at cron times, or (`@every 1h`, as robfig/cron reads it for Argo's
 * CronWorkflows and the Spark operator) every so long, counted from when the controller started,
 * which Lethe cannot know — so from the last push instead.
 */
export type ScheduleTimes = { readonly kind: 'cron'; readonly crons: readonly Cron[] } | { readonly kind: 'every'; readonly everyMs: number };

export type ParsedSchedule = { readonly ok: true; readonly times: ScheduleTimes } | { readonly ok: false; readonly error: string };

const EVERY = /^@every\s+(\S+)$/;

/** Parses a schedule (a CronJob's, a CronWorkflow's several, a MetricsGroup's) in its time zone. */
export function parseSchedule(schedule: Schedule): ParsedSchedule {
  const texts = schedule.schedules.map((s) => s.trim());
  if (texts.length === 0) return { ok: false, error: 'no schedule' };
  const every = texts.map((t) => EVERY.exec(t));
  if (every.every((m) => m !== null)) {
    const intervals = every.map((m) => parseDuration(m?.[1] ?? ''));
    const bad = intervals.findIndex((ms) => ms === undefined || ms <= 0);
    if (bad !== -1) return { ok: false, error: `${texts[bad] ?? ''}: not a duration (use e.g. @every 30m or @every 1h30m)` };
    return { ok: true, times: { kind: 'every', everyMs: Math.max(1000, Math.min(...intervals.map((ms) => ms ?? 0))) } };
  }
  if (every.some((m) => m !== null)) return { ok: false, error: `cannot tell when runs are due: ${texts.join(', ')} mixes @every with cron times` };
  const crons: Cron[] = [];
  for (const text of texts) {
    try {
      const cron = new Cron(text, {
        timezone: schedule.timeZone ?? 'Etc/UTC',
        mode: '5-part',
        // Kubernetes (robfig/cron) accepts `5/15`; croner needs to be told.
        sloppyRanges: true,
        // Day-of-month and day-of-week are OR-ed, as in Kubernetes and Vixie cron.
        domAndDow: false,
      });
      // An invalid time zone only fails on first use.
      cron.nextRun(new Date(0));
      crons.push(cron);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return { ok: false, error: texts.length === 1 ? why : `${text}: ${why}` };
    }
  }
  return { ok: true, times: { kind: 'cron', crons } };
}

export interface OverdueState {
  readonly overdue: boolean;
  /** When the missing push became overdue (the deadline that passed). */
  readonly since?: number;
  /** The scheduled run whose push is missing, or the last scheduled run whose push came. */
  readonly dueRunAt?: number;
  /** The next time the state can change by itself; undefined: never (suspended, queued, no more runs). */
  readonly nextCheckAt?: number;
  /** A run of the schedule waits suspended (e.g. for Kueue's admission) since then: not overdue. */
  readonly queuedSince?: number;
}

/** What the schedule's live runs say (from its Jobs; see decide's runs of a schedule). */
export interface RunQueue {
  /** The earliest creation of a run that waits suspended now; undefined: none waits. */
  readonly queuedSince?: number;
  /** When the newest run that does not wait was admitted (a Job's `status.startTime`). */
  readonly admittedAt?: number;
}

export interface OverdueInput {
  readonly times: ScheduleTimes;
  /** The newest push of the groups this schedule covers (Unix ms). */
  readonly lastPushAt: number;
  readonly now: number;
  /** 0: a run's push is due by the next run. */
  readonly overdueAfterMs: number;
  /** Runs before this (the schedule's creation) are not expected to have pushed. */
  readonly since: number;
  readonly suspended: boolean;
  readonly queue?: RunQueue | undefined;
}

/** Runs are on whole seconds; croner's previous runs are strictly before the reference. */
const upTo = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000 + 1000);

/**
 * Where cron times stand at `now`: the scheduled run whose push is due, the deadline that has
 * passed for it, and when that changes next. It depends on the crons, `now` and
 * `overdueAfterMs` only, so one pass computes it once per schedule, not once per group.
 */
export interface DueWindow {
  /** The run whose push is due (Unix ms); undefined: none yet. */
  readonly due: number | undefined;
  readonly deadline: number | undefined;
  readonly nextCheckAt: number | undefined;
}

const latest = (dates: readonly (Date | null | undefined)[]): number | undefined => {
  const times = dates.filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  return times.length === 0 ? undefined : Math.max(...times);
};
const soonest = (dates: readonly (Date | null | undefined)[]): number | undefined => {
  const times = dates.filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  return times.length === 0 ? undefined : Math.min(...times);
};

export function dueWindow(crons: readonly Cron[], now: number, overdueAfterMs: number): DueWindow {
  if (overdueAfterMs > 0) {
    // The latest run whose deadline (run + overdueAfter) has passed.
    const due = latest(crons.map((c) => c.previousRuns(1, upTo(now - overdueAfterMs))[0]));
    const from = new Date(due ?? now - overdueAfterMs);
    const following = soonest(crons.map((c) => c.nextRun(from)));
    return {
      due,
      deadline: due === undefined ? undefined : due + overdueAfterMs,
      nextCheckAt: following === undefined ? undefined : following + overdueAfterMs,
    };
  }
  // The run before the latest one: its deadline, the latest run, has passed.
  const runs = [...new Set(crons.flatMap((c) => c.previousRuns(2, upTo(now)).map((d) => d.getTime())))].sort((a, b) => b - a);
  return { due: runs[1], deadline: runs[0], nextCheckAt: soonest(crons.map((c) => c.nextRun(new Date(now)))) };
}

/**
 * Moves a deadline by a late admission: a run admitted after its scheduled time has as long
 * from its admission as it would have had from its scheduled time.
 */
function admittedDeadline(due: number, deadline: number, queue: RunQueue | undefined): number {
  const admitted = queue?.admittedAt;
  return admitted !== undefined && admitted > due ? admitted + (deadline - due) : deadline;
}

/** The overdue state of cron times that are not suspended, from their window at `now`. */
export function overdueIn(
  window: DueWindow,
  input: { readonly lastPushAt: number; readonly since: number; readonly now: number; readonly queue?: RunQueue | undefined },
): OverdueState {
  const { due, deadline, nextCheckAt } = window;
  const next = nextCheckAt === undefined ? {} : { nextCheckAt };
  if (input.queue?.queuedSince !== undefined) return { overdue: false, queuedSince: input.queue.queuedSince, ...(due === undefined ? {} : { dueRunAt: due }) };
  if (due === undefined || deadline === undefined || due < input.since) return { overdue: false, ...next };
  if (input.lastPushAt >= due) return { overdue: false, dueRunAt: due, ...next };
  const end = admittedDeadline(due, deadline, input.queue);
  if (end > input.now) return { overdue: false, dueRunAt: due, nextCheckAt: Math.min(end, nextCheckAt ?? end) };
  return { overdue: true, since: end, dueRunAt: due, ...next };
}

/**
 * `@every`: the run after the one that last pushed is due at most that long after the push (or
 * after the schedule's creation), and its push by `overdueAfter` after that, else by the run after it.
 */
export function overdueEvery(everyMs: number, input: Omit<OverdueInput, 'times' | 'suspended'>): OverdueState {
  if (input.queue?.queuedSince !== undefined) return { overdue: false, queuedSince: input.queue.queuedSince };
  const due = Math.max(input.lastPushAt, input.since) + everyMs;
  const end = admittedDeadline(due, due + (input.overdueAfterMs > 0 ? input.overdueAfterMs : everyMs), input.queue);
  if (end > input.now) return { overdue: false, nextCheckAt: end };
  return { overdue: true, since: end, dueRunAt: due };
}

export function overdueOf(input: OverdueInput): OverdueState {
  if (input.suspended) return { overdue: false };
  const { times } = input;
  if (times.kind === 'every') return overdueEvery(times.everyMs, input);
  return overdueIn(dueWindow(times.crons, input.now, input.overdueAfterMs), input);
}
