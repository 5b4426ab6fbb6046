import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1ObjectReference } from '@kubernetes/client-node';
import { deletionMessage, describeKey, type DeletionBatch } from '../lifecycle/index.js';
import { METRICSGROUP, NAMESPACE, isKind, type Clock, type ObjectKind, type OwnerRef } from '../model/index.js';
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

/** The apiVersion of a built-in owner kind (core, batch, Lethe's own); undefined for any other. */
export function builtInApiVersion(kind: ObjectKind): string | undefined {
  if (kind.group === '') return 'v1';
  if (kind.group === 'batch') return 'batch/v1';
  return isKind(kind, METRICSGROUP) ? `${METRICS_GROUP.group}/${METRICS_GROUP.version}` : undefined;
}

/** The apiVersion to name an object of this kind with: built in, else as discovery found it; undefined when not known. */
export type ApiVersionOf = (kind: ObjectKind) => string | undefined;

/** Events of cluster-scoped objects live in `default`, as kubectl and the controllers put them. */
const eventNamespace = (subject: OwnerRef): string => (isKind(subject, NAMESPACE) ? 'default' : subject.namespace);

export function deletionEvent(batch: DeletionBatch, identity: EventIdentity, now: Date, apiVersionOf: ApiVersionOf = builtInApiVersion): CoreV1Event {
  const subject = batch.subject;
  const apiVersion = subject === undefined ? undefined : apiVersionOf(subject);
  const involved: V1ObjectReference =
    subject === undefined
      ? { apiVersion: 'v1', kind: 'Namespace', name: identity.namespace }
      : {
          ...(apiVersion === undefined ? {} : { apiVersion }),
          kind: subject.kind,
          name: subject.name,
          ...(isKind(subject, NAMESPACE) ? {} : { namespace: subject.namespace }),
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
    message: `${deletionMessage(batch.reason, subject, batch.groups.length, batch.scheduleKey)}: ${shown}${more}`.slice(0, 1024),
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
    private readonly apiVersionOf: ApiVersionOf = builtInApiVersion,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Creates one Event per batch; rejects with the first failure after trying all. */
  async record(batches: readonly DeletionBatch[]): Promise<void> {
    const now = new Date(this.clock.now());
    const results = await Promise.allSettled(
      batches.map((batch) => {
        const event = deletionEvent(batch, this.identity, now, this.apiVersionOf);
        return this.core.createNamespacedEvent({ namespace: event.metadata.namespace ?? 'default', body: event });
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw toLetheError(failed.reason, 'creating a deletion Event');
  }
}
