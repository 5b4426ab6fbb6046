/**
 * Helpers for the owner-kind tests: OwnerKinds (src/kube/owner-kinds.ts) on its own against the
 * harness control plane, with its log lines and metrics kept for the test to read.
 */
import { BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { parseOwnerKindName, type OwnerKindName } from '../../src/config/index.js';
import { OwnerKinds, ownerReferencesOf } from '../../src/kube/index.js';
import { groupOfApiVersion, type ChainObject, type OwnerKindReport } from '../../src/lifecycle/index.js';
import { systemClock } from '../../src/model/index.js';
import { createKubeMetrics, createOwnerKindMetrics } from '../../src/observability/index.js';
import { eventually } from '../harness/eventually.js';
import { capturingLogger } from '../harness/logger.js';

export interface TestOwnerKinds {
  readonly kinds: OwnerKinds;
  readonly registry: Registry;
  readonly logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

function names(items: readonly string[]): OwnerKindName[] {
  return items.map((item) => {
    const parsed = parseOwnerKindName(item);
    if (typeof parsed === 'string') throw new Error(parsed);
    return parsed;
  });
}

/** Starts OwnerKinds for these kinds, looking absent ones up again every `rediscoverMs`. */
export function startOwnerKinds(kc: KubeConfig, runs: readonly string[], schedules: readonly string[], rediscoverMs = 300): TestOwnerKinds {
  const { logger, lines: logs } = capturingLogger('debug');
  const registry = new Registry();
  const kinds = new OwnerKinds({
    clock: systemClock,
    kubeConfig: kc,
    logger,
    metrics: createKubeMetrics(registry),
    ownerMetrics: createOwnerKindMetrics(registry),
    informerOptions: { backoffBaseMs: 100, backoffMaxMs: 1_000, pageSize: 500 },
    options: { rediscoverMs },
    runKinds: names(runs),
    scheduleKinds: names(schedules),
  });
  kinds.start();
  return { kinds, registry, logs, stop: () => kinds.stop() };
}

/** The report of one configured kind. */
export function reportOf(kinds: OwnerKinds, name: string): OwnerKindReport {
  const report = kinds.reports().find((r) => r.name === name);
  if (report === undefined) throw new Error(`${name} is not configured`);
  return report;
}

/** Waits until the kind is watched and its watch has listed. */
export async function untilWatching(kinds: OwnerKinds, name: string, timeout = 30_000): Promise<OwnerKindReport> {
  return eventually(
    () => {
      const report = reportOf(kinds, name);
      if (report.state !== 'watching' || !report.synced || !report.healthy) throw new Error(`${name}: ${report.state}${report.message === undefined ? '' : ` (${report.message})`}`);
      return report;
    },
    { timeout },
  );
}

/** `lethe_owner_kind_state{resource, state}`. */
export async function stateMetric(registry: Registry, resource: string, state: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('lethe_owner_kind_state')?.get();
  return metric?.values.find((v) => v.labels['resource'] === resource && v.labels['state'] === state)?.value;
}

/** A pod or Job as the chain walk needs it, read from the API server (the built-in kinds' caches are not under test here). */
export async function chainObjectOf(kc: KubeConfig, namespace: string, kind: 'Pod' | 'Job', name: string): Promise<ChainObject> {
  const raw = kind === 'Pod' ? await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name, namespace }) : await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name, namespace });
  const meta = raw.metadata;
  return {
    uid: meta?.uid ?? '',
    group: groupOfApiVersion(kind === 'Pod' ? 'v1' : 'batch/v1'),
    kind,
    namespace: meta?.namespace ?? namespace,
    name: meta?.name ?? name,
    ownerReferences: ownerReferencesOf(raw),
  };
}
