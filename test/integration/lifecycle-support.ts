/**
 * Helpers for the lifecycle integration tests: Lethe in-process against the harness control
 * plane, pushes from a chosen local address (so the source IP matches a Pod IP), Jobs with pods
 * whose IPs the test sets, bound ServiceAccount tokens.
 */
import { request } from 'node:http';
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Job,
  type V1OwnerReference,
  type V1Pod,
} from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/index.js';
import type { Clock, GroupView } from '../../src/model/index.js';
import { startLethe, type RunningLethe } from '../../src/wiring/index.js';
import { eventually } from '../harness/eventually.js';
import { randomName } from '../harness/kube.js';
import { capturingLogger } from '../harness/logger.js';
import { PROMETHEUS_HEADERS } from '../harness/scrapers.js';

export const TIMEOUT = 120_000;

export interface TestLethe extends RunningLethe {
  /** Log lines written so far, parsed. */
  readonly logs: Record<string, unknown>[];
}

/** Starts Lethe in-process on a free loopback port, in Kubernetes mode against `kubeconfigPath`. */
export async function startTestLethe(
  kubeconfigPath: string | undefined,
  flags: readonly string[] = [],
  options: { readonly leaseNamespace?: string; readonly debounceMs?: number; readonly clock?: Clock } = {},
): Promise<TestLethe> {
  const result = loadConfig(['--web.listen-address=127.0.0.1:0', `--leader-election.lease-name=${randomName('lethe')}`, ...flags], {});
  if (result.kind !== 'config') throw new Error('unexpected help/version');
  const { logger, lines: logs } = capturingLogger('debug');
  const lethe = await startLethe(result.config, {
    logger,
    version: 'test',
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(kubeconfigPath === undefined ? {} : { cluster: { source: { kubeconfig: kubeconfigPath, inCluster: false } } }),
    replica: { name: randomName('replica'), namespace: options.leaseNamespace ?? 'default' },
    tuning: {
      informers: { backoffBaseMs: 200, backoffMaxMs: 2_000, pageSize: 500, missingPollMs: 500 },
      lease: { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
      debounceMs: options.debounceMs ?? 50,
      scrapePollMs: 200,
      ownerKinds: { rediscoverMs: 500 },
    },
  });
  return { ...lethe, logs };
}

/** Waits until every gate is open (synced, healthy, leading). */
export async function untilReady(lethe: RunningLethe, timeout = 30_000): Promise<void> {
  await eventually(() => lethe.loop.gates().length === 0, { timeout, interval: 50 });
}

export interface PushOptions {
  readonly localAddress?: string;
  readonly token?: string;
  readonly method?: 'PUT' | 'POST' | 'DELETE';
}

/** Pushes a text body to /metrics/job/<job>[/<label>/<value>...]; resolves with the status code. */
export function push(port: number, path: string, body: string, options: PushOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/metrics/job/${path}`,
        method: options.method ?? 'PUT',
        headers: {
          'content-type': 'text/plain; version=0.0.4',
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A scrape as Prometheus sends it: its complete response ends the scrape grace of the groups it served. */
export async function scrape(port: number, headers: Readonly<Record<string, string>> = PROMETHEUS_HEADERS): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers });
  return res.text();
}

/** True when /metrics has a series of `metric` with all these label pairs. */
export function hasSeries(text: string, metric: string, labels: Readonly<Record<string, string>>): boolean {
  return text.split('\n').some((line) => {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) return false;
    return Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
  });
}

export async function apiMetrics(port: number): Promise<{ labels: Record<string, string>; [k: string]: unknown }[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/metrics`);
  const body = (await res.json()) as { data: { labels: Record<string, string> }[] };
  return body.data;
}

const usedIps = new Set<string>();
/**
 * A fresh loopback address for one pod, random so that test files (which share the control
 * plane but not this module) do not hand out the same Pod IP twice.
 */
