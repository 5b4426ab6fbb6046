import { emptySnapshot, type ClusterSnapshot, type ClusterView, type Presence, type ViewGates } from './cluster-snapshot.js';

/**
 * The view of a standalone Lethe: no cluster, always synced and healthy. Every group is unowned,
 * so only the default policy (ttl) applies.
 */
export function staticClusterView(snapshot: ClusterSnapshot = emptySnapshot): ClusterView {
  const gates: ViewGates = { synced: true, healthy: true, problems: [] };
  return {
    snapshot: () => snapshot,
    gates: () => gates,
    // Nothing can be confirmed gone without a cluster.
    confirmAbsent: (): Promise<Presence> => Promise.resolve('unknown'),
    onChange: () => () => undefined,
  };
}
