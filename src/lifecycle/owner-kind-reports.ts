/**
 * What kube/ knows of the configured owner kinds (--lifecycle.run-kinds, --lifecycle.schedule-kinds):
 * plain data, for the status and the logs (their objects are in the cluster snapshot).
 */

export type OwnerKindRole = 'run' | 'schedule';

/**
 * - `discovering`: not looked up yet;
 * - `absent`: the API server does not serve it (CRD not installed), or not with list and watch;
 * - `forbidden`: Lethe may not list it (RBAC);
 * - `unknown`: discovery or the access check failed for another reason (retried);
 * - `watching`: its list+watch runs (see `synced` and `healthy`).
 */
export type OwnerKindState = 'discovering' | 'absent' | 'forbidden' | 'unknown' | 'watching';

/** One configured owner kind, for the status, the logs and the lifecycle. */
export interface OwnerKindReport {
  /** As configured: `workflows.argoproj.io`. */
  readonly name: string;
  readonly role: OwnerKindRole;
  readonly state: OwnerKindState;
  /** Unix ms: since when it is in this state. */
  readonly since: number;
  /** Why it is not watched (absent, forbidden, unknown). */
  readonly message?: string;
  /** From discovery, once known. */
  readonly group: string;
  readonly kind?: string;
  readonly version?: string;
  readonly namespaced?: boolean;
  /** Whether Lethe reads the schedule from the spec (a full watch) or only metadata. */
  readonly readsSchedule: boolean;
  /** Listed at least once since its watch started. */
  readonly synced: boolean;
  /** Its watch works: decisions about its objects can be made. */
  readonly healthy: boolean;
  readonly objects: number;
}
