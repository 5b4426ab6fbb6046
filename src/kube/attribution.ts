import { createHash } from 'node:crypto';
import { AuthenticationV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { UnauthorizedError } from '../errors.js';
import type { Attributor, PushOrigin } from '../gateway/index.js';
import { unattributed, type Attribution, type ObjectRef } from '../model/index.js';
import { F, type KubeMetrics, type Logger } from '../observability/index.js';
import { apiErrorFields, classifyApiError } from './client.js';
import type { KubeClusterView } from './cluster-view.js';
import { parseJob, parsePod, type PodInfo } from './objects.js';

/**
 * Attributes a push to a namespace and pod (DESIGN.md "Attribution"): by the ServiceAccount
 * bearer token (a TokenReview, which also names the pod), else by the connection's source IP
 * matched against Pod IPs. The pod's controller chain (Job, CronJob) is recorded with it, so
 * the owner is known even after the pod is gone.
 */

export interface AttributorOptions {
  /** How long a TokenReview answer is reused (ms); rejections are kept a tenth of that. */
  readonly tokenCacheTtlMs: number;
  /** Audiences to ask the TokenReview for; empty: the API server's. */
  readonly audiences: readonly string[];
}

export interface AttributorDeps {
  readonly kubeConfig: KubeConfig;
  readonly view: KubeClusterView;
  readonly logger: Logger;
  readonly metrics: KubeMetrics;
  readonly options: AttributorOptions;
  /** Called after every push is attributed (the lifecycle looks again). */
  readonly onAttributed?: () => void;
}

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

const tokenReviewStatus = z.object({
  authenticated: z.boolean().optional(),
  error: z.string().optional(),
  user: z
    .object({
      username: z.string().optional(),
      extra: z.record(z.string(), z.array(z.string())).optional(),
    })
    .optional(),
});

interface Reviewed {
  readonly authenticated: boolean;
  readonly user?: string;
  readonly namespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly expiresAt: number;
}

const MAX_CACHED = 10_000;

export class KubeAttributor implements Attributor {
  private readonly authn: AuthenticationV1Api;
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;
  private readonly reviews = new Map<string, Reviewed>();
  private readonly unknownIps = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly deps: AttributorDeps) {
    this.authn = deps.kubeConfig.makeApiClient(AuthenticationV1Api);
    this.core = deps.kubeConfig.makeApiClient(CoreV1Api);
    this.batch = deps.kubeConfig.makeApiClient(BatchV1Api);
    this.log = deps.logger.child({ [F.component]: 'kube' });
  }

  async attribute(origin: PushOrigin): Promise<Attribution> {
    const attribution = await this.resolve(origin);
    this.deps.metrics.attributions.inc({ source: attribution.source });
    this.deps.onAttributed?.();
    return attribution;
  }

  private async resolve(origin: PushOrigin): Promise<Attribution> {
    const token = bearerToken(origin.authorization);
    if (token !== undefined) {
      const review = await this.review(token);
      if (review !== undefined) {
        if (!review.authenticated) throw new UnauthorizedError('LETHE_BAD_TOKEN', 'the bearer token was not accepted by the Kubernetes API server');
        if (review.namespace !== undefined) {
          const pod = await this.podFromToken(review);
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
    const pod = await this.podFromIp(normaliseIp(origin.remoteAddress));
    if (pod === undefined) return unattributed;
    return this.withChain({ source: 'pod-ip', namespace: pod.namespace }, pod);
  }

  /** Adds the namespace UID, the pod and its controller chain. */
  private async withChain(base: Attribution & { namespace: string }, pod: PodInfo | undefined): Promise<Attribution> {
    const namespaceUid = this.deps.view.snapshot().namespaces.get(base.namespace)?.uid;
    const job = pod?.job === undefined ? undefined : await this.jobChain(pod.namespace, pod.job);
    return {
      ...base,
      ...(namespaceUid === undefined ? {} : { namespaceUid }),
      ...(pod === undefined ? {} : { pod: pod.name, podUid: pod.uid }),
      ...(job === undefined ? {} : { job: job.job, ...(job.cronJob === undefined ? {} : { cronJob: job.cronJob }) }),
    };
  }

  private async jobChain(namespace: string, job: ObjectRef): Promise<{ job: ObjectRef; cronJob?: ObjectRef } | undefined> {
    const cached = this.deps.view.jobs.get(job.uid);
    if (cached !== undefined) return { job, ...(cached.cronJob === undefined ? {} : { cronJob: cached.cronJob }) };
    try {
      const live = parseJob(await this.batch.readNamespacedJob({ name: job.name, namespace }));
      if (live?.uid === job.uid) return { job, ...(live.cronJob === undefined ? {} : { cronJob: live.cronJob }) };
    } catch (err) {
      if (classifyApiError(err) !== 'absent') this.log.warn('Failed to read the Job of a pushing pod', { [F.err]: apiErrorFields(err) });
    }
    // Gone already (or unreadable): the Job is still the owner; its CronJob is unknown.
    return { job };
  }

  private async review(token: string): Promise<Reviewed | undefined> {
    const id = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    const cached = this.reviews.get(id);
    if (cached !== undefined && cached.expiresAt > now) {
      this.deps.metrics.tokenReviews.inc({ result: 'cached' });
      return cached;
    }
    let status: z.infer<typeof tokenReviewStatus>;
    try {
      const answer = await this.authn.createTokenReview({
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...(this.deps.options.audiences.length === 0 ? {} : { audiences: [...this.deps.options.audiences] }) },
        },
      });
      status = tokenReviewStatus.parse(answer.status ?? {});
    } catch (err) {
      // Cannot check it (no permission, API server down): attribute by IP instead, and say so.
      this.deps.metrics.tokenReviews.inc({ result: 'error' });
      this.log.warn('Failed to review a bearer token', { [F.err]: apiErrorFields(err) });
      return undefined;
    }
    const ttl = this.deps.options.tokenCacheTtlMs;
    let reviewed: Reviewed;
    if (status.authenticated !== true) {
      this.deps.metrics.tokenReviews.inc({ result: 'rejected' });
      reviewed = { authenticated: false, expiresAt: now + ttl / 10 };
    } else {
      this.deps.metrics.tokenReviews.inc({ result: 'authenticated' });
      const user = status.user?.username;
      const sa = user === undefined ? null : SERVICE_ACCOUNT.exec(user);
      const podName = status.user?.extra?.[POD_NAME]?.[0];
      const podUid = status.user?.extra?.[POD_UID]?.[0];
      reviewed = {
        authenticated: true,
        expiresAt: now + ttl,
        ...(user === undefined ? {} : { user }),
        ...(sa?.[1] === undefined ? {} : { namespace: sa[1] }),
        ...(podName === undefined ? {} : { podName }),
        ...(podUid === undefined ? {} : { podUid }),
      };
    }
    if (this.reviews.size >= MAX_CACHED) {
      for (const [key, value] of this.reviews) if (value.expiresAt <= now || this.reviews.size >= MAX_CACHED) this.reviews.delete(key);
    }
    this.reviews.set(id, reviewed);
    return reviewed;
  }

  private async podFromToken(review: Reviewed): Promise<PodInfo | undefined> {
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

  private async podFromIp(ip: string): Promise<PodInfo | undefined> {
    if (ip === '') return undefined;
    let pods = this.deps.view.podsWithIp(ip);
    if (pods.length === 0) {
      // The cache may lag a pod that just got its IP: ask once, and remember a miss briefly.
      const now = Date.now();
      if ((this.unknownIps.get(ip) ?? 0) > now) return undefined;
      try {
        const list = await this.core.listPodForAllNamespaces({ fieldSelector: `status.podIP=${ip}` });
        pods = list.items.map(parsePod).filter((p): p is PodInfo => p !== undefined && !p.hostNetwork && !p.finished);
      } catch (err) {
        this.log.warn('Failed to look up a pod by IP', { [F.err]: apiErrorFields(err) });
      }
      if (pods.length === 0) {
        if (this.unknownIps.size >= MAX_CACHED) this.unknownIps.clear();
        this.unknownIps.set(ip, now + 5_000);
        return undefined;
      }
    }
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
