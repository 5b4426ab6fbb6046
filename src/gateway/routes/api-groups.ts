import type { Request, Response } from 'express';
import {
  CRONJOB,
  JOB,
  PUSH_FAILURE_TIME_METRIC,
  PUSH_TIME_METRIC,
  isKind,
  labelsObject,
  seriesCount,
  type Attribution,
  type GroupInsight,
  type GroupView,
  type GroupingKey,
  type ObjectRef,
  type OwnerRef,
  type RunInsight,
} from '../../model/index.js';
import type { GatewayDeps } from '../types.js';
import { TYPE_NAMES, metricJson, rfc3339, sendJson, setApiHeaders } from './api-v1.js';

/*
 * GET /api/v1/groups: Lethe's own view of every group, for the web page and for people. The
 * Pushgateway has no such route. /api/v1/metrics stays exactly upstream's document, where every
 * key of a group other than `labels` and `last_push_successful` is a family, so what only Lethe
 * knows (attribution, owner, scrape time, lifecycle insight) lives here instead.
 */

/** `metrics/job@base64/<b64>{/<name>@base64/<b64>}`: the group's push/delete path below the route prefix. */
export function groupPath(key: GroupingKey): string {
  const b64 = (value: string): string => (value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url'));
  const job = key.labels.find((l) => l.name === 'job')?.value ?? '';
  const rest = key.labels.filter((l) => l.name !== 'job').map((l) => `/${l.name}@base64/${b64(l.value)}`);
  return `metrics/job@base64/${b64(job)}${rest.join('')}`;
}

const timeOrNull = (ms: number | undefined): string | null => (ms === undefined || ms === 0 ? null : rfc3339(ms));

const refJson = (r: ObjectRef): Record<string, unknown> => ({ group: r.group, kind: r.kind, name: r.name, uid: r.uid });

/** `job` and `cronJob` (names) as before runs and schedules of any kind, for a Job run and a CronJob schedule. */
function legacyNames(run: ObjectRef | undefined, schedule: ObjectRef | undefined): Record<string, string> {
  return {
    ...(run !== undefined && isKind(run, JOB) ? { job: run.name } : {}),
    ...(schedule !== undefined && isKind(schedule, CRONJOB) ? { cronJob: schedule.name } : {}),
  };
}

function attributionJson(a: Attribution): Record<string, unknown> {
  return {
    source: a.source,
    ...(a.namespace === undefined ? {} : { namespace: a.namespace }),
    ...(a.pod === undefined ? {} : { pod: a.pod }),
    ...(a.user === undefined ? {} : { user: a.user }),
    ...legacyNames(a.run, a.schedule),
    ...(a.run === undefined ? {} : { run: refJson(a.run) }),
    ...(a.schedule === undefined ? {} : { schedule: refJson(a.schedule) }),
    ...(a.scheduleKey === undefined ? {} : { scheduleKey: a.scheduleKey }),
  };
}

function ownerJson(owner: OwnerRef | undefined): Record<string, unknown> | null {
  if (owner === undefined) return null;
  return {
    group: owner.group,
    kind: owner.kind,
    namespace: owner.namespace,
    name: owner.name,
    uid: owner.uid,
    ...legacyNames(undefined, owner.schedule),
    ...(owner.schedule === undefined ? {} : { schedule: refJson(owner.schedule) }),
    ...(owner.scheduleKey === undefined ? {} : { scheduleKey: owner.scheduleKey }),
  };
}

/** The group's run (its owner when that is a run, else the run that pushed it), with its schedule. */
function runJson(run: RunInsight | undefined): Record<string, unknown> | null {
  if (run === undefined) return null;
  return {
    ...refJson(run),
    namespace: run.namespace,
    schedule: run.schedule === undefined ? null : refJson(run.schedule),
    scheduleKey: run.scheduleKey ?? null,
  };
}

function insightJson(insight: GroupInsight | undefined): Record<string, unknown> | null {
  if (insight === undefined) return null;
  return {
    policy: { ...insight.policy },
    policySource: insight.policySource ?? 'flags',
    policyInvalid: insight.policyInvalid ?? null,
    ownerAlive: insight.ownerAlive ?? null,
    ownerUnknown: insight.ownerUnknown ?? null,
    nextDeletion:
      insight.nextDeletion === undefined ? null : { reason: insight.nextDeletion.reason, time: rfc3339(insight.nextDeletion.at) },
    overdue: insight.overdue === undefined ? null : { since: rfc3339(insight.overdue.since) },
    queued: insight.queued === undefined ? null : { since: rfc3339(insight.queued.since) },
  };
}

/** One group as /api/v1/groups shows it; families keep /api/v1/metrics' shape, plus their name. */
export function groupDetailJson(group: GroupView, insight: GroupInsight | undefined): Record<string, unknown> {
  const families: Record<string, unknown>[] = [];
  let series = 0;
  for (const [name, stored] of group.families) {
    const { family } = stored;
    if (name !== PUSH_TIME_METRIC && name !== PUSH_FAILURE_TIME_METRIC) series += seriesCount(family);
    families.push({
      name,
      time_stamp: rfc3339(stored.pushedAt),
      type: TYPE_NAMES[family.type],
      ...(family.help === undefined || family.help === '' ? {} : { help: family.help }),
      metrics: family.metrics.map((m) => metricJson(family, m)),
    });
  }
  return {
    labels: labelsObject(group.key),
    path: groupPath(group.key),
    lastPushTime: timeOrNull(group.lastPushAt),
    lastFailureTime: timeOrNull(group.lastFailureAt),
    lastPushSuccessful: group.lastFailureAt <= group.lastPushAt,
    lastScrapeTime: timeOrNull(group.scrapedAt),
    excludedReason: group.excludedReason ?? null,
    attribution: attributionJson(group.attribution),
    owner: ownerJson(group.owner),
    run: runJson(insight?.run),
    insight: insightJson(insight),
    series,
    families,
  };
}

export function groupsApiHandler(deps: GatewayDeps) {
  return async (_req: Request, res: Response): Promise<void> => {
    setApiHeaders(res);
    const { insight } = deps;
    // Inside settled(): a push not yet durable is never shown (the web page reads this).
    const groups = await deps.store.settled(() =>
      [...deps.store.groups()]
        .sort((a, b) => (a.key.id < b.key.id ? -1 : a.key.id > b.key.id ? 1 : 0))
        .map((g) => groupDetailJson(g, insight?.(g))),
    );
    sendJson(res, 200, {
      status: 'success',
      data: {
        time: rfc3339(deps.clock.now()),
        adminApi: deps.config.web.enableAdminApi,
        lifecycle: insight !== undefined,
        /** False when Lethe runs standalone: no cluster, so no owners (only --lifecycle.ttl applies). */
        kubernetes: deps.kubernetes ?? false,
        /** The lifecycle gates that hold deletions back now (sync, health, leader); empty when none. */
        blockedBy: deps.blockedBy?.() ?? [],
        groups,
      },
    });
  };
}
