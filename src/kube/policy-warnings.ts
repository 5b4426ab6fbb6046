import { createHash } from 'node:crypto';
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Clock, ObjectRef } from '../model/index.js';
import { F, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields, classifyApiError } from './client.js';
import { builtInApiVersion, type EventIdentity } from './events.js';

/**
 * Says loudly that a Job's or CronJob's `lethe.dev/` annotations, or a MetricsGroup's spec,
 * cannot be read — the groups they govern are held (kept, as with Orphan) until it is fixed,
 * never decided by defaults the user did not mean. Once per change of what is wrong: a warning
 * log line, a Warning Event `InvalidPolicy` on the object, and `lethe_policy_invalid`. The Event
 * has a name derived from the object and the problem, so replicas and restarts that see the same
 * problem create it once (the API server answers the others with 409).
 */

/** An object whose `lethe.dev/` annotations (or MetricsGroup spec) set a policy: a run, a schedule, a bare pod, a MetricsGroup. */
export interface PolicySubject extends ObjectRef {
  readonly namespace: string;
  /** For a kind that is not built in: its apiVersion as discovery found it. */
  readonly apiVersion?: string;
}

export const INVALID_POLICY_REASON = 'InvalidPolicy';

export interface PolicyWarningsDeps {
  readonly clock: Clock;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly identity: EventIdentity;
  /** A failed Event (counted by the caller in lethe_lifecycle_report_errors_total). */
  readonly onEventError?: () => void;
}

const labelsOf = (s: PolicySubject): { kind: string; namespace: string; name: string } => ({ kind: s.kind, namespace: s.namespace, name: s.name });

/** What the Event and the log say the effect is. */
export function invalidPolicyMessage(subject: PolicySubject, problems: string): string {
  const what = subject.kind === 'MetricsGroup' ? 'selects' : 'governs';
  return `Invalid policy: ${problems}. Lethe keeps the metric groups this ${subject.kind} ${what} (as with deletion policy Orphan, no ttl or keepLast) until it is fixed`;
}

const apiVersionOf = (subject: PolicySubject): { apiVersion?: string } => {
  const apiVersion = subject.apiVersion ?? builtInApiVersion(subject);
  return apiVersion === undefined ? {} : { apiVersion };
};

/** The Warning Event on the object; its name is the same for the same object and problem. */
export function invalidPolicyEvent(subject: PolicySubject, problems: string, identity: EventIdentity, now: Date): CoreV1Event {
  const digest = createHash('sha256').update(`${subject.uid}\n${problems}`).digest('hex').slice(0, 16);
  return {
    metadata: { name: `${subject.name.slice(0, 200)}.${digest}`, namespace: subject.namespace },
    involvedObject: { ...apiVersionOf(subject), kind: subject.kind, name: subject.name, namespace: subject.namespace, uid: subject.uid },
    reason: INVALID_POLICY_REASON,
    message: invalidPolicyMessage(subject, problems).slice(0, 1024),
    type: 'Warning',
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'lethe' },
    reportingComponent: 'lethe.dev/lethe',
    reportingInstance: identity.podName,
  };
}

export class PolicyWarnings {
  private readonly current = new Map<string, { readonly subject: PolicySubject; readonly problems: string }>();
  private readonly core: CoreV1Api;
  private readonly log: Logger;

  constructor(private readonly deps: PolicyWarningsDeps) {
    this.core = deps.kubeConfig.makeApiClient(CoreV1Api);
    this.log = deps.logger.child({ [F.component]: 'kube' });
  }

  /** The object as it is now: `problems` undefined when its policy reads fine. */
  observe(subject: PolicySubject, problems: string | undefined): void {
    const before = this.current.get(subject.uid);
    if (before?.problems === problems) return;
    if (problems === undefined || problems === '') {
      this.forget(subject);
      if (before !== undefined) {
        this.log.info('Found valid policy again', { [F.kind]: subject.kind, [F.namespace]: subject.namespace, name: subject.name });
      }
      return;
    }
    this.current.set(subject.uid, { subject, problems });
    this.deps.metrics.policyInvalid.set(labelsOf(subject), 1);
    this.log.warn('Found invalid policy', {
      [F.kind]: subject.kind,
      [F.namespace]: subject.namespace,
      name: subject.name,
      problems,
      effect: `its metric groups are kept (as with Orphan) until the ${subject.kind === 'MetricsGroup' ? 'spec' : 'annotation'} is fixed`,
    });
    void this.recordEvent(subject, problems);
  }

  /** The object is gone. */
  forget(subject: PolicySubject): void {
    if (!this.current.delete(subject.uid)) return;
    this.deps.metrics.policyInvalid.remove(labelsOf(subject));
  }

  /** The objects whose policy cannot be read now. */
  invalid(): { readonly subject: PolicySubject; readonly problems: string }[] {
    return [...this.current.values()];
  }

  private async recordEvent(subject: PolicySubject, problems: string): Promise<void> {
    const event = invalidPolicyEvent(subject, problems, this.deps.identity, new Date(this.deps.clock.now()));
    try {
      await this.core.createNamespacedEvent({ namespace: subject.namespace, body: event });
    } catch (err) {
      if (classifyApiError(err) === 'conflict') return; // already recorded (another replica, or before a restart)
      this.deps.onEventError?.();
      this.log.warn('Failed to record invalid policy Event', {
        [F.kind]: subject.kind,
        [F.namespace]: subject.namespace,
        name: subject.name,
        [F.err]: apiErrorFields(err),
      });
    }
  }
}
