import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Leadership } from '../lifecycle/index.js';
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

/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it
 * (client-node has none, TESTING.md §5.5): optimistic writes with the read resourceVersion, expiry
 * judged by when *we* last saw the record change (no trust in other clocks), and leadership given
 * up locally once renewals have failed for the renew deadline.
 */

export interface LeaderElectionOptions {
  readonly leaseName: string;
  readonly namespace: string;
  /** This replica's name (POD_NAME, else the host name). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export interface LeaseTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** client-go's defaults (TESTING.md §5.5). */
export const defaultLeaseTimings: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderElectionDeps {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly options: LeaderElectionOptions;
}

export class LeaseElector implements Leadership {
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  private leader = false;
  private lastRenewAt = 0;
  /** The last lease record seen and when we saw it change. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private running: Promise<void> | undefined;
  private forbidden_: Forbidden | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: LeaderElectionDeps) {
    this.api = deps.kubeConfig.makeApiClient(CoordinationV1Api);
    this.log = deps.logger.child({ [F.component]: 'kube' });
    deps.metrics.leader.set(0);
  }

  isLeader(): boolean {
    return this.leader && Date.now() - this.lastRenewAt < this.deps.options.renewDeadlineMs;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The Lease call the API server forbids now (RBAC), if it does: this replica can then never lead. */
  get forbidden(): Forbidden | undefined {
    return this.forbidden_;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Stops, and releases the Lease when held so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
    if (this.leader) await this.release();
    this.setLeader(false);
  }

  private tick(): void {
    this.running = this.tryAcquireOrRenew()
      .then(
        () => undefined,
        (err: unknown) => {
          const cause = causeOf(err);
          if (err instanceof LeaseCallError && cause instanceof ApiException && cause.code === 403) {
            const message = apiErrorFields(cause)['message'];
            this.setForbidden({ verb: err.verb, resource: LEASES, namespace: this.deps.options.namespace, message: typeof message === 'string' ? message : 'forbidden' });
            return;
          }
          this.log.warn('Failed to acquire or renew the leader Lease', { [F.err]: apiErrorFields(cause) });
        },
      )
      .finally(() => {
        this.running = undefined;
        // Past the renew deadline without a renewal: stop acting as leader.
        if (this.leader && Date.now() - this.lastRenewAt >= this.deps.options.renewDeadlineMs) this.setLeader(false);
        if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.deps.options.retryPeriodMs);
      });
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

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.deps.metrics.leader.set(leader ? 1 : 0);
    const { leaseName, namespace, identity } = this.deps.options;
    this.log.info(leader ? 'Became leader' : 'Stopped leading', { lease: `${namespace}/${leaseName}`, identity });
    for (const listener of this.listeners) listener();
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { leaseName: name, namespace, identity, leaseDurationMs } = this.deps.options;
    const now = new V1MicroTime(Date.now());
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
        if (classifyApiError(causeOf(createErr)) === 'conflict') return; // another replica created it first
        throw createErr;
      }
      this.renewed();
      return;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime === undefined ? '' : new Date(spec.renewTime).toISOString();
    if (this.observed === undefined || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const heldByOther = holder !== '' && holder !== identity;
    const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.observed.at + duration > Date.now()) {
      this.setLeader(false);
      return;
    }
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
      if (classifyApiError(causeOf(err)) === 'conflict') return; // someone else wrote first: try again next period
      throw err;
    }
    this.renewed();
  }

  private renewed(): void {
    this.lastRenewAt = Date.now();
    this.setLeader(true);
  }

  private async release(): Promise<void> {
    const { leaseName: name, namespace, identity } = this.deps.options;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          metadata: { name, namespace, ...(lease.metadata?.resourceVersion === undefined ? {} : { resourceVersion: lease.metadata.resourceVersion }) },
          spec: { holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()), leaseTransitions: lease.spec.leaseTransitions ?? 0 },
        },
      });
    } catch (err) {
      this.log.warn('Failed to release the leader Lease', { [F.err]: apiErrorFields(err) });
    }
  }
}
