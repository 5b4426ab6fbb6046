import { ApiException, CustomObjectsApi, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { OwnerKindName } from '../config/index.js';
import {
  ownerChainRules,
  type OwnerChainRules,
  type OwnerKindReport,
  type OwnerKindRole,
  type OwnerKindState,
  type OwnerKindsView,
  type OwnerObjectInfo,
} from '../lifecycle/index.js';
import { kindKey, type Clock, type ObjectKind } from '../model/index.js';
import { F, OWNER_KIND_STATES, type KubeMetrics, type Logger, type OwnerKindMetrics } from '../observability/index.js';
import { Informer, customListPage, type InformerOptions } from './informers.js';
import { ACCEPT_METADATA_LIST, MetadataWatchConfig, checkAccess, describe, discoverKind, servedGroups, type DiscoveredKind } from './owner-discovery.js';
import { SCHEDULE_READERS, parseOwnerObject, type OwnerKindIdentity, type ScheduleReader } from './owner-objects.js';

/**
 * The configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds): found through
 * discovery, then watched with the supervised informer, metadata only (PartialObjectMetadata) —
 * except the schedule kinds whose spec Lethe reads (CronWorkflow, ScheduledSparkApplication),
 * which are watched whole.
 *
 * A kind that is not installed, or that Lethe may not list, is reported (one log line per change
 * of state, `lethe_owner_kind_state`, `reports()` for the status) and looked up again every
 * `rediscoverMs`: it starts by itself when its CRD appears or its permission is granted. It is
 * never part of the sync gate: `view()` tells the lifecycle which kinds it may decide about, so a
 * missing kind keeps only its own groups. A watched kind whose list answers 404 or 403 (CRD
 * deleted, permission withdrawn) goes back to being looked up.
 *
 * (About 380 lines: one state machine per kind — discovery, access check, watch, loss — whose
 * steps share the entries. Discovery calls are in owner-discovery.ts, parsing in owner-objects.ts,
 * reads of one object in owner-reads.ts.)
 */

export interface OwnerKindOptions {
  /** How often a kind that is not watched is looked up again (ms). */
  readonly rediscoverMs: number;
}

export const defaultOwnerKindOptions: OwnerKindOptions = { rediscoverMs: 30_000 };

export interface OwnerKindsDeps {
  readonly clock: Clock;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly ownerMetrics: OwnerKindMetrics;
  readonly informerOptions: InformerOptions;
  readonly options: OwnerKindOptions;
  readonly runKinds: readonly OwnerKindName[];
  readonly scheduleKinds: readonly OwnerKindName[];
}

/** See OwnerKinds.readTarget. */
export interface ReadTarget {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly identity: OwnerKindIdentity;
  /** Set when Lethe reads the schedule from the whole object (else: metadata only). */
  readonly reader?: ScheduleReader;
}

interface Entry {
  readonly name: OwnerKindName;
  readonly role: OwnerKindRole;
  readonly reader: ScheduleReader | undefined;
  state: OwnerKindState;
  since: number;
  message: string | undefined;
  discovered: DiscoveredKind | undefined;
  informer: Informer<OwnerObjectInfo> | undefined;
  unsubscribe: (() => void) | undefined;
  /** Set by the informer's list when the kind went away (404) or became forbidden (403). */
  lost: { state: 'absent' | 'forbidden'; message: string } | undefined;
}

export class OwnerKinds {
  private readonly entries: Entry[];
  private readonly custom: CustomObjectsApi;
  private readonly metadataConfig: KubeConfig;
  private readonly listeners = new Set<() => void>();
  private readonly objectListeners = new Set<(type: 'upsert' | 'delete', object: OwnerObjectInfo) => void>();
  /** Objects whose schedule cannot be read, by UID, with why (said once per change). */
  private readonly scheduleErrors = new Map<string, string>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(private readonly deps: OwnerKindsDeps) {
    this.custom = deps.kubeConfig.makeApiClient(CustomObjectsApi);
    this.metadataConfig = new MetadataWatchConfig(deps.kubeConfig);
    this.log = deps.logger.child({ [F.component]: 'kube' });
    const entry = (name: OwnerKindName, role: OwnerKindRole): Entry => ({
      name,
      role,
      reader: role === 'schedule' ? SCHEDULE_READERS[name.name] : undefined,
      state: 'discovering',
      since: this.deps.clock.now(),
      message: undefined,
      discovered: undefined,
      informer: undefined,
      unsubscribe: undefined,
      lost: undefined,
    });
    this.entries = [...deps.runKinds.map((n) => entry(n, 'run')), ...deps.scheduleKinds.map((n) => entry(n, 'schedule'))];
    for (const e of this.entries) this.recordState(e);
  }

  /** Looks every kind up now, and the ones not watched again every `rediscoverMs`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lookAgain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
    await Promise.all(this.entries.map((e) => this.stopInformer(e)));
  }

  /** Calls `listener` when an object or a kind's state changed. Returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with each object a watch delivered (`upsert`), and each whose deletion it saw
   * or that a relist no longer found (`delete`: to remember a deleted run's policy, say). Never
   * called with `delete` for the objects of a kind that stops being watched (CRD removed,
   * permission withdrawn): they are not known to be gone.
   */
  onObject(listener: (type: 'upsert' | 'delete', object: OwnerObjectInfo) => void): () => void {
    this.objectListeners.add(listener);
    return () => this.objectListeners.delete(listener);
  }

  /**
   * What the lifecycle needs of the configured kinds: which kinds are runs and schedules, which
   * can be decided about now, and why the others cannot.
   */
  view(): OwnerKindsView {
    const readable = new Set<string>();
    const notes = new Map<string, string>();
    for (const e of this.entries) {
      const key = e.discovered === undefined ? e.name.name : kindKey({ group: e.name.group, kind: e.discovered.kind });
      // Watched, listed, and its watch works: decisions about its objects can be made.
      if (e.state === 'watching' && e.informer?.synced === true && e.informer.healthy) readable.add(key);
      else notes.set(key, `${e.name.name} is ${e.state === 'watching' ? 'not synced or not healthy' : e.state}${e.message === undefined ? '' : ` (${e.message})`}`);
    }
    return { rules: this.rules(), readable, notes };
  }

  /** `argoproj.io/v1alpha1` for a configured kind discovery found; undefined for any other. */
  apiVersionOf(kind: ObjectKind): string | undefined {
    const e = this.entryFor(kind.group, kind.kind);
    return e?.discovered === undefined ? undefined : `${e.name.group}/${e.discovered.version}`;
  }

  /** One report per configured kind, in the configured order (runs first). */
  reports(): OwnerKindReport[] {
    return this.entries.map((e) => ({
      name: e.name.name,
      role: e.role,
      state: e.state,
      since: e.since,
      ...(e.message === undefined ? {} : { message: e.message }),
      group: e.name.group,
      ...(e.discovered === undefined ? {} : { kind: e.discovered.kind, version: e.discovered.version, namespaced: e.discovered.namespaced }),
      readsSchedule: e.reader !== undefined,
      synced: e.informer?.synced === true,
      healthy: e.informer?.healthy === true,
      objects: e.informer?.size ?? 0,
    }));
  }

  /** The rules for resolveOwnerChain: Jobs and CronJobs plus every configured kind discovered so far. */
  rules(maxDepth?: number): OwnerChainRules {
    const keys = (role: OwnerKindRole) =>
      this.entries.filter((e) => e.role === role && e.discovered !== undefined).map((e) => ({ group: e.name.group, kind: e.discovered?.kind ?? '' }));
    return ownerChainRules(keys('run'), keys('schedule'), maxDepth);
  }

  /** An object of any configured kind, by UID. */
  lookup(uid: string): OwnerObjectInfo | undefined {
    for (const e of this.entries) {
      const found = e.informer?.get(uid);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Every cached object of every configured kind. */
  *objects(): IterableIterator<OwnerObjectInfo> {
    for (const e of this.entries) if (e.informer !== undefined) yield* e.informer.values();
  }

  /**
   * How to read one object of a configured kind that is watched now (undefined otherwise): its
   * resource, version, scope and Kind, and the schedule reader when Lethe reads its spec.
   */
  readTarget(kind: ObjectKind): ReadTarget | undefined {
    const e = this.entryFor(kind.group, kind.kind);
    const discovered = e?.discovered;
    if (e === undefined || discovered === undefined || e.state !== 'watching') return undefined;
    return {
      group: e.name.group,
      version: discovered.version,
      plural: e.name.resource,
      namespaced: discovered.namespaced,
      identity: { group: e.name.group, kind: discovered.kind, name: e.name.name },
      ...(e.reader === undefined ? {} : { reader: e.reader }),
    };
  }

  private entryFor(group: string, kind: string): Entry | undefined {
    return this.entries.find((e) => e.discovered !== undefined && e.name.group === group && e.discovered.kind === kind);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Runs a lookup round now (or right after the current one), then every rediscoverMs while any kind is not watched. */
  private lookAgain(): void {
    if (this.stopped) return;
    if (this.round !== undefined) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.round = this.lookUpAll().finally(() => {
      this.round = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.lookAgain();
      } else if (this.entries.some((e) => e.state !== 'watching')) {
        this.timer = setTimeout(() => this.lookAgain(), this.deps.options.rediscoverMs);
      }
    });
  }

  private async lookUpAll(): Promise<void> {
    for (const e of this.entries) {
      if (e.lost !== undefined) {
        const lost = e.lost;
        e.lost = undefined;
        await this.stopInformer(e);
        this.setState(e, lost.state, lost.message);
      }
    }
    const pending = this.entries.filter((e) => e.state !== 'watching');
    if (pending.length === 0) return;
    let groups;
    try {
      groups = await servedGroups(this.deps.kubeConfig);
    } catch (err) {
      for (const e of pending) this.setState(e, 'unknown', `discovery failed: ${describe(err)}`);
      return;
    }
    for (const e of pending) {
      if (this.stopped) return;
      const found = await discoverKind(this.deps.kubeConfig, e.name, groups);
      if (found.outcome !== 'found') {
        this.setState(e, found.outcome, found.message);
        continue;
      }
      e.discovered = { version: found.version, kind: found.kind, namespaced: found.namespaced };
      const { access, message } = await checkAccess(this.deps.kubeConfig, e.name, found.version);
      if (access !== 'readable') {
        this.setState(e, access, message);
        continue;
      }
      if (this.stopped) return;
      this.startInformer(e, e.discovered);
      this.setState(e, 'watching', undefined);
    }
  }

  private startInformer(e: Entry, discovered: DiscoveredKind): void {
    const { group, resource, name } = e.name;
    const version = discovered.version;
    const identity = { group, kind: discovered.kind, name };
    const reader = e.reader;
    const accept = reader === undefined ? setHeaderOptions('Accept', ACCEPT_METADATA_LIST) : undefined;
    const informer = new Informer<OwnerObjectInfo>(
      { clock: this.deps.clock, kubeConfig: reader === undefined ? this.metadataConfig : this.deps.kubeConfig, logger: this.deps.logger, metrics: this.deps.metrics, options: this.deps.informerOptions },
      {
        kind: name,
        resource: name,
        path: `/apis/${group}/${version}/${resource}`,
        list: async (token, limit) => {
          try {
            return customListPage(await this.custom.listClusterCustomObject({ group, version, plural: resource, limit, ...(token === undefined ? {} : { _continue: token }) }, accept));
          } catch (err) {
            this.noticeLoss(e, informer, err);
            throw err;
          }
        },
        parse: (raw) => parseOwnerObject(raw, identity, reader),
        uidOf: (o) => o.uid,
      },
    );
    e.informer = informer;
    e.unsubscribe = informer.onEvent((event) => {
      if (event.type !== 'state') {
        this.noticeSchedule(event.type, event.object);
        for (const listener of this.objectListeners) listener(event.type, event.object);
      }
      this.changed();
    });
    informer.start();
  }

  /** Says once per change that a schedule object's schedule cannot be read (so Lethe cannot tell when its runs are due). */
  private noticeSchedule(type: 'upsert' | 'delete', o: OwnerObjectInfo): void {
    const before = this.scheduleErrors.get(o.uid);
    const now = type === 'upsert' ? o.scheduleError : undefined;
    if (before === now) return;
    const fields = { [F.kind]: o.kind, [F.namespace]: o.namespace, name: o.name };
    if (now === undefined) {
      this.scheduleErrors.delete(o.uid);
      if (type === 'upsert') this.log.info('Found readable schedule again', fields);
      return;
    }
    this.scheduleErrors.set(o.uid, now);
    this.log.warn('Found unreadable schedule', { ...fields, [F.reason]: now, effect: 'its runs are never overdue until it is fixed' });
  }

  /** A list that answers 404 or 403 means the kind went away or became forbidden: look it up again. */
  private noticeLoss(e: Entry, informer: Informer<OwnerObjectInfo>, err: unknown): void {
    if (e.informer !== informer || !(err instanceof ApiException)) return;
    if (err.code !== 404 && err.code !== 403) return;
    e.lost = {
      state: err.code === 404 ? 'absent' : 'forbidden',
      message: err.code === 404 ? `listing ${e.name.name} answered 404 (its CustomResourceDefinition was removed?)` : `listing ${e.name.name} is forbidden (grant get, list and watch on it)`,
    };
    this.lookAgain();
  }

  private async stopInformer(e: Entry): Promise<void> {
    const informer = e.informer;
    if (informer === undefined) return;
    e.informer = undefined;
    e.unsubscribe?.();
    e.unsubscribe = undefined;
    await informer.stop();
    // Not an unhealthy watch but a kind that is not watched: its state says so.
    for (const gauge of [this.deps.metrics.informerSynced, this.deps.metrics.informerHealthy, this.deps.metrics.informerLastEvent]) {
      gauge.remove({ kind: e.name.name });
    }
    this.changed();
  }

  private setState(e: Entry, state: OwnerKindState, message: string | undefined): void {
    if (e.state === state && e.message === message) return;
    const previous = e.state;
    e.state = state;
    e.message = message;
    e.since = this.deps.clock.now();
    this.recordState(e);
    const fields = { [F.kind]: e.name.name, role: e.role, state, ...(message === undefined ? {} : { [F.reason]: message }) };
    if (state === 'watching') {
      this.log.info('Watching owner kind', { ...fields, version: e.discovered?.version, ownerKind: e.discovered?.kind, metadataOnly: e.reader === undefined });
    } else if (previous !== state) {
      // A kind that is not watched keeps its groups: say so once per change, loudly.
      this.log.warn(state === 'absent' ? 'Owner kind not installed' : state === 'forbidden' ? 'Owner kind not readable' : 'Owner kind not discovered', fields);
    }
    this.changed();
  }

  private recordState(e: Entry): void {
    for (const s of OWNER_KIND_STATES) this.deps.ownerMetrics.state.set({ resource: e.name.name, role: e.role, state: s }, s === e.state ? 1 : 0);
  }
}
