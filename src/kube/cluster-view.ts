import { BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type {
  ClusterSnapshot,
  ClusterView,
  CronJobInfo,
  JobInfo,
  MetricsGroupInfo,
  NamespaceInfo,
  Presence,
  Tombstone,
  ViewGates,
} from '../lifecycle/index.js';
import type { Clock, OwnerRef } from '../model/index.js';
import { F, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields, classifyApiError } from './client.js';
import { Informer, customListPage, type Forbidden, type InformerOptions, type InformerSpec, type ListPage } from './informers.js';
import { METRICS_GROUP, parseMetricsGroup, type MetricsGroupObject } from './metrics-group.js';
import { parseCronJob, parseJob, parseNamespace, parsePod, type PodInfo } from './objects.js';
import type { PolicySubjectKind, PolicyWarnings } from './policy-warnings.js';

/**
 * The cluster as Lethe knows it: one supervised informer per kind (Namespaces, Jobs, CronJobs,
 * Pods, MetricsGroups), indexes for attribution (pods by IP, by UID), tombstones of deleted
 * owners (for their policy), and live look-ups that confirm an owner is really gone.
 */

export interface ClusterViewDeps {
  readonly clock: Clock;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly informerOptions: InformerOptions;
  /** How long a deleted owner's policy is remembered (ms). */
  readonly tombstoneTtlMs: number;
  /** Told of every Job, CronJob and MetricsGroup whose policy cannot be read (and when it can again). */
  readonly policyWarnings?: PolicyWarnings;
}

/** The MetricsGroup CRD, for the "not installed" warning. */
export const CRD_HINT = 'install it with `kubectl apply -f crds/` (or the Helm chart); until then Lethe counts no MetricsGroups and watches for the CRD';

function page(list: { items: readonly unknown[]; metadata?: { resourceVersion?: string; _continue?: string } }): ListPage {
  return {
    items: list.items,
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continueToken: list.metadata?._continue,
  };
}

const cont = (token: string | undefined): { _continue?: string } => (token === undefined ? {} : { _continue: token });

export class KubeClusterView implements ClusterView {
  readonly namespaces: Informer<NamespaceInfo>;
  readonly jobs: Informer<JobInfo>;
  readonly cronJobs: Informer<CronJobInfo>;
  readonly pods: Informer<PodInfo>;
  readonly metricsGroups: Informer<MetricsGroupObject>;
  private readonly informers: readonly Informer<unknown>[];
  private readonly podsByIp = new Map<string, Set<string>>();
  private readonly ipsOfPod = new Map<string, readonly string[]>();
  private readonly tombstones = new Map<string, Tombstone & { readonly expiresAt: number }>();
  private readonly listeners = new Set<() => void>();
  private cached: ClusterSnapshot | undefined;
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly log: Logger;

  constructor(private readonly deps: ClusterViewDeps) {
    const kc = deps.kubeConfig;
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.log = deps.logger.child({ [F.component]: 'kube' });
    const informerDeps = { clock: deps.clock, kubeConfig: kc, logger: deps.logger, metrics: deps.metrics, options: deps.informerOptions };
    const make = <T>(spec: InformerSpec<T>): Informer<T> => new Informer(informerDeps, spec);
    this.namespaces = make({
      kind: 'Namespace',
      path: '/api/v1/namespaces',
      resource: 'namespaces',
      list: async (t, limit) => page(await this.core.listNamespace({ limit, ...cont(t) })),
      parse: parseNamespace,
      uidOf: (n) => n.uid,
    });
    this.jobs = make({
      kind: 'Job',
      path: '/apis/batch/v1/jobs',
      resource: 'jobs.batch',
      list: async (t, limit) => page(await this.batch.listJobForAllNamespaces({ limit, ...cont(t) })),
      parse: parseJob,
      uidOf: (j) => j.uid,
    });
    this.cronJobs = make({
      kind: 'CronJob',
      path: '/apis/batch/v1/cronjobs',
      resource: 'cronjobs.batch',
      list: async (t, limit) => page(await this.batch.listCronJobForAllNamespaces({ limit, ...cont(t) })),
      parse: parseCronJob,
      uidOf: (c) => c.uid,
    });
    this.pods = make({
      kind: 'Pod',
      path: '/api/v1/pods',
      resource: 'pods',
      list: async (t, limit) => page(await this.core.listPodForAllNamespaces({ limit, ...cont(t) })),
      parse: parsePod,
      uidOf: (p) => p.uid,
    });
    const { group, version, plural } = METRICS_GROUP;
    this.metricsGroups = make({
      kind: 'MetricsGroup',
      path: `/apis/${group}/${version}/${plural}`,
      resource: `${plural}.${group}`,
      // Lethe works without the CRD (there are then no MetricsGroups) and picks it up once installed.
      optional: { what: 'MetricsGroup CRD', hint: CRD_HINT },
      list: async (t, limit) => customListPage(await this.custom.listClusterCustomObject({ group, version, plural, limit, ...cont(t) })),
      parse: parseMetricsGroup,
      uidOf: (m) => m.uid,
    });
    this.informers = [this.namespaces, this.jobs, this.cronJobs, this.pods, this.metricsGroups] as readonly Informer<unknown>[];

    this.pods.onEvent((e) => {
      if (e.type !== 'state') this.indexPod(e.object, e.type === 'upsert');
    });
    this.jobs.onEvent((e) => {
      if (e.type === 'state') {
        this.changed();
        return;
      }
      this.policyOf('Job', e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      if (e.type === 'delete') this.bury({ kind: 'Job', namespace: e.object.namespace, name: e.object.name, uid: e.object.uid }, e.object);
      this.changed();
    });
    this.cronJobs.onEvent((e) => {
      if (e.type === 'state') {
        this.changed();
        return;
      }
      this.policyOf('CronJob', e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      if (e.type === 'delete') this.bury({ kind: 'CronJob', namespace: e.object.namespace, name: e.object.name, uid: e.object.uid }, e.object);
      this.changed();
    });
    this.metricsGroups.onEvent((e) => {
      if (e.type === 'state') {
        this.changed();
        return;
      }
      this.policyOf('MetricsGroup', e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      if (e.type === 'delete') this.bury({ kind: 'MetricsGroup', namespace: e.object.namespace, name: e.object.name, uid: e.object.uid }, e.object);
      this.changed();
    });
    this.namespaces.onEvent(() => this.changed());
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  private changed(): void {
    this.cached = undefined;
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bury(ref: OwnerRef, last: { readonly policy: Tombstone['policy']; readonly invalid?: string }): void {
    this.tombstones.set(ref.uid, {
      ref,
      policy: last.policy,
      ...(last.invalid === undefined ? {} : { invalid: last.invalid }),
      expiresAt: this.deps.clock.now() + this.deps.tombstoneTtlMs,
    });
  }

  private policyOf(kind: PolicySubjectKind, object: { uid: string; namespace: string; name: string }, invalid: string | undefined, gone: boolean): void {
    const warnings = this.deps.policyWarnings;
    if (warnings === undefined) return;
    const subject = { kind, namespace: object.namespace, name: object.name, uid: object.uid };
    if (gone) warnings.forget(subject);
    else warnings.observe(subject, invalid);
  }

  /**
   * What needs a person now: a kind the API server does not serve (the MetricsGroup CRD), and
   * watches it forbids (RBAC).
   */
  problems(): { readonly missing: readonly string[]; readonly forbidden: readonly Forbidden[] } {
    const missing: string[] = [];
    const forbidden: Forbidden[] = [];
    for (const informer of this.informers) {
      if (informer.missing) missing.push(informer.kind);
      const refused = informer.forbidden;
      if (refused !== undefined) forbidden.push(refused);
    }
    return { missing, forbidden };
  }

  private indexPod(pod: PodInfo, present: boolean): void {
    for (const ip of this.ipsOfPod.get(pod.uid) ?? []) {
      const uids = this.podsByIp.get(ip);
      if (uids?.delete(pod.uid) === true && uids.size === 0) this.podsByIp.delete(ip);
    }
    this.ipsOfPod.delete(pod.uid);
    if (!present || pod.hostNetwork) return;
    this.ipsOfPod.set(pod.uid, pod.ips);
    for (const ip of pod.ips) {
      const uids = this.podsByIp.get(ip);
      if (uids === undefined) this.podsByIp.set(ip, new Set([pod.uid]));
      else uids.add(pod.uid);
    }
  }

  /** Pods (not host-network, not finished) that have this IP. */
  podsWithIp(ip: string): PodInfo[] {
    const uids = this.podsByIp.get(ip);
    if (uids === undefined) return [];
    const pods: PodInfo[] = [];
    for (const uid of uids) {
      const pod = this.pods.get(uid);
      if (pod !== undefined && !pod.finished) pods.push(pod);
    }
    return pods;
  }

  gates(): ViewGates {
    const problems: string[] = [];
    let synced = true;
    let healthy = true;
    for (const informer of this.informers) {
      const forbidden = informer.forbidden === undefined ? '' : ` (${informer.forbidden.verb} ${informer.forbidden.resource} is forbidden)`;
      if (!informer.synced) {
        synced = false;
        problems.push(`${informer.kind}: not synced${forbidden}`);
      } else if (!informer.healthy) {
        healthy = false;
        problems.push(`${informer.kind}: unhealthy${forbidden}`);
      }
    }
    return { synced, healthy: healthy && synced, problems };
  }

  snapshot(): ClusterSnapshot {
    const now = this.deps.clock.now();
    for (const [uid, t] of this.tombstones) if (t.expiresAt < now) this.tombstones.delete(uid);
    if (this.cached !== undefined) return this.cached;
    const byUid = <T extends { uid: string }>(items: Iterable<T>): Map<string, T> => {
      const map = new Map<string, T>();
      for (const item of items) map.set(item.uid, item);
      return map;
    };
    const namespaces = new Map<string, NamespaceInfo>();
    for (const ns of this.namespaces.values()) namespaces.set(ns.name, ns);
    this.cached = {
      namespaces,
      jobs: byUid(this.jobs.values()),
      cronJobs: byUid(this.cronJobs.values()),
      metricsGroups: byUid<MetricsGroupInfo>(this.metricsGroups.values()),
      tombstones: new Map(this.tombstones),
    };
    return this.cached;
  }

  /** The MetricsGroup objects (with their current status), for the status writer. */
  metricsGroupObject(uid: string): MetricsGroupObject | undefined {
    return this.metricsGroups.get(uid);
  }

  async confirmAbsent(owner: OwnerRef): Promise<Presence> {
    const { namespace, name, uid } = owner;
    try {
      let found: { metadata?: { uid?: string; deletionTimestamp?: Date | string } } | undefined;
      switch (owner.kind) {
        case 'Namespace':
          found = await this.core.readNamespace({ name });
          break;
        case 'Job':
          found = await this.batch.readNamespacedJob({ name, namespace });
          break;
        case 'CronJob':
          found = await this.batch.readNamespacedCronJob({ name, namespace });
          break;
        case 'MetricsGroup': {
          const { group, version, plural } = METRICS_GROUP;
          found = (await this.custom.getNamespacedCustomObject({ group, version, plural, namespace, name })) as typeof found;
          break;
        }
        default: {
          const never: never = owner.kind;
          return never;
        }
      }
      if (uid !== '' && found?.metadata?.uid !== uid) return 'absent';
      if (owner.kind === 'Namespace' && found?.metadata?.deletionTimestamp !== undefined) return 'absent';
      return 'present';
    } catch (err) {
      if (classifyApiError(err) === 'absent') return 'absent';
      this.log.warn('Failed to confirm that an owner is gone', { [F.owner]: owner, [F.err]: apiErrorFields(err) });
      return 'unknown';
    }
  }
}
