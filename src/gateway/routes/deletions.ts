import type { Request } from 'express';
import { describeKey, jobOf, type GroupingKey, type OwnerRef } from '../../model/index.js';
import { F, type Logger } from '../../observability/index.js';
import type { GatewayDeps, Principal } from '../types.js';

/** Why the HTTP API deleted a group: the `reason` of its log line and of lethe_groups_deleted_total. */
export type ApiDeletionReason = 'api-delete' | 'wipe';

/**
 * Explains deletions made through the HTTP API as the lifecycle explains its own: one info line
 * `Deleted metric group` per group (reason, grouping key, job, owner, and who asked) and one
 * increment of `lethe_groups_deleted_total{reason}`.
 */
export function deletionReporter(deps: GatewayDeps, log: Logger, reason: ApiDeletionReason, req: Request, principal: Principal | undefined) {
  const who = {
    [F.remote]: req.socket.remoteAddress ?? '',
    ...(principal === undefined || principal.name === '' ? {} : { user: principal.name }),
  };
  return (key: GroupingKey, owner: OwnerRef | undefined): void => {
    deps.metrics.groupsDeleted.inc({ reason });
    log.info('Deleted metric group', {
      [F.groupingKey]: describeKey(key),
      [F.job]: jobOf(key),
      [F.reason]: reason,
      ...(owner === undefined ? {} : { [F.owner]: owner }),
      ...who,
    });
  };
}
