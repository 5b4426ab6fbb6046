import { BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type {
  ChainObject,
  ClusterSnapshot,
  ClusterView,
  CronJobInfo,
  JobInfo,
  MetricsGroupInfo,
  NamespaceInfo,
  OwnerAnnotations,
  Presence,
  Tombstone,
  ViewGates,
} from '../lifecycle/index.js';
import { CRONJOB, JOB, METRICSGROUP, POD, type Clock, type ObjectKind, type OwnerRef } from '../model/index.js';
import type { KubeMetrics, Logger } from '../observability/index.js';
import { Informer, customListPage, type Forbidden, type InformerOptions, type InformerSpec, type ListPage } from './informers.js';
import { METRICS_GROUP, parseMetricsGroup, type MetricsGroupObject } from './metrics-group.js';
import { parseCronJob, parseJob, parseNamespace, parsePod, type CachedPod } from './objects.js';
import type { OwnerKinds } from './owner-kinds.js';
import { OwnerReads, type ReadOwner } from './owner-reads.js';
import type { PolicyWarnings } from './policy-warnings.js';

/**
 * The cluster as Lethe knows it: one supervised informer per kind (Namespaces, Jobs, CronJobs,
 * Pods, MetricsGroups) plus the configured owner kinds, indexes for attribution (pods by IP, by
 * UID), tombstones of deleted owners (for their policy), and live look-ups that confirm an owner
 * is really gone.
 *
 * (About 310 lines: the informers' wiring and the snapshot built from them; the indexes are
 * the snapshot's and would only be split from it by an interface the size of the file.)
 */

export interface ClusterViewDeps {
  readonly clock: Clock;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly informerOptions: InformerOptions;
  /** How long a deleted owner's policy is remembered (ms). */
  readonly tombstoneTtlMs: number;
  /** Told of every owner (a Job, CronJob, MetricsGroup, pod, or object of a configured kind) whose policy cannot be read (and when it can again). */
  readonly policyWarnings?: PolicyWarnings;
  /** The configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds): their objects are part of the snapshot. */
  readonly ownerKinds: OwnerKinds;
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
  readonly pods: Informer<CachedPod>;
  readonly metricsGroups: Informer<MetricsGroupObject>;
  private readonly informers: readonly Informer<unknown>[];
  private readonly podsByIp = new Map<string, Set<string>>();
  private readonly ipsOfPod = new Map<string, readonly string[]>();
  private readonly tombstones = new Map<string, Tombstone & { readonly expiresAt: number }>();
  private readonly listeners = new Set<() => void>();
  private cached: ClusterSnapshot | undefined;
  /** The namespaces by name; renewed only by namespace events (Job and pod changes do not touch it). */
  private namespacesByName: ReadonlyMap<string, NamespaceInfo> | undefined;
  /** Live reads of one owner (chains the caches lack; confirming an owner is gone). */
  readonly reads: OwnerReads;

  constructor(private readonly deps: ClusterViewDeps) {
    const kc = deps.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    this.reads = new OwnerReads(kc, deps.logger, deps.ownerKinds);
    const informerDeps = { clock: deps.clock, kubeConfig: kc, logger: deps.logger, metrics: deps.metrics, options: deps.informerOptions };
    const make = <T>(spec: InformerSpec<T>): Informer<T> => new Informer(informerDeps, spec);
    this.namespaces = make({
      kind: 'Namespace',
      path: '/api/v1/namespaces',
      resource: 'namespaces',
      list: async (t, limit) => page(await core.listNamespace({ limit, ...cont(t) })),
      parse: parseNamespace,
      uidOf: (n) => n.uid,
    });
    this.jobs = make({
      kind: 'Job',
      path: '/apis/batch/v1/jobs',
      resource: 'jobs.batch',
      list: async (t, limit) => page(await batch.listJobForAllNamespaces({ limit, ...cont(t) })),
      parse: parseJob,
      uidOf: (j) => j.uid,
    });
    this.cronJobs = make({
      kind: 'CronJob',
      path: '/apis/batch/v1/cronjobs',
      resource: 'cronjobs.batch',
      list: async (t, limit) => page(await batch.listCronJobForAllNamespaces({ limit, ...cont(t) })),
      parse: parseCronJob,
      uidOf: (c) => c.uid,
    });
    this.pods = make({
      kind: 'Pod',
      path: '/api/v1/pods',
      resource: 'pods',
      list: async (t, limit) => page(await core.listPodForAllNamespaces({ limit, ...cont(t) })),
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
      list: async (t, limit) => customListPage(await custom.listClusterCustomObject({ group, version, plural, limit, ...cont(t) })),
      parse: parseMetricsGroup,
      uidOf: (m) => m.uid,
    });
    this.informers = [this.namespaces, this.jobs, this.cronJobs, this.pods, this.metricsGroups] as readonly Informer<unknown>[];

    this.pods.onEvent((e) => {
      // Pods are read from the cache, so nothing is rebuilt; but a gate may have opened or closed.
      if (e.type === 'state') {
        this.notify();
        return;
      }
      this.indexPod(e.object, e.type === 'upsert');
      if (e.object.invalid !== undefined || e.type === 'delete') this.policyOf(POD, e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      // A pod no controller owns is its own run: its deletion may delete groups. (The snapshot
      // reads pods from the cache, so nothing is rebuilt.)
      if (e.type === 'delete' && !e.object.ownerReferences.some((r) => r.controller)) this.notify();
    });
    this.jobs.onEvent((e) => {
      if (e.type === 'state') {
        this.changed();
        return;
      }
      this.policyOf(JOB, e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      if (e.type === 'delete') this.bury(JOB, e.object);
      this.changed();
    });
    this.cronJobs.onEvent((e) => {
      if (e.type === 'state') {
        this.changed();
        return;
      }
      this.policyOf(CRONJOB, e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      if (e.type === 'delete') this.bury(CRONJOB, e.object);
      this.changed();
    });
    this.metricsGroups.onEvent((e) => {
      if (e.type === 'state') {
        this.changed();
        return;
      }
      this.policyOf(METRICSGROUP, e.object, e.type === 'upsert' ? e.object.invalid : undefined, e.type === 'delete');
      if (e.type === 'delete') this.bury(METRICSGROUP, e.object);
      this.changed();
    });
    this.namespaces.onEvent(() => {
      this.namespacesByName = undefined;
      this.changed();
    });
    deps.ownerKinds.onObject((type, o) => {
      this.policyOf(o, o, type === 'upsert' ? o.invalid : undefined, type === 'delete');
      if (type === 'delete') this.bury(o, o);
    });
    deps.ownerKinds.onChange(() => this.changed());
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  private changed(): void {
    this.cached = undefined;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bury(kind: ObjectKind, last: { readonly namespace: string; readonly name: string; readonly uid: string } & OwnerAnnotations): void {
    const ref: OwnerRef = { group: kind.group, kind: kind.kind, namespace: last.namespace, name: last.name, uid: last.uid };
    this.tombstones.set(ref.uid, {
      ref,
      policy: last.policy,
      ...(last.invalid === undefined ? {} : { invalid: last.invalid }),
      expiresAt: this.deps.clock.now() + this.deps.tombstoneTtlMs,
    });
  }

  private policyOf(kind: ObjectKind, object: { uid: string; namespace: string; name: string }, invalid: string | undefined, gone: boolean): void {
    const warnings = this.deps.policyWarnings;
    if (warnings === undefined) return;
    const apiVersion = this.deps.ownerKinds.apiVersionOf(kind);
    const subject = { group: kind.group, kind: kind.kind, namespace: object.namespace, name: object.name, uid: object.uid, ...(apiVersion === undefined ? {} : { apiVersion }) };
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

  private indexPod(pod: CachedPod, present: boolean): void {
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
  podsWithIp(ip: string): CachedPod[] {
    const uids = this.podsByIp.get(ip);
    if (uids === undefined) return [];
    const pods: CachedPod[] = [];
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

  private byName(): ReadonlyMap<string, NamespaceInfo> {
    if (this.namespacesByName === undefined) {
      const byName = new Map<string, NamespaceInfo>();
      for (const ns of this.namespaces.values()) byName.set(ns.name, ns);
      this.namespacesByName = byName;
    }
    return this.namespacesByName;
  }

  /**
   * The UID of the namespace of this name, for a push's attribution: not from the snapshot,
   * which every Job or pod change makes anew.
   */
  namespaceUid(name: string): string | undefined {
    return this.byName().get(name)?.uid;
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
    this.cached = {
      namespaces: this.byName(),
      jobs: byUid(this.jobs.values()),
      cronJobs: byUid(this.cronJobs.values()),
      metricsGroups: byUid<MetricsGroupInfo>(this.metricsGroups.values()),
      tombstones: new Map(this.tombstones),
      // Read from the cache itself: pods change too often to copy them for every change.
      pods: { get: (uid) => this.pods.get(uid), has: (uid) => this.pods.get(uid) !== undefined },
      owners: byUid(this.deps.ownerKinds.objects()),
      ownerKinds: this.deps.ownerKinds.view(),
    };
    return this.cached;
  }

  /**
   * An object a pushing pod's chain can walk through, from the caches: an object of a configured
   * kind, a Job, a pod, a CronJob.
   */
  lookupOwner(uid: string): ReadOwner | undefined {
    const found = this.deps.ownerKinds.lookup(uid) ?? this.jobs.get(uid) ?? this.pods.get(uid);
    if (found !== undefined) return found;
    const cj = this.cronJobs.get(uid);
    const asObject: ChainObject | undefined = cj === undefined ? undefined : { ...CRONJOB, uid: cj.uid, namespace: cj.namespace, name: cj.name, ownerReferences: [] };
    return asObject;
  }

  /** The MetricsGroup objects (with their current status), for the status writer. */
  metricsGroupObject(uid: string): MetricsGroupObject | undefined {
    return this.metricsGroups.get(uid);
  }

  confirmAbsent(owner: OwnerRef): Promise<Presence> {
    return this.reads.confirmAbsent(owner);
  }
}
