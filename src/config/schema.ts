import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseOwnerKindList } from './owner-kind-names.js';

/**
 * Every knob Lethe has, in one place. Flags are named like the Pushgateway's where they mean
 * the same thing. Each can also be set through the environment: `--web.listen-address` is
 * `LETHE_WEB_LISTEN_ADDRESS`. docs/configuration.md lists this table.
 */

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration (use e.g. 30s, 5m, 1h): ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return ms;
});

const count = (min: number) =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, 'not a whole number')])
    .transform(Number)
    .pipe(z.number().int().min(min));

/** A share between 0 and 1, e.g. 0.8. */
const share = z
  .union([z.number(), z.string().regex(/^(\d+(\.\d*)?|\.\d+)$/, 'not a number between 0 and 1, e.g. 0.8')])
  .transform(Number)
  .pipe(z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'));

const listenAddress = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected [host]:port, e.g. :9091 or 127.0.0.1:9091');

/** A comma-separated list; blanks around items and empty items are dropped. */
const list = z.string().transform((text) => text.split(',').map((item) => item.trim()).filter((item) => item !== ''));

/** A list of owner kinds (`workflows.argoproj.io,...`); every bad item is an issue of its own. */
const ownerKinds = list.transform((items, ctx) => {
  const { kinds, problems } = parseOwnerKindList(items);
  for (const message of problems) ctx.addIssue({ code: 'custom', message });
  return problems.length > 0 ? z.NEVER : kinds;
});

const path = z.string().regex(/^\/[^\s]*$/, 'must start with /');

/** A JavaScript regular expression; '' is none. */
const regex = z.string().transform((text, ctx) => {
  if (text === '') return undefined;
  try {
    return new RegExp(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a regular expression: ${err instanceof Error ? err.message : String(err)}` });
    return z.NEVER;
  }
});

export type FlagName = keyof z.input<typeof configSchema>;

export interface FlagSpec {
  readonly description: string;
  readonly default: string;
  readonly boolean?: boolean;
}

/** Documentation of each flag (help text and docs/configuration.md), keyed like the schema. */
export const flagDocs: Readonly<Record<FlagName, FlagSpec>> = {
  'web.listen-address': { description: 'Address to listen on for pushes, scrapes and the API.', default: ':9091' },
  'web.telemetry-path': { description: 'Path under which metrics are exposed.', default: '/metrics' },
  'web.external-url': { description: 'URL under which Lethe is reached externally; its path is the default route prefix.', default: '' },
  'web.route-prefix': { description: 'Prefix for all HTTP routes; defaults to the path of --web.external-url.', default: '' },
  'web.enable-lifecycle': { description: 'Enable shutdown via PUT or POST /-/quit.', default: 'false', boolean: true },
  'web.enable-admin-api': { description: 'Enable PUT /api/v1/admin/wipe.', default: 'false', boolean: true },
  'web.config.file': { description: 'Web configuration file in the Prometheus exporter-toolkit format (TLS with client certificates, basic auth users with bcrypt hashes, response headers, rate limit), as the Pushgateway reads it; reloaded when it or a file it names changes. Not together with --web.tls.cert-file (see docs/web-configuration.md).', default: '' },
  'web.tls.cert-file': { description: 'Serve HTTPS with this PEM certificate (chain); needs --web.tls.key-file. Both files are reloaded when they change.', default: '' },
  'web.tls.key-file': { description: 'PEM private key of --web.tls.cert-file.', default: '' },
  'auth.mode': { description: 'Who may push: none (anyone, as with the Pushgateway), kubernetes (ServiceAccount bearer tokens checked with a TokenReview), static (tokens and users from --auth.static-file), or kubernetes+static. With any but none, a caller pushes and deletes only groups of its own namespace.', default: 'none' },
  'auth.static-file': { description: 'JSON file of static bearer tokens and basic-auth users, each with its namespace or admin (see docs/security.md, "Authentication"); reloaded when it changes. Needs --auth.mode=static or kubernetes+static.', default: '' },
  'auth.token-audience': { description: 'Audiences (comma-separated) a ServiceAccount token must carry, checked by the TokenReview; empty: the API server\'s own.', default: '' },
  'auth.cache-ttl': { description: 'How long a TokenReview answer is reused (by a hash of the token); rejections are kept a tenth of that.', default: '1m' },
  'auth.kubernetes-admins': { description: 'Kubernetes user names (comma-separated, e.g. system:serviceaccount:ops:lethe-admin) that are admins: wipe, delete any group, quit.', default: '' },
  'auth.read': { description: 'Who may read /metrics, /api/v1 and the web page: anyone, authenticated (any valid credentials) or admin. Needs --auth.mode other than none unless anyone.', default: 'anyone' },
  'persistence.file': { description: 'File to persist groups to; empty keeps them in memory only. A 2xx answer means the push is on disk.', default: '' },
  'persistence.interval': { description: 'Accepted for Pushgateway compatibility; has no effect on durability (every acknowledged push is on disk).', default: '5m' },
  'persistence.retry-interval': { description: 'While the persistence file cannot be written (disk full, I/O errors), how often Lethe tries again on its own; pushes are refused with 503 and /-/ready fails until a write succeeds.', default: '5s' },
  'persistence.compact-bytes': { description: 'Rewrite the persistence file from memory once it is larger than this and four times its size after the previous rewrite.', default: '67108864' },
  'push.enable-utf8-names': { description: 'Accept UTF-8 metric and label names: quoted names in text pushes, U__-escaped label names in the push URL (as the Pushgateway\'s flag of that name). Names are stored as sent and escaped on scrape as the scraper asks.', default: 'false', boolean: true },
  'push.disable-consistency-check': { description: 'Answer pushes with 202 before checking them; groups that would make the exposition inconsistent are left out of scrapes.', default: 'false', boolean: true },
  'limits.body-bytes': { description: 'Largest accepted push body in bytes, after decompression (413 above).', default: '33554432' },
  'limits.series-per-push': { description: 'Most series in one push (413 above).', default: '100000' },
  'limits.labels-per-series': { description: 'Most labels on one series, grouping labels included (413 above).', default: '64' },
  'limits.label-length': { description: 'Longest label name or value in bytes (413 above).', default: '4096' },
  'limits.groups': { description: 'Most groups stored at once; a push that would add one more is refused (413).', default: '100000' },
  'limits.namespace-groups': { description: 'Most groups attributed to one namespace; a push that would add one more is refused (413). 0: no limit.', default: '0' },
  'limits.namespace-series': { description: 'Most series in the groups attributed to one namespace, counted as --limits.series-per-push counts them; a push that would go over is refused (413). 0: no limit.', default: '0' },
  'limits.heap-share': { description: 'Refuse pushes that add series (503) while V8\'s heap holds more than this share of its limit after a full collection (node sets the limit to half the container\'s memory limit); pushes that replace a group with no more series, deletions and scrapes go on. 0: off.', default: '0.7' },
  'limits.max-connections': { description: 'Most open client connections; a request on a connection over the limit is answered 429 and the connection closed. 0: no limit.', default: '0' },
  'limits.header-timeout': { description: 'Time a client has to send a request\'s headers (answered 408 after); 0: none.', default: '1m' },
  'limits.request-timeout': { description: 'Time a client has to send a whole request, body included (answered 408 after); 0: none.', default: '5m' },
  'kubeconfig': { description: 'Kubeconfig file; when empty, KUBECONFIG or the in-cluster service account is used, and without either Lethe runs standalone.', default: '' },
  'lifecycle.ttl': { description: 'Delete a group not pushed for this long, unless an annotation or MetricsGroup says otherwise; 0 keeps groups until their owner goes.', default: '0' },
  'lifecycle.keep-last': { description: 'Keep the groups of only this many most recently pushed runs of one owner (a schedule counts its runs together; every group of one run counts as that run); 0 keeps all.', default: '0' },
  'lifecycle.max-grace': { description: 'Before deleting a group, wait for Prometheus to scrape its last push, but at most this long after that push.', default: '5m' },
  'lifecycle.scraper-user-agent': { description: 'A GET of the metrics path ends the scrape grace of the groups it served only when its response was sent completely to a scraper: a request whose Accept names a Prometheus exposition format, or whose User-Agent matches this regular expression (empty: the Accept only).', default: '^Prometheus/' },
  'lifecycle.keep-until-superseded': { description: 'Keep the groups of a CronJob run whose Job was deleted until a newer run of the CronJob has pushed.', default: 'true', boolean: true },
  'lifecycle.overdue-after': { description: 'A scheduled run is overdue when its push has not come this long after the run; 0 means by the next scheduled run.', default: '0' },
  'lifecycle.run-kinds': { description: 'Extra kinds of run, comma-separated, each as resource.group (e.g. workflows.argoproj.io,pipelineruns.tekton.dev,taskruns.tekton.dev,jobsets.jobset.x-k8s.io): a pushing pod\'s controller chain is followed through them, and the outermost of them below a schedule is the run that owns its groups. Jobs are always runs. Each needs get, list and watch (the chart grants them); see docs/owners.md.', default: '' },
  'lifecycle.schedule-kinds': { description: 'Extra kinds of schedule, comma-separated, each as resource.group (e.g. cronworkflows.argoproj.io): the owner above a run that starts runs on a schedule, as a CronJob does. CronJobs are always schedules. Each needs get, list and watch (the chart grants them); see docs/owners.md.', default: '' },
  'lifecycle.resync-interval': { description: 'Look at every group at least this often, even when nothing in the cluster changed.', default: '30s' },
  'leader-election.enabled': { description: 'Run deletions only on the replica that holds the leader Lease (Kubernetes mode).', default: 'true', boolean: true },
  'leader-election.lease-name': { description: 'Name of the coordination.k8s.io Lease used for leader election.', default: 'lethe' },
  'leader-election.namespace': { description: 'Namespace of the Lease; empty: POD_NAMESPACE, else the service account namespace, else the kubeconfig context\'s namespace, else default.', default: '' },
  'leader-election.identity': { description: 'This replica\'s name in the Lease and in Events; empty: POD_NAME, else the host name.', default: '' },
  'store': { description: 'Where groups are kept: file (the embedded store, see --persistence.file) or redis (shared by any number of replicas; see --store.redis.url, which selects it when set).', default: 'file' },
  'store.redis.url': { description: 'Redis or Valkey URL: redis://[user:password@]host:port[/db], rediss:// for TLS, redis+sentinel://[password@]host:26379[,host:26379]/<primary name> for Sentinel. Setting it selects the Redis store.', default: '' },
  'store.redis.key-prefix': { description: 'Prefix of every Redis key Lethe writes; installations sharing one Redis need different prefixes.', default: 'lethe:' },
  'store.redis.timeout': { description: 'Connect and command timeout for Redis; a push Redis has not taken by then is answered 503.', default: '5s' },
  'store.redis.min-replicas': { description: 'Acknowledge a push only after this many Redis replicas have it (WAIT); 0 acknowledges when the primary has it.', default: '0' },
  'ha.lease': { description: 'Which lease decides the replica that serves pushed groups on /metrics and runs deletions, with the Redis store: kubernetes (the coordination.k8s.io Lease), redis (a lease in Redis), or auto (kubernetes in a cluster with --leader-election.enabled, else redis).', default: 'auto' },
  'ha.lease-duration': { description: 'Duration of the Redis lease: a dead holder is replaced within it.', default: '15s' },
  'log.level': { description: 'Log level: debug, info, warn, error.', default: 'info' },
  'log.format': { description: 'Log format: json or logfmt.', default: 'json' },
};

export const configSchema = z
  .object({
    'web.listen-address': listenAddress,
    'web.telemetry-path': path,
    'web.external-url': z.union([z.literal(''), z.url()]),
    'web.route-prefix': z.string(),
    'web.enable-lifecycle': bool,
    'web.enable-admin-api': bool,
    'web.config.file': z.string(),
    'web.tls.cert-file': z.string(),
    'web.tls.key-file': z.string(),
    'auth.mode': z.enum(['none', 'kubernetes', 'static', 'kubernetes+static']),
    'auth.static-file': z.string(),
    'auth.token-audience': list,
    'auth.cache-ttl': duration,
    'auth.kubernetes-admins': list,
    'auth.read': z.enum(['anyone', 'authenticated', 'admin']),
    'persistence.file': z.string(),
    'persistence.interval': duration,
    'persistence.retry-interval': duration.pipe(z.number().min(100, 'must be at least 100ms')),
    'persistence.compact-bytes': count(1),
    'push.enable-utf8-names': bool,
    'push.disable-consistency-check': bool,
    'limits.body-bytes': count(1),
    'limits.series-per-push': count(1),
    'limits.labels-per-series': count(1),
    'limits.label-length': count(1),
    'limits.groups': count(1),
    'limits.namespace-groups': count(0),
    'limits.namespace-series': count(0),
    'limits.heap-share': share,
    'limits.max-connections': count(0),
    'limits.header-timeout': duration,
    'limits.request-timeout': duration,
    'kubeconfig': z.string(),
    'lifecycle.ttl': duration,
    'lifecycle.keep-last': count(0),
    'lifecycle.max-grace': duration,
    'lifecycle.scraper-user-agent': regex,
    'lifecycle.keep-until-superseded': bool,
    'lifecycle.overdue-after': duration,
    'lifecycle.run-kinds': ownerKinds,
    'lifecycle.schedule-kinds': ownerKinds,
    'lifecycle.resync-interval': duration.pipe(z.number().min(1000, 'must be at least 1s')),
    'leader-election.enabled': bool,
    'leader-election.lease-name': z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS subdomain name'),
    'leader-election.namespace': z.string(),
    'leader-election.identity': z.string(),
    'store': z.enum(['file', 'redis']),
    'store.redis.url': z.union([z.literal(''), z.string().regex(/^(redis|rediss|valkey|valkeys|redis\+sentinel|rediss\+sentinel):\/\/\S+$/, 'expected redis://, rediss://, redis+sentinel:// or rediss+sentinel://')]),
    'store.redis.key-prefix': z.string().min(1, 'must not be empty'),
    'store.redis.timeout': duration.pipe(z.number().min(100, 'must be at least 100ms')),
    'store.redis.min-replicas': count(0),
    'ha.lease': z.enum(['auto', 'kubernetes', 'redis']),
    'ha.lease-duration': duration.pipe(z.number().min(1000, 'must be at least 1s')),
    'log.level': z.enum(['debug', 'info', 'warn', 'error']),
    'log.format': z.enum(['json', 'logfmt']),
  })
  .strict();

export type RawConfig = z.output<typeof configSchema>;
