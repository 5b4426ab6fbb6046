import type { Config } from '../config/index.js';
import type { Attribution, Clock, GroupInsightSource, MetricFamily } from '../model/index.js';
import type { Logger, Metrics } from '../observability/index.js';
import type { Request, Response } from 'express';
import type { MemoryGuard } from '../memory-guard.js';
import type { GroupStore } from '../store/index.js';

/** Where a caller's identity came from. */
export type PrincipalSource = 'kubernetes' | 'static' | 'anonymous';

/**
 * Who is calling, as authentication proved it. With authentication off every caller is
 * anonymous. With it on, `namespace` is the one namespace whose groups the caller may push and
 * delete (none: it may only read), and `admin` may do anything (wipe, delete any group, quit).
 */
export interface Principal {
  readonly source: PrincipalSource;
  /** The Kubernetes user (`system:serviceaccount:<ns>:<name>`) or the static entry's name; '' when anonymous. */
  readonly name: string;
  readonly namespace?: string;
  readonly admin: boolean;
  /** The pod a bound ServiceAccount token names (attribution uses it instead of asking again). */
  readonly pod?: { readonly name: string; readonly uid?: string };
}

export const anonymous: Principal = { source: 'anonymous', name: '', admin: false };

/** How an attribution names a static principal (`static:<name>`; Kubernetes user names never start so). */
export function staticUser(principal: Principal): string {
  return `static:${principal.name}`;
}

/** What an Authorization header carries (never logged). */
export type Credentials =
  | { readonly scheme: 'bearer'; readonly token: string }
  | { readonly scheme: 'basic'; readonly user: string; readonly password: string };

/**
 * Checks credentials. Resolves the principal they prove, or undefined when they are not this
 * authenticator's to judge (the next one is asked). Throws UnauthorizedError for credentials it
 * knows to be wrong and UnavailableError when it cannot check them now. Static files live in the
 * gateway; kube/ implements the TokenReview one.
 */
export interface Authenticator {
  readonly name: PrincipalSource;
  authenticate(credentials: Credentials): Promise<Principal | undefined>;
}

/** What the gateway knows of a request when it asks who pushed it. */
export interface PushOrigin {
  readonly remoteAddress: string;
  /** The raw header; with authentication off the attributor may review a bearer token itself. */
  readonly authorization: string | undefined;
  /** The authenticated caller: with authentication on, attribution follows it (its namespace, its pod). */
  readonly principal: Principal;
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

/**
 * Something Lethe cannot fix by itself and a person must (a CRD that is not installed, a call
 * RBAC forbids). Listed in /api/v1/status; the ones with `failsReadiness` also fail /-/ready.
 */
export interface Problem {
  /** Stable, for tooling: `CrdMissing`, `Forbidden`. */
  readonly reason: string;
  /** What is wrong, what it costs, and how to fix it. */
  readonly message: string;
  readonly failsReadiness: boolean;
}

/** One configured owner kind (--lifecycle.run-kinds, --lifecycle.schedule-kinds), as /api/v1/status shows it. */
export interface OwnerKindStatus {
  /** `workflows.argoproj.io`, as configured. */
  readonly name: string;
  readonly role: 'run' | 'schedule';
  /** `discovering`, `absent`, `forbidden`, `unknown` or `watching`. */
  readonly state: string;
  /** Unix ms: in this state since then. */
  readonly since: number;
  readonly message?: string;
  /** Once discovered. */
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly synced: boolean;
  readonly healthy: boolean;
  /** Objects in its cache. */
  readonly objects: number;
}

/** What `--web.config.file` asks of every request (auth/web-access.ts implements it). */
export interface WebAccess {
  /** Sets its headers; throws 429 or 401 when the request may not go on (probes only get the headers). */
  check(req: Request, res: Response, probe: boolean): Promise<void>;
}

export interface GatewayDeps {
  readonly store: GroupStore;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly attributor: Attributor;
  /**
   * Authenticators asked in order (static before kubernetes) when authentication is on
   * (--auth.mode other than none); ignored otherwise.
   */
  readonly authenticators?: readonly Authenticator[];
  /** --web.config.file's headers, rate limit and basic auth users; absent without the flag. */
  readonly webAccess?: WebAccess;
  /** Sockets over --limits.max-connections: their requests are answered 429 (server.ts marks them). */
  readonly overLimit?: (socket: object) => boolean;
  /** Refuses pushes that add series while V8's heap is nearly full (--limits.heap-share); absent: off. */
  readonly memoryGuard?: MemoryGuard;
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
  /** True when Lethe watches a cluster (owners can exist); false or absent: standalone. */
  readonly kubernetes?: boolean;
  /** The lifecycle gates that block deletions now (empty: none); absent in standalone mode. */
  readonly blockedBy?: () => readonly string[];
  /** What needs a person now (see Problem); absent in standalone mode. */
  readonly problems?: () => readonly Problem[];
  /** The configured owner kinds and their states; absent in standalone mode. */
  readonly ownerKinds?: () => readonly OwnerKindStatus[];
}
