import { Gauge, type Registry } from 'prom-client';

/** Metrics of the configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds). */
export interface OwnerKindMetrics {
  /** 1 for the state each configured kind is in, 0 for the others. */
  readonly state: Gauge<'resource' | 'role' | 'state'>;
}

export const OWNER_KIND_STATES = ['discovering', 'absent', 'forbidden', 'unknown', 'watching'] as const;

export function createOwnerKindMetrics(registry: Registry): OwnerKindMetrics {
  return {
    state: new Gauge({
      name: 'lethe_owner_kind_state',
      help: 'State of each configured owner kind (resource.group): 1 for its current state (discovering, absent: not installed, forbidden: not readable, unknown: discovery failing, watching), 0 for the others. Groups of a kind that is not watching are kept.',
      labelNames: ['resource', 'role', 'state'],
      registers: [registry],
    }),
  };
}
