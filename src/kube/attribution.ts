import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, UnauthorizedError } from '../errors.js';
import { staticUser, type Attributor, type PushOrigin } from '../gateway/index.js';
import { DEFAULT_MAX_DEPTH, resolveOwnerChain, type ChainLink } from '../lifecycle/index.js';
import { unattributed, type Attribution, type ObjectRef } from '../model/index.js';
import { F, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields, classifyApiError } from './client.js';
import type { KubeClusterView } from './cluster-view.js';
import { parsePod, type CachedPod } from './objects.js';
import type { OwnerKinds } from './owner-kinds.js';
import type { ReadOwner } from './owner-reads.js';
import type { Reviewed, TokenReviewer } from './token-review.js';

/**
 * Attributes a push to a namespace and pod (DESIGN.md "Attribution"): by the ServiceAccount
 * bearer token (a TokenReview, which also names the pod), else by the connection's source IP
 * matched against Pod IPs. The pod's run and schedule (its controller chain: Job, CronJob,
 * Workflow, …) are recorded with it, so the owner is known even after the pod is gone. With authentication on, attribution follows the
 * authenticated principal instead: its namespace, and the pod its token is bound to; never an IP.
 */

export interface AttributorDeps {
  readonly kubeConfig: KubeConfig;
  readonly view: KubeClusterView;
  /** The configured owner kinds: a pushing pod's chain is walked through them. */
  readonly ownerKinds: OwnerKinds;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  /** Shared with the authenticator, so that a push's token is reviewed once. */
  readonly reviewer: TokenReviewer;
  /** Called after every push is attributed (the lifecycle looks again). */
  readonly onAttributed?: () => void;
}

export class KubeAttributor implements Attributor {
  private readonly core: CoreV1Api;
  private readonly log: Logger;

  constructor(private readonly deps: AttributorDeps) {
    this.core = deps.kubeConfig.makeApiClient(CoreV1Api);
    this.log = deps.logger.child({ [F.component]: 'kube' });
  }

  async attribute(origin: PushOrigin): Promise<Attribution> {
    const attribution = await this.resolve(origin);
    this.deps.metrics.attributions.inc({ source: attribution.source });
    this.deps.onAttributed?.();
    return attribution;
  }

  private async resolve(origin: PushOrigin): Promise<Attribution> {
    const { principal } = origin;
    switch (principal.source) {
      case 'static':
        if (principal.namespace === undefined) return unattributed;
        return this.withChain({ source: 'token', namespace: principal.namespace, user: staticUser(principal) }, undefined);
      case 'kubernetes': {
        if (principal.namespace === undefined) return unattributed;
        const pod = await this.podFromToken({ namespace: principal.namespace, podName: principal.pod?.name, podUid: principal.pod?.uid });
        return this.withChain({ source: 'token', namespace: principal.namespace, user: principal.name }, pod);
      }
      case 'anonymous':
        return this.resolveAnonymous(origin);
    }
  }

  /** Authentication off: by the bearer token when there is one (a rejected one is a 401), else by source IP. */
  private async resolveAnonymous(origin: PushOrigin): Promise<Attribution> {
    const token = bearerToken(origin.authorization);
    if (token !== undefined) {
      const review = await this.deps.reviewer.review(token);
      if (review !== undefined) {
        if (!review.authenticated) throw new UnauthorizedError(ErrorCode.badCredentials, 'the bearer token was not accepted by the Kubernetes API server');
        if (review.namespace !== undefined) {
          const pod = await this.podFromToken({ namespace: review.namespace, podName: review.podName, podUid: review.podUid });
          return this.withChain(
            {
              source: 'token',
              namespace: review.namespace,
              ...(review.user === undefined ? {} : { user: review.user }),
            },
            pod,
          );
        }
      }
    }
    const pod = this.podFromIp(normaliseIp(origin.remoteAddress));
    if (pod === undefined) return unattributed;
    return this.withChain({ source: 'pod-ip', namespace: pod.namespace }, pod);
  }