export function freshIp(): string {
  for (;;) {
    const octet = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));
    const ip = `127.${octet(100, 250)}.${octet(0, 255)}.${octet(1, 254)}`;
    if (!usedIps.has(ip)) {
      usedIps.add(ip);
      return ip;
    }
  }
}

export function jobBody(name: string, mods: { ownerCronJob?: { name: string; uid: string }; annotations?: Record<string, string> } = {}): V1Job {
  const owner: V1OwnerReference[] =
    mods.ownerCronJob === undefined
      ? []
      : [{ apiVersion: 'batch/v1', kind: 'CronJob', name: mods.ownerCronJob.name, uid: mods.ownerCronJob.uid, controller: true, blockOwnerDeletion: true }];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, ...(owner.length === 0 ? {} : { ownerReferences: owner }), ...(mods.annotations === undefined ? {} : { annotations: mods.annotations }) },
    spec: {
      backoffLimit: 0,
      // Not the built-in job controller's: it would start a pod of its own and then delete one of
      // the two (too many active), or release ours. The test makes the Job's one pod itself.
      managedBy: 'lethe.dev/test-harness',
      template: { spec: { restartPolicy: 'Never', serviceAccountName: 'default', containers: [{ name: 'main', image: 'busybox' }] } },
    },
  };
}

/**
 * Waits until Lethe's pod watch has delivered a pod with this IP. Attribution by source IP reads
 * Lethe's pod cache only (it never asks the API server about an address), so a push sent before
 * the watch delivers the pod's IP would be unowned, as a real pod's would be.
 */
export async function untilPodKnown(lethe: RunningLethe, ip: string, timeout = 15_000): Promise<void> {
  await eventually(() => (lethe.kube?.view.podsWithIp(ip).length ?? 0) > 0, { timeout, interval: 20 });
}

/**
 * Creates a Pod controlled by the Job (as the job controller would), with `ip` as its Pod IP; with
 * `lethe`, waits until its watch knows the pod (see untilPodKnown).
 */
