import { ApiException, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../model/index.js';
import { F, errorFields, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields } from './client.js';

/**
 * A supervised list+watch of one kind, keyed by UID. Unlike client-node's informer, which stops
 * for good on any watch error (TESTING.md §5.3–5.4), it relists with jittered exponential backoff
 * after every failure, aborts watches that go quiet (half-dead connections), and says whether it
 * has synced (listed at least once) and is healthy (its last list and watch work). Objects are
 * kept in a parsed, slim form: only what Lethe needs.
 *
 * (About 440 lines: one state machine — paged list, watch, backoff, quiet-watch abort, a kind not
 * served, a forbidden call — whose steps share the cache and the state they report.)
 */

export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

/**
 * One page of a custom resource list as CustomObjectsApi returns it (an untyped body): its items,
 * resource version and continue token (an empty token means the last page).
 */
export function customListPage(body: unknown): ListPage {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } };
  return {
    items: Array.isArray(b.items) ? (b.items as unknown[]) : [],
    resourceVersion: typeof b.metadata?.resourceVersion === 'string' ? b.metadata.resourceVersion : '',
    continueToken: typeof b.metadata?.continue === 'string' && b.metadata.continue !== '' ? b.metadata.continue : undefined,
  };
}

export interface InformerSpec<T> {
  /** Kind name for logs and metric labels (`Job`, `Pod`, ...). */
  readonly kind: string;
  /** Watch path, e.g. `/apis/batch/v1/jobs`. */
  readonly path: string;
  /** The resource as RBAC and kubectl name it (`pods`, `jobs.batch`, `metricsgroups.lethe.dev`), for messages. */
  readonly resource: string;
  /**
   * Set for a kind the API server may not serve (a CRD that is not installed). A 404 on its list
   * then means "none of them": the informer counts as synced with no objects, says so once, and
   * lists again every `missingPollMs` until the kind appears.
   */
  readonly optional?: { readonly what: string; readonly hint: string };
  /** One page of the list. */
  readonly list: (continueToken: string | undefined, limit: number) => Promise<ListPage>;
  /** Raw object → slim object; undefined drops it (unusable metadata). */
  readonly parse: (raw: unknown) => T | undefined;
  readonly uidOf: (object: T) => string;
}

export interface InformerOptions {
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly pageSize: number;
  /** How often a kind the API server does not serve (spec.optional) is looked for again (ms; default 30 s). */
  readonly missingPollMs?: number;
}

export const defaultInformerOptions: InformerOptions = {
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  pageSize: 500,
  missingPollMs: 30_000,
};

/** A call the API server refused (RBAC): what Lethe needs and is not allowed. */
export interface Forbidden {
  readonly verb: string;
  readonly resource: string;
  /** The namespace of the call; `*` for all namespaces. */
  readonly namespace: string;
  readonly message: string;
}

export interface InformerDeps {
  readonly clock: Clock;
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly options: InformerOptions;
}

export type InformerEvent<T> =
  | { readonly type: 'upsert'; readonly object: T }
  | { readonly type: 'delete'; readonly object: T }
  /** Synced or health changed. */
  | { readonly type: 'state' };

type WatchOutcome = 'closed' | 'relist' | 'failed';

interface WatchStatusObject {
  readonly code?: number;
  readonly message?: string;
}

function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  return typeof e.code === 'number' ? e.code : undefined;
}

const forbiddenLabels = (f: Forbidden): { verb: string; resource: string; resource_namespace: string } => ({
  verb: f.verb,
  resource: f.resource,
  resource_namespace: f.namespace,
});

