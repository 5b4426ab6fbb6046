import { describeOwner, type DeletionReason, type OwnerRef } from '../model/index.js';

/** Words for logs, Events and metric labels. Pure. */

export { describeKey } from '../model/index.js';

const groupsWord = (n: number): string => (n === 1 ? '1 metric group' : `${n} metric groups`);

/**
 * The message of the Event for a batch of deletions, e.g. "Deleted 3 metric groups after Job
 * ns/backup-2871 was deleted". `scheduleKey`: the deleted runs were runs of that schedule key
 * (the subject is then the run; else, for runs superseded, their schedule).
 */
export function deletionMessage(reason: DeletionReason, subject: OwnerRef | undefined, count: number, scheduleKey?: string): string {
  const what = `Deleted ${groupsWord(count)}`;
  const who = subject === undefined ? 'their owner' : describeOwner(subject);
  switch (reason) {
    case 'job-deleted':
    case 'cronjob-deleted':
    case 'run-deleted':
    case 'schedule-deleted':
    case 'namespace-deleted':
    case 'metricsgroup-deleted':
      return `${what} after ${who} was deleted`;
    case 'cronjob-run-superseded':
    case 'run-superseded':
      return scheduleKey === undefined
        ? `${what} of deleted runs of ${who} after a newer run pushed`
        : `${what} of deleted run ${who} after a newer run of schedule key ${JSON.stringify(scheduleKey)} pushed`;
    case 'ttl-expired':
      return `${what} of ${who} not pushed within their ttl`;
    case 'keep-last-exceeded':
      return `${what} of ${who} beyond its keepLast most recent`;
    case 'api-delete':
      return `${what} through the API`;
    case 'wipe':
      return `${what} by a wipe through the admin API`;
    default: {
      const never: never = reason;
      return never;
    }
  }
}
