import { Cron } from 'croner';

/**
 * Overdue: the replacement for the `up` series a push setup loses. A group run on a schedule is
 * overdue when a scheduled run's push has not arrived by its deadline: `overdueAfter` after the
 * run when set, else the next scheduled run. Pure: time comes in as `now`.
 */

export interface Schedule {
  readonly schedule: string;
  /** IANA zone; absent: UTC. */
  readonly timeZone?: string;
}

export type ParsedSchedule = { readonly ok: true; readonly cron: Cron } | { readonly ok: false; readonly error: string };

/** Parses a CronJob schedule (five fields or a `@daily`-style name) in its time zone. */
export function parseSchedule(schedule: Schedule): ParsedSchedule {
  try {
    const cron = new Cron(schedule.schedule, {
      timezone: schedule.timeZone ?? 'Etc/UTC',
      mode: '5-part',
      // Kubernetes (robfig/cron) accepts `5/15`; croner needs to be told.
      sloppyRanges: true,
      // Day-of-month and day-of-week are OR-ed, as in Kubernetes and Vixie cron.
      domAndDow: false,
    });
    // An invalid time zone only fails on first use.
    cron.nextRun(new Date(0));
    return { ok: true, cron };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export interface OverdueState {
  readonly overdue: boolean;
  /** When the missing push became overdue (the deadline that passed). */
  readonly since?: number;
  /** The scheduled run whose push is missing, or the last scheduled run whose push came. */
  readonly dueRunAt?: number;
  /** The next time the state can change by itself; undefined: never (suspended, no more runs). */
  readonly nextCheckAt?: number;
}

export interface OverdueInput {
  readonly cron: Cron;
  /** The newest push of the groups this schedule covers (Unix ms). */
  readonly lastPushAt: number;
  readonly now: number;
  /** 0: a run's push is due by the next run. */
  readonly overdueAfterMs: number;
  /** Runs before this (the CronJob's creation) are not expected to have pushed. */
  readonly since: number;
  readonly suspended: boolean;
}

/** Runs are on whole seconds; croner's previous runs are strictly before the reference. */
const upTo = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000 + 1000);

/**
 * Where a schedule stands at `now`: the scheduled run whose push is due, the deadline that has
 * passed for it, and when that changes next. It depends on the schedule, `now` and
 * `overdueAfterMs` only, so one pass computes it once per schedule, not once per group.
 */
export interface DueWindow {
  /** The run whose push is due (Unix ms); undefined: none yet. */
  readonly due: number | undefined;
  readonly deadline: number | undefined;
  readonly nextCheckAt: number | undefined;
}

export function dueWindow(cron: Cron, now: number, overdueAfterMs: number): DueWindow {
  if (overdueAfterMs > 0) {
    // The latest run whose deadline (run + overdueAfter) has passed.
    const due = cron.previousRuns(1, upTo(now - overdueAfterMs))[0];
    const following = cron.nextRun(due ?? new Date(now - overdueAfterMs));
    return {
      due: due?.getTime(),
      deadline: due === undefined ? undefined : due.getTime() + overdueAfterMs,
      nextCheckAt: following === null ? undefined : following.getTime() + overdueAfterMs,
    };
  }
  // The run before the latest one: its deadline, the latest run, has passed.
  const [latest, previous] = cron.previousRuns(2, upTo(now));
  return { due: previous?.getTime(), deadline: latest?.getTime(), nextCheckAt: cron.nextRun(new Date(now))?.getTime() };
}

/** The overdue state of a schedule that is not suspended, from its window at `now`. */
export function overdueIn(window: DueWindow, input: { readonly lastPushAt: number; readonly since: number }): OverdueState {
  const { due, deadline, nextCheckAt } = window;
  if (due === undefined || deadline === undefined || due < input.since) {
    return { overdue: false, ...(nextCheckAt === undefined ? {} : { nextCheckAt }) };
  }
  const overdue = input.lastPushAt < due;
  return {
    overdue,
    ...(overdue ? { since: deadline } : {}),
    dueRunAt: due,
    ...(nextCheckAt === undefined ? {} : { nextCheckAt }),
  };
}

export function overdueOf(input: OverdueInput): OverdueState {
  if (input.suspended) return { overdue: false };
  return overdueIn(dueWindow(input.cron, input.now, input.overdueAfterMs), input);
}