export async function podOfJob(kc: KubeConfig, namespace: string, job: V1Job, ip: string, lethe?: RunningLethe): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${job.metadata!.name!}-${randomName('p').slice(2)}`;
  const pod = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: {
        name,
        // The Job's selector labels: without them the job controller releases the pod (drops its ownerReference).
        labels: { 'lethe.dev/test-pod': 'true', ...(job.spec?.selector?.matchLabels ?? {}) },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true }],
      },
      spec: { serviceAccountName: 'default', containers: [{ name: 'main', image: 'busybox' }] },
    },
  });
  const withIp = await setPodIp(kc, namespace, pod.metadata!.name!, ip);
  if (lethe !== undefined) await untilPodKnown(lethe, ip);
  return withIp;
}

/**
 * Creates a pod from `body` (a controller's pod, as its controller builds it, or a bare one) with
 * `ip` as its Pod IP, and waits until Lethe's pod watch knows it.
 */
export async function podWithIp(kc: KubeConfig, namespace: string, body: V1Pod, ip: string, lethe: RunningLethe): Promise<V1Pod> {
  const pod = await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body });
  const withIp = await setPodIp(kc, namespace, pod.metadata!.name!, ip);
  await untilPodKnown(lethe, ip);
  return withIp;
}

/** A bare Pod (no controller) with this IP; with `lethe`, waits until its watch knows the pod. */
export async function barePod(kc: KubeConfig, namespace: string, name: string, ip: string, lethe?: RunningLethe): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace,
    body: { metadata: { name }, spec: { serviceAccountName: 'default', containers: [{ name: 'main', image: 'busybox' }] } },
  });
  const withIp = await setPodIp(kc, namespace, name, ip);
  if (lethe !== undefined) await untilPodKnown(lethe, ip);
  return withIp;
}

export async function setPodIp(kc: KubeConfig, namespace: string, name: string, ip: string): Promise<V1Pod> {
  return kc
    .makeApiClient(CoreV1Api)
    .patchNamespacedPodStatus(
      { name, namespace, body: { status: { podIP: ip, podIPs: [{ ip }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

/** Creates a Job (and, unless the job controller runs, nothing else) and returns it. */
export async function createJob(kc: KubeConfig, namespace: string, body: V1Job): Promise<V1Job> {
  return kc.makeApiClient(BatchV1Api).createNamespacedJob({ namespace, body });
}

export async function deleteJob(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  await kc.makeApiClient(BatchV1Api).deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
}

/** A token bound to the pod, for the namespace's default ServiceAccount (TokenRequest API). */
export async function podToken(kc: KubeConfig, namespace: string, pod: V1Pod): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace }), { timeout: 30_000 });
  const tr = await core.createNamespacedServiceAccountToken({
    name: 'default',
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! } } },
  });
  return tr.status!.token!;
}

export function metricsGroupApi(kc: KubeConfig): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}

export async function createMetricsGroup(kc: KubeConfig, namespace: string, name: string, spec: Record<string, unknown>): Promise<{ metadata: { uid: string } }> {
  return (await metricsGroupApi(kc).createNamespacedCustomObject({
    group: 'lethe.dev',
    version: 'v1alpha1',
    plural: 'metricsgroups',
    namespace,
    body: { apiVersion: 'lethe.dev/v1alpha1', kind: 'MetricsGroup', metadata: { name }, spec },
  })) as { metadata: { uid: string } };
}

export async function readMetricsGroup(kc: KubeConfig, namespace: string, name: string): Promise<{ status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason: string }[] } }> {
  return (await metricsGroupApi(kc).getNamespacedCustomObject({ group: 'lethe.dev', version: 'v1alpha1', plural: 'metricsgroups', namespace, name })) as {
    status?: Record<string, unknown> & { conditions?: { type: string; status: string; reason: string }[] };
  };
}

export async function deleteMetricsGroup(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  await metricsGroupApi(kc).deleteNamespacedCustomObject({ group: 'lethe.dev', version: 'v1alpha1', plural: 'metricsgroups', namespace, name });
}

/** Events in `namespace` whose reason is a deletion reason, as [reason, involved kind/name, message]. */
export async function deletionEvents(kc: KubeConfig, namespace: string): Promise<[string, string, string][]> {
  const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace });
  return events.items
    .filter((e) => e.source?.component === 'lethe')
    .map((e) => [e.reason ?? '', `${e.involvedObject.kind ?? ''}/${e.involvedObject.name ?? ''}`, e.message ?? '']);
}

export const body = (value = 1, metric = 'work_done'): string => `# TYPE ${metric} gauge\n${metric} ${value}\n`;

/** The value of lethe_groups_deleted_total{reason}. */
export async function deletedCount(lethe: RunningLethe, reason: string): Promise<number> {
  const metric = await lethe.registry.getSingleMetric('lethe_groups_deleted_total')?.get();
  return metric?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

/** Waits for the stored group with a label value `marker` (e.g. the namespace) to satisfy `ready`. */
export async function waitForGroup(lethe: RunningLethe, marker: string, ready: (g: GroupView) => boolean = () => true, timeout = 10_000): Promise<GroupView> {
  return eventually(
    () => {
      const g = [...lethe.store.groups()].find((x) => x.key.labels.some((l) => l.value === marker));
      if (g === undefined || !ready(g)) throw new Error(`no ready group with a label ${marker}`);
      return g;
    },
    { timeout },
  );
}

/** Deletions logged with this reason for groups having a label value `marker`. */
export function deletionsLogged(lethe: TestLethe, reason: string, marker: string): number {
  return lethe.logs.filter((l) => l['message'] === 'Deleted metric group' && l['reason'] === reason && String(l['groupingKey']).includes(`"${marker}"`)).length;
}

/** Waits for at least one deletion Event from Lethe in `namespace`. */
export async function waitForEvents(kc: KubeConfig, namespace: string): Promise<[string, string, string][]> {
  return eventually(async () => {
    const e = await deletionEvents(kc, namespace);
    if (e.length === 0) throw new Error('no deletion Event yet');
    return e;
  });
}
