import { ConfigError, ErrorCode } from '../errors.js';
import type { OwnerKindName } from './owner-kind-names.js';
import { configSchema, flagDocs, type FlagName, type RawConfig } from './schema.js';

export interface Config {
  readonly web: {
    readonly listenHost: string;
    readonly listenPort: number;
    readonly telemetryPath: string;
    readonly externalUrl: string;
    /** '' or '/prefix' without a trailing slash. */
    readonly routePrefix: string;
    readonly enableLifecycle: boolean;
    readonly enableAdminApi: boolean;
    /** HTTPS with these PEM files (reloaded on change); absent: plain HTTP. */
    readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
    /** The exporter-toolkit web configuration file; '' = none. */
    readonly configFile: string;
  };
  /** Authentication and authorization (docs/security.md, "Authentication"). */
  readonly auth: {
    /** True when any authenticator is configured: pushes then need credentials. */
    readonly enabled: boolean;
    readonly kubernetes: boolean;
    /** '' = no static tokens or users. */
    readonly staticFile: string;
    readonly tokenAudiences: readonly string[];
    readonly cacheTtlMs: number;
    readonly kubernetesAdmins: readonly string[];
    readonly read: 'anyone' | 'authenticated' | 'admin';
  };
  readonly persistence: { readonly file: string; readonly intervalMs: number; readonly retryIntervalMs: number; readonly compactBytes: number };
  readonly push: {
    readonly consistencyCheck: boolean;
    /** --push.enable-utf8-names: UTF-8 names in text bodies and (U__-escaped) in push URLs. */
    readonly utf8Names: boolean;
  };
  readonly limits: {
    readonly bodyBytes: number;
    readonly seriesPerPush: number;
    readonly labelsPerSeries: number;
    readonly labelLength: number;
    readonly groups: number;
    /** 0 = no limit (also below). */
    readonly namespaceGroups: number;
    readonly namespaceSeries: number;
    /** --limits.heap-share; 0: the heap guard is off. */
    readonly heapShare: number;
    readonly maxConnections: number;
    readonly headerTimeoutMs: number;
    readonly requestTimeoutMs: number;
  };
  readonly kubeconfig: string;
  /** The default policy (the lowest layer; annotations and MetricsGroups override it). */
  readonly lifecycle: {
    readonly ttlMs: number;
    readonly keepLast: number;
    readonly maxGraceMs: number;
    /** Besides a Prometheus Accept header, a User-Agent that marks a scrape request as a scraper's; undefined: none. */
    readonly scraperUserAgent: RegExp | undefined;
    readonly keepUntilSuperseded: boolean;
    readonly overdueAfterMs: number;
    readonly resyncIntervalMs: number;
    /** Extra kinds of run (--lifecycle.run-kinds); Jobs are always runs. */
    readonly runKinds: readonly OwnerKindName[];
    /** Extra kinds of schedule (--lifecycle.schedule-kinds); CronJobs are always schedules. */
    readonly scheduleKinds: readonly OwnerKindName[];
  };
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly leaseName: string;
    /** '' = worked out by replicaOf (config/replica.ts). */
    readonly namespace: string;
    /** '' = worked out by replicaOf (config/replica.ts). */
    readonly identity: string;
  };
  /** Where groups are kept. */
  readonly store: {
    readonly backend: 'file' | 'redis';
    readonly redis: { readonly url: string; readonly keyPrefix: string; readonly timeoutMs: number; readonly minReplicas: number };
  };
  /** With the Redis store: which lease picks the replica that serves pushed groups and deletes. */
  readonly ha: { readonly lease: 'auto' | 'kubernetes' | 'redis'; readonly leaseDurationMs: number };
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly format: 'json' | 'logfmt' };
  /** Every flag with its string value, as /api/v1/status shows them. */
  readonly flags: Readonly<Record<string, string>>;
}

export type LoadResult =
  | { readonly kind: 'config'; readonly config: Config }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

const flagNames = Object.keys(flagDocs) as FlagName[];
const isFlagName = (name: string): name is FlagName => Object.hasOwn(flagDocs, name);

function envName(flag: string): string {
  return `LETHE_${flag.toUpperCase().replace(/[.-]/g, '_')}`;
}