/** The API server's reason for a 403 (its Status message; never an ApiException's message, which carries headers). */
function messageOf403(err: unknown): string {
  const message = err instanceof ApiException ? apiErrorFields(err)['message'] : (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message !== '' ? message : 'forbidden';
}

export class Informer<T> {
  private objects = new Map<string, T>();
  private synced_ = false;
  private healthy_ = false;
  private missing_ = false;
  private forbidden_: Forbidden | undefined;
  private stopped = true;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly listeners = new Set<(event: InformerEvent<T>) => void>();
  private readonly log: Logger;

  constructor(
    private readonly deps: InformerDeps,
    readonly spec: InformerSpec<T>,
  ) {
    this.log = deps.logger.child({ [F.component]: 'kube', [F.kind]: spec.kind });
    deps.metrics.informerSynced.set({ kind: spec.kind }, 0);
    deps.metrics.informerHealthy.set({ kind: spec.kind }, 0);
    if (spec.optional !== undefined) deps.metrics.informerMissing.set({ kind: spec.kind }, 0);
  }

  get kind(): string {
    return this.spec.kind;
  }

  /** Listed at least once since start. */
  get synced(): boolean {
    return this.synced_;
  }

  /** The last list succeeded and the watch has not failed since. */
  get healthy(): boolean {
    return this.healthy_;
  }

  /** The API server does not serve this kind (an optional kind whose CRD is not installed). */
  get missing(): boolean {
    return this.missing_;
  }

  /** The list or watch the API server refuses now (RBAC), if it does. */
  get forbidden(): Forbidden | undefined {
    return this.forbidden_;
  }

  get size(): number {
    return this.objects.size;
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  get(uid: string): T | undefined {
    return this.objects.get(uid);
  }

  onEvent(listener: (event: InformerEvent<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.running;
    this.setState(this.synced_, false);
  }

  private emit(event: InformerEvent<T>): void {
    for (const listener of this.listeners) listener(event);
  }

  private setState(synced: boolean, healthy: boolean): void {
    const kind = this.spec.kind;
    if (synced === this.synced_ && healthy === this.healthy_) return;
    if (healthy !== this.healthy_) {
      if (healthy) this.log.info('Informer synced', { resources: this.objects.size });
      else if (!this.stopped) this.log.info('Informer unhealthy');
    }
    this.synced_ = synced;
    this.healthy_ = healthy;
    this.deps.metrics.informerSynced.set({ kind }, synced ? 1 : 0);
    this.deps.metrics.informerHealthy.set({ kind }, healthy ? 1 : 0);
    this.emit({ type: 'state' });
  }

  private touched(): void {
    this.deps.metrics.informerLastEvent.set({ kind: this.spec.kind }, this.deps.clock.now() / 1000);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let resourceVersion: string;
      try {
        resourceVersion = await this.relist();
      } catch (err) {
        if (this.spec.optional !== undefined && statusCodeOf(err) === 404) {
          // Not served (the CRD is not installed): that is complete knowledge — there are none.
          this.allowed('list');
          this.setMissing(true);
          failures = 0;
          await this.sleep(this.deps.options.missingPollMs ?? 30_000);
          continue;
        }
        failures++;
        this.setState(this.synced_, false);
        this.deps.metrics.informerRestarts.inc({ kind: this.spec.kind });
        if (!this.refused('list', err)) this.log.warn('Failed to list resources', { [F.err]: errorFields(err), failures });
        await this.sleep(this.backoff(failures));
        continue;
      }
      this.setMissing(false);
      this.allowed('list');
      this.setState(true, true);
      let outcome: WatchOutcome = 'closed';
      while (!this.stopped && outcome === 'closed') {
        const began = this.deps.clock.now();
        const result = await this.watchOnce(resourceVersion);
        outcome = result.outcome;
        resourceVersion = result.resourceVersion;
        if (result.sawEvent) {
          failures = 0;
          this.allowed('watch');
        }
        // A watch that ends at once with nothing in it is a failure, not a timeout: never spin.
        else if (outcome === 'closed' && this.deps.clock.now() - began < 1000) outcome = 'failed';
      }
      if (this.stopped) break;
      this.setState(true, false);
      if (outcome === 'failed') {
        failures++;
        this.deps.metrics.informerRestarts.inc({ kind: this.spec.kind });
        await this.sleep(this.backoff(failures));
      }
    }
  }

  /**
   * A 403: logs at error once (naming the verb, the resource and the namespace) while it lasts,
   * and shows it in `forbidden` (readiness, /api/v1/status, lethe_kube_forbidden). False for
   * any other error.
   */
  private refused(verb: 'list' | 'watch', err: unknown): boolean {
    if (statusCodeOf(err) !== 403) return false;
    const message = messageOf403(err);
    const before = this.forbidden_;
    if (before?.verb === verb) return true;
    if (before !== undefined) this.deps.metrics.forbidden.remove(forbiddenLabels(before));
    const forbidden: Forbidden = { verb, resource: this.spec.resource, namespace: '*', message };
    this.forbidden_ = forbidden;
    this.deps.metrics.forbidden.set(forbiddenLabels(forbidden), 1);
    this.log.error('Forbidden to access resource', {
      [F.verb]: verb,
      [F.resource]: this.spec.resource,
      [F.namespace]: '*',
      hint: `grant ${verb} on ${this.spec.resource} in all namespaces to Lethe's ServiceAccount (the chart's ClusterRole has it); deletions wait until then`,
      [F.err]: { code: 403, message },
    });
    return true;
  }

  /** A call of this verb worked: a refusal of it is over. */
  private allowed(verb: 'list' | 'watch'): void {
    const before = this.forbidden_;
    if (before?.verb !== verb) return;
    this.forbidden_ = undefined;
    this.deps.metrics.forbidden.remove(forbiddenLabels(before));
    this.log.info('Allowed to access resource', { [F.verb]: verb, [F.resource]: this.spec.resource, [F.namespace]: '*' });
  }

  private setMissing(missing: boolean): void {
    const optional = this.spec.optional;
    if (optional === undefined || missing === this.missing_) return;
    this.missing_ = missing;
    this.deps.metrics.informerMissing.set({ kind: this.spec.kind }, missing ? 1 : 0);
    if (missing) {
      this.log.warn(`Found no ${optional.what}`, { [F.resource]: this.spec.resource, hint: optional.hint });
      // None exist: objects cached before (a CRD deleted, which deletes its objects) are gone.
      const old = this.objects;
      this.objects = new Map();
      this.touched();
      for (const object of old.values()) this.emit({ type: 'delete', object });
      this.setState(true, true);
    } else {
      this.log.info(`Found ${optional.what}`, { [F.resource]: this.spec.resource });
    }
  }

  /** Full list: replaces the cache, reporting objects that vanished as deletions. */
  private async relist(): Promise<string> {
    const fresh = new Map<string, T>();
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.spec.list(token, this.deps.options.pageSize);
      for (const raw of page.items) {
        const object = this.spec.parse(raw);
        if (object !== undefined) fresh.set(this.spec.uidOf(object), object);
      }
      token = page.continueToken;
      if (resourceVersion === '') resourceVersion = page.resourceVersion;
    } while (token !== undefined && token !== '' && !this.stopped);
    const old = this.objects;
    this.objects = fresh;
    this.touched();
    for (const [uid, object] of old) if (!fresh.has(uid)) this.emit({ type: 'delete', object });
    for (const object of fresh.values()) this.emit({ type: 'upsert', object });
    return resourceVersion;
  }

  /** One watch request, until it ends. */
  private watchOnce(resourceVersion: string): Promise<{ outcome: WatchOutcome; resourceVersion: string; sawEvent: boolean }> {
    let rv = resourceVersion;
    let sawEvent = false;
    let relist = false;
    let streamError: WatchStatusObject | undefined;
    // client-node aborts a watch that receives nothing for 30 s (TimeoutError); bookmarks
    // (about once a minute) do not always come sooner, so a quiet kind re-watches from its
    // resource version every 30 s: cheap, and a half-dead connection is noticed as fast.
    const watch = new Watch(this.deps.kubeConfig);
    // Server-side timeout, randomised as client-go does, so watches of all kinds do not restart together.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    return new Promise((resolve) => {
      const onEvent = (phase: string, object: unknown): void => {
        sawEvent = true;
        this.touched();
        const metaRv = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
        switch (phase) {
          case 'ADDED':
          case 'MODIFIED':
          case 'DELETED': {
            const parsed = this.spec.parse(object);
            if (parsed !== undefined) {
              const uid = this.spec.uidOf(parsed);
              if (phase === 'DELETED') {
                this.objects.delete(uid);
                this.emit({ type: 'delete', object: parsed });
              } else {
                this.objects.set(uid, parsed);
                this.emit({ type: 'upsert', object: parsed });
              }
            }
            break;
          }
          case 'BOOKMARK':
            break;
          case 'ERROR': {
            const status = object as WatchStatusObject;
            if (status.code === 410) relist = true;
            else streamError = status;
            return;
          }
          default:
            return;
        }
        if (typeof metaRv === 'string' && metaRv !== '') rv = metaRv;
      };
      let ended = false;
      const done = (err: unknown): void => {
        ended = true;
        this.abort = undefined;
        if (this.stopped) resolve({ outcome: 'closed', resourceVersion: rv, sawEvent });
        else if (relist || statusCodeOf(err) === 410) {
          this.log.info('Informer resource version expired');
          resolve({ outcome: 'relist', resourceVersion: rv, sawEvent });
        } else if (streamError !== undefined) {
          if (!this.refused('watch', streamError)) this.log.warn('Watch failed', { [F.err]: { message: streamError.message, code: streamError.code } });
          resolve({ outcome: 'failed', resourceVersion: rv, sawEvent });
        } else if (err === null || err === undefined || (err instanceof Error && err.name === 'TimeoutError')) {
          // The server ended the watch (its timeout), or it went quiet: watch again from where we were.
          resolve({ outcome: 'closed', resourceVersion: rv, sawEvent });
        } else {
          if (!this.refused('watch', err)) this.log.warn('Watch failed', { [F.err]: errorFields(err) });
          resolve({ outcome: 'failed', resourceVersion: rv, sawEvent });
        }
      };
      watch
        .watch(this.spec.path, { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds }, onEvent, done)
        .then(
          (controller) => {
            // Resolved before `done`: the API server answered 200, so the watch is allowed.
            if (!ended) this.allowed('watch');
            if (this.stopped) controller.abort();
            else if (!ended) this.abort = controller;
          },
          (err: unknown) => done(err),
        );
    });
  }

  private backoff(failures: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.deps.options;
    const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(failures - 1, 20));
    // Full jitter on half the delay.
    return exp / 2 + Math.random() * (exp / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
