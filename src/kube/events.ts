import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1ObjectReference } from '@kubernetes/client-node';
import { deletionMessage, describeKey, type DeletionBatch } from '../lifecycle/index.js';
import type { Clock, OwnerRef } from '../model/index.js';
import { toLetheError } from './client.js';
import { METRICS_GROUP } from './metrics-group.js';

/**
 * Kubernetes Events for deletions: one per owner and reason in each pass ("Deleted 3 metric
 * groups after Job team-a/backup-2871 was deleted"), on the owner, or on the namespace.
 */

export interface EventIdentity {
  /** This replica's name (reportingInstance). */
  readonly podName: string;
  /** Where Events about groups with no namespace go (Lethe's own namespace). */
  readonly namespace: string;
}

export const API_VERSION: Readonly<Record<OwnerRef['kind'], string>> = {
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  Namespace: 'v1',
  MetricsGroup: `${METRICS_GROUP.group}/${METRICS_GROUP.version}`,
};

/** Events of cluster-scoped objects live in `default`, as kubectl and the controllers put them. */
const eventNamespace = (subject: OwnerRef): string => (subject.kind === 'Namespace' ? 'default' : subject.namespace);

export function deletionEvent(batch: DeletionBatch, identity: EventIdentity, now: Date): CoreV1Event {
  const subject = batch.subject;
  const involved: V1ObjectReference =
    subject === undefined
      ? { apiVersion: 'v1', kind: 'Namespace', name: identity.namespace }
      : {
          apiVersion: API_VERSION[subject.kind],
          kind: subject.kind,
          name: subject.name,
          ...(subject.kind === 'Namespace' ? {} : { namespace: subject.namespace }),
          ...(subject.uid === '' ? {} : { uid: subject.uid }),
        };
  const shown = batch.groups.slice(0, 5).map(describeKey).join('; ');
  const more = batch.groups.length > 5 ? ` and ${batch.groups.length - 5} more` : '';
  return {
    metadata: {
      generateName: `${(subject?.name ?? 'lethe').slice(0, 200)}.`,
      namespace: subject === undefined ? 'default' : eventNamespace(subject),
    },
    involvedObject: involved,
    reason: batch.reason,
    message: `${deletionMessage(batch.reason, subject, batch.groups.length)}: ${shown}${more}`.slice(0, 1024),
    type: 'Normal',
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'lethe' },
    reportingComponent: 'lethe.dev/lethe',
    reportingInstance: identity.podName,
  };
}

export class EventRecorder {
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly identity: EventIdentity,
    private readonly clock: Clock,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Creates one Event per batch; rejects with the first failure after trying all. */
  async record(batches: readonly DeletionBatch[]): Promise<void> {
    const now = new Date(this.clock.now());
    const results = await Promise.allSettled(
      batches.map((batch) => {
        const event = deletionEvent(batch, this.identity, now);
        return this.core.createNamespacedEvent({ namespace: event.metadata.namespace ?? 'default', body: event });
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw toLetheError(failed.reason, 'creating a deletion Event');
  }
}
