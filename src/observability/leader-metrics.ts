import { Gauge, type Registry } from 'prom-client';

/** The metric of leadership (registered only when a lease is kept: Kubernetes Lease or Redis). */
export interface LeaderMetrics {
  readonly leader: Gauge;
}

export function createLeaderMetrics(registry: Registry): LeaderMetrics {
  return {
    leader: new Gauge({
      name: 'lethe_leader',
      help: 'Whether this replica holds the leader lease (the Kubernetes Lease or the Redis lease): 1 yes, 0 no.',
      registers: [registry],
    }),
  };
}