  /** Adds the namespace UID, the pod and its run and schedule (the walk up its owners). */
  private async withChain(base: Attribution & { namespace: string }, pod: CachedPod | undefined): Promise<Attribution> {
    const namespaceUid = this.deps.view.namespaceUid(base.namespace);
    return {
      ...base,
      ...(namespaceUid === undefined ? {} : { namespaceUid }),
      ...(pod === undefined ? {} : { pod: pod.name, podUid: pod.uid, ...(await this.runOf(pod)) }),
    };
  }

  /**
   * The pod's run and schedule: its owners walked up from the caches; an owner they lack (a new
   * object the watch has not delivered yet) is read from the API server and the walk goes on.
   * An owner that is gone ends the walk there (the run is then that owner, or the one below it);
   * one that cannot be read marks the chain incomplete (the lifecycle walks on later).
   */
  private async runOf(pod: CachedPod): Promise<Pick<Attribution, 'run' | 'schedule' | 'scheduleKey' | 'chainIncomplete'>> {
    const read = new Map<string, ReadOwner>();
    const lookup = (uid: string): ReadOwner | undefined => read.get(uid) ?? this.deps.view.lookupOwner(uid);
    const rules = this.deps.ownerKinds.rules();
    let chain = resolveOwnerChain(pod, lookup, rules);
    let incomplete = false;
    while (chain.end === 'missing' && read.size < DEFAULT_MAX_DEPTH) {
      const missing = chain.links.at(-1);
      // Read once: an object whose identity does not match the reference is not that owner.
      if (missing === undefined || read.has(missing.uid)) break;
      const found = await this.deps.view.reads.read(missing);
      if (found === 'absent') break;
      if (found === 'unknown') {
        incomplete = true;
        break;
      }
      read.set(found.uid, found);
      chain = resolveOwnerChain(pod, lookup, rules);
    }
    const ref = (l: ChainLink): ObjectRef => ({ group: l.group, kind: l.kind, name: l.name, uid: l.uid });
    const { run, schedule } = chain;
    const scheduleKey = run === undefined || schedule !== undefined ? undefined : (lookup(run.uid)?.scheduleKey ?? pod.scheduleKey);
    return {
      ...(run === undefined ? {} : { run: ref(run) }),
      ...(schedule === undefined ? {} : { schedule: ref(schedule) }),
      ...(scheduleKey === undefined ? {} : { scheduleKey }),
      ...(incomplete ? { chainIncomplete: true } : {}),
    };
  }

  private async podFromToken(review: Pick<Reviewed, 'namespace'> & { readonly podName: string | undefined; readonly podUid: string | undefined }): Promise<CachedPod | undefined> {
    if (review.podUid !== undefined) {
      const cached = this.deps.view.pods.get(review.podUid);
      if (cached !== undefined) return cached;
    }
    if (review.podName === undefined || review.namespace === undefined) return undefined;
    try {
      const pod = parsePod(await this.core.readNamespacedPod({ name: review.podName, namespace: review.namespace }));
      return pod !== undefined && (review.podUid === undefined || pod.uid === review.podUid) ? pod : undefined;
    } catch (err) {
      if (classifyApiError(err) !== 'absent') this.log.warn('Failed to read the pod of a token', { [F.err]: apiErrorFields(err) });
      return undefined;
    }
  }

  /**
   * The pod with this IP, from the informer's index only: a push from an address Lethe does not
   * know (from outside the cluster, or a pod the watch has not delivered yet) costs no request to
   * the API server, so unauthenticated pushes cannot make Lethe load it. Such a push is unowned
   * (kept), never a guess.
   */
  private podFromIp(ip: string): CachedPod | undefined {
    if (ip === '') return undefined;
    const pods = this.deps.view.podsWithIp(ip);
    // Two live pods with one IP: the answer would be a guess, so none.
    return pods.length === 1 ? pods[0] : undefined;
  }
}

function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is `10.0.0.1`. */
export function normaliseIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
