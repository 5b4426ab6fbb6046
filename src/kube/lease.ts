import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { UnavailableError } from '../errors.js';
import type { LeaseAttempt, LeaseBackend } from '../leadership/index.js';
import type { Clock } from '../model/index.js';
import { F, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields, classifyApiError } from './client.js';
import type { Forbidden } from './informers.js';

const LEASES = 'leases.coordination.k8s.io';

/** An API error with the verb of the call that failed (RBAC names verbs, not methods). */
class LeaseCallError extends Error {
  constructor(
    readonly verb: 'get' | 'create' | 'update',
    override readonly cause: unknown,
  ) {
    super(`${verb} ${LEASES} failed`);
  }
}

const causeOf = (err: unknown): unknown => (err instanceof LeaseCallError ? err.cause : err);

/** A failed Lease call as an error that is safe to log: the HTTP status and the Status message, never the response headers. */
function loggable(err: unknown): UnavailableError {
  const cause = causeOf(err);
  const { code, message } = apiErrorFields(cause);
  const what = err instanceof LeaseCallError ? err.message : `${LEASES} call failed`;
  const detail = [code, message].filter((part) => part !== undefined).map(String).join(': ');
  return new UnavailableError('LETHE_KUBE_API', detail === '' ? what : `${what} (${detail})`);
}

/**
 * The leadership backend on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection
 * keeps one (client-node has none, TESTING.md §5.5): optimistic writes with the read
 * resourceVersion, and expiry judged by when *we* last saw the record change (no trust in other
 * clocks). The loop around it is leadership/elector.ts. A Lease call the API server forbids (RBAC)
 * is reported here, once while it lasts: `forbidden`, an error log line, `lethe_kube_forbidden`.
 */

export interface KubeLeaseOptions {
  readonly leaseName: string;
  readonly namespace: string;
  /** This replica's name (config/replica.ts). */
  readonly identity: string;
  readonly leaseDurationMs: number;
}

export interface KubeLeaseDeps {
  readonly kubeConfig: KubeConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly options: KubeLeaseOptions;
}

export class KubeLease implements LeaseBackend {
  readonly lease: string;
  readonly holder: string;
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  /** The last lease record seen and when we saw it change. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private forbidden_: Forbidden | undefined;

  constructor(private readonly deps: KubeLeaseDeps) {
    this.api = deps.kubeConfig.makeApiClient(CoordinationV1Api);
    this.log = deps.logger.child({ [F.component]: 'kube' });
    this.lease = `${deps.options.namespace}/${deps.options.leaseName}`;
    this.holder = deps.options.identity;
  }

  /** The Lease call the API server forbids now (RBAC), if it does: this replica can then never lead. */
  get forbidden(): Forbidden | undefined {
    return this.forbidden_;
  }

  async tryAcquireOrRenew(): Promise<LeaseAttempt> {
    try {
      return await this.acquireOrRenew();
    } catch (err) {
      const cause = causeOf(err);
      if (err instanceof LeaseCallError && cause instanceof ApiException && cause.code === 403) {
        const message = apiErrorFields(cause)['message'];
        this.setForbidden({ verb: err.verb, resource: LEASES, namespace: this.deps.options.namespace, message: typeof message === 'string' ? message : 'forbidden' });
        return { state: 'unknown' };
      }
      throw loggable(err);
    }
  }

  async release(): Promise<void> {
    const { leaseName: name, namespace, identity } = this.deps.options;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { name, namespace, ...(lease.metadata?.resourceVersion === undefined ? {} : { resourceVersion: lease.metadata.resourceVersion }) },
          spec: { holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.deps.clock.now()), leaseTransitions: lease.spec.leaseTransitions ?? 0 },
        },
      });
    } catch (err) {
      throw loggable(err);
    }
  }

  /** One Lease call; its failure carries the verb. An answer other than 403 to a verb that was forbidden ends that. */
  private async call<T>(verb: LeaseCallError['verb'], fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      // Any answer but 403 (a 404, a 409) means the call itself is allowed.
      if (this.forbidden_?.verb === verb && err instanceof ApiException && err.code !== 403) this.setForbidden(undefined);
      throw new LeaseCallError(verb, err);
    }
    if (this.forbidden_?.verb === verb) this.setForbidden(undefined);
    return result;
  }

  /** A refused Lease call is logged at error once (naming verb, resource and namespace) while it lasts. */
  private setForbidden(forbidden: Forbidden | undefined): void {
    const before = this.forbidden_;
    if (before?.verb === forbidden?.verb) return;
    const labels = (f: Forbidden): { verb: string; resource: string; resource_namespace: string } => ({ verb: f.verb, resource: f.resource, resource_namespace: f.namespace });
    if (before !== undefined) this.deps.metrics.forbidden.remove(labels(before));
    this.forbidden_ = forbidden;
    const { leaseName, namespace } = this.deps.options;
    if (forbidden === undefined) {
      if (before !== undefined) this.log.info('Allowed to access resource', { [F.verb]: before.verb, [F.resource]: LEASES, [F.namespace]: namespace, lease: leaseName });
      return;
    }
    this.deps.metrics.forbidden.set(labels(forbidden), 1);
    this.log.error('Forbidden to access resource', {
      [F.verb]: forbidden.verb,
      [F.resource]: LEASES,
      [F.namespace]: namespace,
      lease: leaseName,
      hint: `grant get, create and update on ${LEASES} (the Lease ${leaseName}) in namespace ${namespace} to Lethe's ServiceAccount (the chart's Role has it), or set --leader-election.namespace; until then this replica never leads, so it deletes nothing`,
      [F.err]: { code: 403, message: forbidden.message },
    });
  }

  private async acquireOrRenew(): Promise<LeaseAttempt> {
    const { leaseName: name, namespace, identity, leaseDurationMs } = this.deps.options;
    const { clock } = this.deps;
    const now = new V1MicroTime(clock.now());
    const durationSeconds = Math.ceil(leaseDurationMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.call('get', () => this.api.readNamespacedLease({ name, namespace }));
    } catch (err) {
      if (classifyApiError(causeOf(err)) !== 'absent') throw err;
      try {
        await this.call('create', () => this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        }));
      } catch (createErr) {
        if (classifyApiError(causeOf(createErr)) === 'conflict') return { state: 'unknown' }; // another replica created it first
        throw createErr;
      }
      return { state: 'held' };
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime === undefined ? '' : new Date(spec.renewTime).toISOString();
    if (this.observed === undefined || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: clock.now() };
    }
    const heldByOther = holder !== '' && holder !== identity;
    const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.observed.at + duration > clock.now()) return { state: 'other' };
    const takeover = holder !== identity;
    try {
      await this.call('update', () => this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { name, namespace, ...(lease.metadata?.resourceVersion === undefined ? {} : { resourceVersion: lease.metadata.resourceVersion }) },
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            renewTime: now,
            acquireTime: takeover ? now : spec.acquireTime === undefined ? now : new V1MicroTime(new Date(spec.acquireTime).getTime()),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && holder !== '' ? 1 : 0),
          },
        },
      }));
    } catch (err) {
      if (classifyApiError(causeOf(err)) === 'conflict') return { state: 'unknown' }; // someone else wrote first: try again next period
      throw err;
    }
    return { state: 'held' };
  }
}
