import { ConfigError, ErrorCode } from '../errors.js';
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
  };
  readonly persistence: { readonly file: string; readonly intervalMs: number };
  readonly push: { readonly consistencyCheck: boolean };
  readonly limits: {
    readonly bodyBytes: number;
    readonly seriesPerPush: number;
    readonly labelsPerSeries: number;
    readonly labelLength: number;
    readonly groups: number;
  };
  readonly kubeconfig: string;
  /** The default policy (the lowest layer; annotations and MetricsGroups override it). */
  readonly lifecycle: {
    readonly ttlMs: number;
    readonly keepLast: number;
    readonly maxGraceMs: number;
    readonly keepUntilSuperseded: boolean;
    readonly overdueAfterMs: number;
    readonly resyncIntervalMs: number;
  };
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly leaseName: string;
    /** '' = POD_NAMESPACE, else the service account namespace, else default. */
    readonly namespace: string;
    /** '' = POD_NAME, else the host name. */
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
  return {
    web: {
      listenHost: host,
      listenPort: port,
      telemetryPath: c['web.telemetry-path'],
      externalUrl: c['web.external-url'],
      routePrefix,
      enableLifecycle: c['web.enable-lifecycle'],
      enableAdminApi: c['web.enable-admin-api'],
    },
    persistence: { file: c['persistence.file'], intervalMs: c['persistence.interval'] },
    push: { consistencyCheck: !c['push.disable-consistency-check'] },
    limits: {
      bodyBytes: c['limits.body-bytes'],
      seriesPerPush: c['limits.series-per-push'],
      labelsPerSeries: c['limits.labels-per-series'],
      labelLength: c['limits.label-length'],
      groups: c['limits.groups'],
    },
    kubeconfig: c.kubeconfig,
    lifecycle: {
      ttlMs: c['lifecycle.ttl'],
      keepLast: c['lifecycle.keep-last'],
      maxGraceMs: c['lifecycle.max-grace'],
      keepUntilSuperseded: c['lifecycle.keep-until-superseded'],
      overdueAfterMs: c['lifecycle.overdue-after'],
      resyncIntervalMs: c['lifecycle.resync-interval'],
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
