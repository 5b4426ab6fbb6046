import type { Config } from '../config/index.js';
import type { Attribution, Clock, GroupInsightSource, MetricFamily } from '../model/index.js';
import type { Logger, Metrics } from '../observability/index.js';
import type { GroupStore } from '../store/index.js';

/** What the gateway knows of a request when it asks who pushed it. */
export interface PushOrigin {
  readonly remoteAddress: string;
  readonly authorization: string | undefined;
}

/**
 * Attributes a push to a namespace and pod. Standalone Lethe uses one that attributes nothing;
 * kube/ implements the real one (TokenReview, pod IP).
 */
export interface Attributor {
  attribute(origin: PushOrigin): Promise<Attribution>;
}

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly startTime: Date;
}

export interface GatewayDeps {
  readonly store: GroupStore;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly attributor: Attributor;
  readonly build: BuildInfo;
  /** Lethe's own metric families, for the scrape. */
  readonly ownFamilies: () => Promise<MetricFamily[]>;
  /** Called after answering /-/quit (lifecycle API enabled). */
  readonly onQuit: () => void;
  /**
   * What the lifecycle knows about a group (policy, owner alive, next deletion, overdue), shown
   * by /api/v1/groups and the web page. Absent: they say that there is no lifecycle information.
   */
  readonly insight?: GroupInsightSource;
  /** The lifecycle gates that block deletions now (empty: none); absent in standalone mode. */
  readonly blockedBy?: () => readonly string[];
}
