/** Who owns a group (its life bounds the group's life) and who pushed it. */

export type OwnerKind = 'Job' | 'CronJob' | 'Namespace' | 'MetricsGroup';

export interface OwnerRef {
  readonly kind: OwnerKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export type AttributionSource = 'token' | 'pod-ip' | 'url-label' | 'none';

/** Where a push came from, as far as Lethe could tell. */
export interface Attribution {
  readonly source: AttributionSource;
  readonly namespace?: string;
  readonly pod?: string;
  readonly podUid?: string;
  /** The authenticated user name, when a token was checked. */
  readonly user?: string;
}

export const unattributed: Attribution = { source: 'none' };
