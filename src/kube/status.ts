import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import type { MetricsGroupReport } from '../lifecycle/index.js';
import { classifyApiError, toLetheError } from './client.js';
import { METRICS_GROUP } from './metrics-group.js';

/**
 * MetricsGroup status, rebuilt on every pass from the store and the cluster (never accumulated
 * from the previous status), and patched on the status subresource only when it differs.
 * `lastTransitionTime` is kept while a condition's status stays the same.
 */

export interface Condition {
  readonly type: 'Ready' | 'Overdue';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}

export interface MetricsGroupStatus {
  readonly observedGeneration: number;
  readonly groups: number;
  readonly series: number;
  readonly lastPushTime?: string;
  readonly conditions: readonly Condition[];
}

const currentSchema = z
  .object({
    observedGeneration: z.number().optional(),
    groups: z.number().optional(),
    series: z.number().optional(),
    lastPushTime: z.string().optional(),
    conditions: z
      .array(
        z.object({
          type: z.string(),
          status: z.string(),
          reason: z.string().optional(),
          message: z.string().optional(),
          observedGeneration: z.number().optional(),
          lastTransitionTime: z.string().optional(),
        }),
      )
      .optional(),
  })
  .catch({});

type CurrentStatus = z.infer<typeof currentSchema>;

/** Kubernetes times: RFC 3339 with seconds. */
const rfc3339 = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export function desiredStatus(report: MetricsGroupReport, current: unknown, now: number): MetricsGroupStatus {
  const mg = report.metricsGroup;
  const old = currentSchema.parse(current ?? {});
  const condition = (type: Condition['type'], status: Condition['status'], reason: string, message: string): Condition => {
    const before = old.conditions?.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      observedGeneration: mg.generation,
      lastTransitionTime: before?.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : rfc3339(now),
    };
  };
  const ready =
    mg.invalid !== undefined
      ? condition(
          'Ready',
          'False',
          'InvalidSpec',
          mg.holdsNamespace === true
            ? `${mg.invalid}. Its selector cannot be read, so Lethe keeps every metric group of namespace ${mg.namespace} (as with deletionPolicy Orphan, no ttl or keepLast) until it is fixed`
            : `${mg.invalid}. Lethe keeps the ${report.groups} metric group${report.groups === 1 ? '' : 's'} it selects (as with deletionPolicy Orphan, no ttl or keepLast) until it is fixed`,
        )
      : report.scheduleError !== undefined
        ? condition('Ready', 'False', 'InvalidSchedule', report.scheduleError)
        : condition('Ready', 'True', 'Selecting', `Owns ${report.groups} metric group${report.groups === 1 ? '' : 's'}`);
  const o = report.overdue;
  const overdue =
    o === undefined
      ? condition('Overdue', 'Unknown', 'NoSchedule', 'No schedule: set spec.ownerRef to a CronJob (or a schedule Lethe reads), or spec.overdue.schedule')
      : o.queuedSince !== undefined
        ? condition('Overdue', 'False', 'Queued', `A run waits suspended (e.g. for Kueue's admission) since ${rfc3339(o.queuedSince)}; overdue counts from its admission`)
        : o.overdue
          ? condition('Overdue', 'True', 'PushMissing', `No push for the run scheduled at ${rfc3339(o.dueRunAt ?? now)}; overdue since ${rfc3339(o.since ?? now)}`)
          : condition('Overdue', 'False', 'OnSchedule', o.dueRunAt === undefined ? 'No push is due yet' : `The run scheduled at ${rfc3339(o.dueRunAt)} pushed`);
  return {
    observedGeneration: mg.generation,
    groups: report.groups,
    series: report.series,
    ...(report.lastPushAt === undefined || report.lastPushAt === 0 ? {} : { lastPushTime: rfc3339(report.lastPushAt) }),
    conditions: [ready, overdue],
  };
}

/** True when the current status already says what `desired` says. */
export function statusUpToDate(current: unknown, desired: MetricsGroupStatus): boolean {
  const old: CurrentStatus = currentSchema.parse(current ?? {});
  const normal = (s: CurrentStatus | MetricsGroupStatus): string =>
    JSON.stringify([
      s.observedGeneration,
      s.groups,
      s.series,
      s.lastPushTime,
      [...(s.conditions ?? [])]
        .map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration, c.lastTransitionTime])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ]);
  return normal(old) === normal(desired);
}

export class StatusWriter {
  private readonly custom: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Patches each MetricsGroup whose status changed; a MetricsGroup deleted meanwhile is skipped. */
  async write(reports: readonly MetricsGroupReport[], currentOf: (uid: string) => unknown, now: number): Promise<void> {
    let firstError: Error | undefined;
    for (const report of reports) {
      const current = currentOf(report.metricsGroup.uid);
      const desired = desiredStatus(report, current, now);
      if (statusUpToDate(current, desired)) continue;
      const { group, version, plural } = METRICS_GROUP;
      // A merge patch replaces `conditions` whole; null removes a lastPushTime that no longer applies.
      const body = { status: { ...desired, lastPushTime: desired.lastPushTime ?? null } };
      try {
        await this.custom.patchNamespacedCustomObjectStatus(
          { group, version, plural, namespace: report.metricsGroup.namespace, name: report.metricsGroup.name, body },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (err) {
        if (classifyApiError(err) !== 'absent') firstError ??= toLetheError(err, `updating the status of MetricsGroup ${report.metricsGroup.namespace}/${report.metricsGroup.name}`);
      }
    }
    if (firstError !== undefined) throw firstError;
  }
}