/**
 * argv + environment → Config. Flags win over `LETHE_*` variables, which win over defaults.
 * Throws one ConfigError that lists every bad flag with the reason.
 *
 * (The file is about 300 lines: the flag parser and the cross-flag checks, which name flags
 * the parser read; the flags themselves are in schema.ts.)
 */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LoadResult {
  const raw: Record<string, string | boolean> = {};
  for (const name of flagNames) {
    const spec = flagDocs[name];
    raw[name] = spec.default;
    const fromEnv = env[envName(name)];
    if (fromEnv !== undefined) raw[name] = fromEnv;
  }
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument ${JSON.stringify(arg)}`);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string | boolean | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (!isFlagName(name) && name.startsWith('no-') && isFlagName(name.slice(3)) && value === undefined) {
      name = name.slice(3);
      value = false;
    }
    if (!isFlagName(name)) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    const spec = flagDocs[name];
    if (value === undefined) {
      if (spec.boolean === true) value = true;
      else if (i + 1 < argv.length) value = argv[++i] ?? '';
      else {
        problems.push(`--${name}: a value is required`);
        continue;
      }
    }
    raw[name] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const flag = String(issue.path[0] ?? '');
      problems.push(`--${flag}=${JSON.stringify(raw[flag])}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(ErrorCode.config, `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return { kind: 'config', config: toConfig(parsed.data, raw) };
}

function toConfig(c: RawConfig, raw: Readonly<Record<string, string | boolean>>): Config {
  const address = c['web.listen-address'];
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  if (port > 65535) {
    throw new ConfigError(ErrorCode.config, `invalid configuration:\n  --web.listen-address=${JSON.stringify(address)}: port out of range`);
  }
  const routePrefix = computeRoutePrefix(c['web.route-prefix'], c['web.external-url']);
  if (c.store === 'redis' && c['store.redis.url'] === '') {
    throw new ConfigError(ErrorCode.config, 'invalid configuration:\n  --store="redis": needs --store.redis.url');
  }
  const problems = [...authProblems(c), ...serverProblems(c), ...ownerKindProblems(c)];
  if (problems.length > 0) throw new ConfigError(ErrorCode.config, `invalid configuration:\n  ${problems.join('\n  ')}`);
  const mode = c['auth.mode'];
  return {
    web: {
      listenHost: host,
      listenPort: port,
      telemetryPath: c['web.telemetry-path'],
      externalUrl: c['web.external-url'],
      routePrefix,
      enableLifecycle: c['web.enable-lifecycle'],
      enableAdminApi: c['web.enable-admin-api'],
      tls: c['web.tls.cert-file'] === '' ? undefined : { certFile: c['web.tls.cert-file'], keyFile: c['web.tls.key-file'] },
      configFile: c['web.config.file'],
    },
    auth: {
      enabled: mode !== 'none',
      kubernetes: mode === 'kubernetes' || mode === 'kubernetes+static',
      staticFile: c['auth.static-file'],
      tokenAudiences: c['auth.token-audience'],
      cacheTtlMs: c['auth.cache-ttl'],
      kubernetesAdmins: c['auth.kubernetes-admins'],
      read: c['auth.read'],
    },
    persistence: {
      file: c['persistence.file'],
      intervalMs: c['persistence.interval'],
      retryIntervalMs: c['persistence.retry-interval'],
      compactBytes: c['persistence.compact-bytes'],
    },
    push: { consistencyCheck: !c['push.disable-consistency-check'], utf8Names: c['push.enable-utf8-names'] },
    limits: {
      bodyBytes: c['limits.body-bytes'],
      seriesPerPush: c['limits.series-per-push'],
      labelsPerSeries: c['limits.labels-per-series'],
      labelLength: c['limits.label-length'],
      groups: c['limits.groups'],
      namespaceGroups: c['limits.namespace-groups'],
      namespaceSeries: c['limits.namespace-series'],
      heapShare: c['limits.heap-share'],
      maxConnections: c['limits.max-connections'],
      headerTimeoutMs: c['limits.header-timeout'],
      requestTimeoutMs: c['limits.request-timeout'],
    },
    kubeconfig: c.kubeconfig,
    lifecycle: {
      ttlMs: c['lifecycle.ttl'],
      keepLast: c['lifecycle.keep-last'],
      maxGraceMs: c['lifecycle.max-grace'],
      scraperUserAgent: c['lifecycle.scraper-user-agent'],
      keepUntilSuperseded: c['lifecycle.keep-until-superseded'],
      overdueAfterMs: c['lifecycle.overdue-after'],
      resyncIntervalMs: c['lifecycle.resync-interval'],
      runKinds: c['lifecycle.run-kinds'],
      scheduleKinds: c['lifecycle.schedule-kinds'],
    },
    leaderElection: {
      enabled: c['leader-election.enabled'],
      leaseName: c['leader-election.lease-name'],
      namespace: c['leader-election.namespace'],
      identity: c['leader-election.identity'],
    },
    store: {
      backend: c['store.redis.url'] !== '' ? 'redis' : c.store,
      redis: {
        url: c['store.redis.url'],
        keyPrefix: c['store.redis.key-prefix'],
        timeoutMs: c['store.redis.timeout'],
        minReplicas: c['store.redis.min-replicas'],
      },
    },
    ha: { lease: c['ha.lease'], leaseDurationMs: c['ha.lease-duration'] },
    log: { level: c['log.level'], format: c['log.format'] },
    // The Redis URL may carry a password: /api/v1/status shows it without.
    flags: Object.fromEntries(flagNames.map((n) => [n, n === 'store.redis.url' ? redactPassword(String(raw[n])) : String(raw[n])])),
  };
}

/** Auth flags that only make sense together: a silent no-op is the wrong answer for security settings. */
function authProblems(c: RawConfig): string[] {
  const problems: string[] = [];
  const mode = c['auth.mode'];
  const kubernetes = mode === 'kubernetes' || mode === 'kubernetes+static';
  const wantsStatic = mode === 'static' || mode === 'kubernetes+static';
  if (wantsStatic && c['auth.static-file'] === '') problems.push(`--auth.mode="${mode}": needs --auth.static-file`);
  if (!wantsStatic && c['auth.static-file'] !== '') problems.push('--auth.static-file: needs --auth.mode=static or kubernetes+static');
  if (!kubernetes && c['auth.token-audience'].length > 0) problems.push('--auth.token-audience: needs --auth.mode=kubernetes or kubernetes+static');
  if (!kubernetes && c['auth.kubernetes-admins'].length > 0) problems.push('--auth.kubernetes-admins: needs --auth.mode=kubernetes or kubernetes+static');
  if (mode === 'none' && c['auth.read'] !== 'anyone') problems.push(`--auth.read="${c['auth.read']}": needs --auth.mode other than none (nobody could read)`);
  return problems;
}

/** A kind is a run or a schedule, never both. */
function ownerKindProblems(c: RawConfig): string[] {
  const runs = new Set(c['lifecycle.run-kinds'].map((k) => k.name));
  return c['lifecycle.schedule-kinds']
    .filter((k) => runs.has(k.name))
    .map((k) => `--lifecycle.schedule-kinds: ${JSON.stringify(k.name)} is also in --lifecycle.run-kinds; a kind is either a run or a schedule`);
}

function serverProblems(c: RawConfig): string[] {
  const problems: string[] = [];
  if ((c['web.tls.cert-file'] === '') !== (c['web.tls.key-file'] === '')) problems.push('--web.tls.cert-file and --web.tls.key-file: set both or neither');
  if (c['web.config.file'] !== '' && c['web.tls.cert-file'] !== '') {
    problems.push('--web.config.file and --web.tls.cert-file: configure TLS in one place (tls_server_config in the web configuration file, or the --web.tls.* flags)');
  }
  const headers = c['limits.header-timeout'];
  const request = c['limits.request-timeout'];
  if (headers > 0 && request > 0 && headers > request) problems.push('--limits.header-timeout: must not be longer than --limits.request-timeout');
  return problems;
}

/** A URL with its password replaced by ***. */
function redactPassword(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*:)[^@/]*@/, '$1$2***@').replace(/^([a-z+]+:\/\/)([^:@/]+)@/, '$1***@');
}

/** The Pushgateway's rule: the route prefix, else the external URL's path; `/` means none. */
export function computeRoutePrefix(routePrefix: string, externalUrl: string): string {
  let prefix = routePrefix;
  if (prefix === '' && externalUrl !== '') prefix = new URL(externalUrl).pathname;
  if (prefix === '' || prefix === '/') return '';
  if (!prefix.startsWith('/')) prefix = `/${prefix}`;
  if (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  return prefix;
}

/** Text for --help, generated from the flag table. */
export function helpText(): string {
  const lines = ['usage: lethe [flags]', '', 'Flags (each also settable as LETHE_<NAME>, e.g. LETHE_WEB_LISTEN_ADDRESS):'];
  for (const name of flagNames) {
    const spec = flagDocs[name];
    lines.push(`  --${name}${spec.default === '' ? '' : `=${spec.default}`}`, `      ${spec.description}`);
  }
  return `${lines.join('\n')}\n`;
}
