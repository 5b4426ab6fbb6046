import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { z } from 'zod';
import { parseDuration } from '../config/index.js';
import { ConfigError, ErrorCode, messageOf } from '../errors.js';
import { F, errorFields, type Logger, type Metrics } from '../observability/index.js';
import { FileWatch, defaultFileWatchTimings } from './file-watch.js';

/**
 * `--web.config.file`: the web configuration file of the Prometheus exporter-toolkit, which the
 * Pushgateway reads with the same flag, so that an existing Secret works unchanged:
 *
 *   tls_server_config:  cert_file/key_file (or inline cert/key), client_auth_type,
 *                       client_ca_file (or inline client_ca), client_allowed_sans,
 *                       min_version, max_version, cipher_suites, curve_preferences,
 *                       prefer_server_cipher_suites (accepted, no effect, as in Go)
 *   http_server_config: headers (the toolkit's five security headers), http2 (accepted;
 *                       Lethe serves HTTP/1.1)
 *   basic_auth_users:   user: bcrypt hash
 *   rate_limit:         interval (Go duration), burst
 *
 * Unknown keys are errors (the toolkit parses strictly); relative paths are relative to the
 * file's directory. The file and every file it names are watched: a change is applied to new
 * connections and requests, and a change that does not load keeps the previous configuration
 * (logged and counted), where the toolkit would answer 500.
 *
 * (About 390 lines: the file's schema, its loading with the files it names, and the watch that
 * reloads them are one format's reader; each part is small and they share the parsed types.)
 */

export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

export interface WebTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** PEM of the CAs client certificates are verified against; undefined: Node's default roots. */
  readonly ca: Buffer | undefined;
  readonly clientAuth: ClientAuthType;
  /** When set, a client certificate must carry one of these SANs (DNS, email, IP or URI). */
  readonly allowedSans: readonly string[] | undefined;
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  /** OpenSSL cipher list (TLS 1.2 suites as configured, TLS 1.3 suites as Go fixes them); undefined: Node's defaults. */
  readonly ciphers: string | undefined;
  /** OpenSSL curve list; undefined: Node's defaults. */
  readonly ecdhCurve: string | undefined;
}

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface WebConfig {
  /** HTTPS settings; undefined: plain HTTP. */
  readonly tls: WebTls | undefined;
  readonly headers: ReadonlyMap<string, string>;
  /** User name → bcrypt hash; empty: no basic auth. */
  readonly users: ReadonlyMap<string, string>;
  /** Token bucket: `burst` requests, one more every `intervalMs`; undefined: no limit. */
  readonly rateLimit: { readonly burst: number; readonly intervalMs: number } | undefined;
  /** Files the configuration was read from (the file itself first), to watch. */
  readonly files: readonly string[];
}

const CLIENT_AUTH: Readonly<Record<string, ClientAuthType>> = {
  '': 'NoClientCert',
  NoClientCert: 'NoClientCert',
  RequestClientCert: 'RequestClientCert',
  RequireAnyClientCert: 'RequireAnyClientCert',
  // The toolkit keeps this older spelling.
  RequireClientCert: 'RequireAnyClientCert',
  VerifyClientCertIfGiven: 'VerifyClientCertIfGiven',
  RequireAndVerifyClientCert: 'RequireAndVerifyClientCert',
};

const TLS_VERSIONS: Readonly<Record<string, TlsVersion>> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const VERSION_ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's names of the cipher suites its crypto/tls calls secure, with OpenSSL's names. */
const TLS12_CIPHERS: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** TLS 1.3 suites: accepted in the list, and, as in Go, not configurable (all three are offered). */
const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The toolkit's settable response headers, with the values it allows (none listed: any). */
const HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

/** `$2a$`, `$2b$`, `$2y$` (and the rest of crypt's 2-variants), cost 04–31, 53 characters of salt and hash. */
const BCRYPT = /^\$2[a-z]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

const optionalString = z.string().nullish();

/** A string that must be one of `allowed`; the message names what it is, as the toolkit's do. */
const oneOf = (allowed: (v: string) => boolean, what: string) =>
  z.string().superRefine((v, ctx) => {
    if (!allowed(v)) ctx.addIssue({ code: 'custom', message: `${what}: ${v}` });
  });

const fileSchema = z
  .strictObject({
    tls_server_config: z
      .strictObject({
        cert: optionalString,
        key: optionalString,
        client_ca: optionalString,
        cert_file: optionalString,
        key_file: optionalString,
        client_auth_type: oneOf((v) => Object.hasOwn(CLIENT_AUTH, v), 'invalid ClientAuth').nullish(),
        client_ca_file: optionalString,
        cipher_suites: z
          .array(oneOf((v) => Object.hasOwn(TLS12_CIPHERS, v) || TLS13_CIPHERS.includes(v), 'unknown cipher'))
          .nullish(),
        curve_preferences: z
          .array(oneOf((v) => Object.hasOwn(CURVES, v), 'unknown curve'))
          .nullish(),
        min_version: oneOf((v) => Object.hasOwn(TLS_VERSIONS, v), 'unknown TLS version').nullish(),
        max_version: oneOf((v) => Object.hasOwn(TLS_VERSIONS, v), 'unknown TLS version').nullish(),
        prefer_server_cipher_suites: z.boolean().nullish(),
        client_allowed_sans: z.array(z.string()).nullish(),
      })
      .nullish(),
    http_server_config: z
      .strictObject({
        http2: z.boolean().nullish(),
        headers: z.record(z.string(), z.string()).nullish(),
      })
      .nullish(),
    basic_auth_users: z.record(z.string(), z.string()).nullish(),
    rate_limit: z
      .strictObject({
        burst: z.number().int().min(0).nullish(),
        interval: z.string().nullish(),
      })
      .nullish(),
  })
  .nullish();

type FileContents = z.output<typeof fileSchema>;

/** What the file says, before the files it names are read. */
interface Parsed {
  readonly data: NonNullable<FileContents> | Record<string, never>;
  readonly headers: Map<string, string>;
  readonly users: Map<string, string>;
  readonly rateLimit: WebConfig['rateLimit'];
}

function resolve(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}

/** Parses the YAML text; throws an Error naming the first problem (never a secret). */
export function parseWebConfigText(text: string): Parsed {
  let yaml: unknown;
  try {
    // An empty file (or one of comments) configures nothing, as in Go; js-yaml wants a document.
    yaml = text.replace(/^\s*#.*$/gm, '').trim() === '' ? null : loadYaml(text);
  } catch (err) {
    // js-yaml's message quotes the lines around the error, which may hold a key or a hash.
    const mark = /\((\d+):(\d+)\)/.exec(messageOf(err));
    // eslint-disable-next-line preserve-caught-error -- the cause would carry the quote of the file
    throw new Error(`not valid YAML${mark === null ? '' : ` (line ${mark[1]}, column ${mark[2]})`}`);
  }
  const parsed = fileSchema.safeParse(yaml);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; '));
  }
  const data = parsed.data ?? {};
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(data.http_server_config?.headers ?? {})) {
    if (!Object.hasOwn(HEADERS, name)) throw new Error(`http_server_config.headers: HTTP header ${JSON.stringify(name)} can not be configured`);
    const allowed = HEADERS[name];
    if (allowed !== undefined && !allowed.includes(value)) {
      throw new Error(`http_server_config.headers: invalid value for ${name}; expected one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    headers.set(name, value);
  }
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(data.basic_auth_users ?? {})) {
    if (!BCRYPT.test(hash)) throw new Error(`basic_auth_users.${user}: not a bcrypt hash (expected $2y$10$… as htpasswd -B writes it)`);
    users.set(user, hash);
  }
  let rateLimit: WebConfig['rateLimit'];
  const interval = data.rate_limit?.interval;
  if (interval !== undefined && interval !== null && interval !== '') {
    const intervalMs = parseDuration(interval);
    if (intervalMs === undefined) throw new Error(`rate_limit.interval: not a duration: ${JSON.stringify(interval)}`);
    if (intervalMs > 0) rateLimit = { burst: data.rate_limit?.burst ?? 0, intervalMs };
  }
  return { data, headers, users, rateLimit };
}

/** Reads the TLS settings and the files they name; undefined when the file configures no TLS. */
async function loadTls(parsed: Parsed, dir: string, files: string[]): Promise<WebTls | undefined> {
  const t = parsed.data.tls_server_config ?? {};
  const nonEmpty = (v: string | null | undefined): v is string => v !== undefined && v !== null && v !== '';
  const enabled = [t.cert, t.key, t.cert_file, t.key_file, t.client_ca, t.client_ca_file, t.client_auth_type].some(nonEmpty);
  if (!enabled) return undefined;
  if (!nonEmpty(t.cert_file) && !nonEmpty(t.cert)) throw new Error('tls_server_config: missing one of cert or cert_file');
  if (!nonEmpty(t.key_file) && !nonEmpty(t.key)) throw new Error('tls_server_config: missing one of key or key_file');
  const read = async (field: string, path: string): Promise<Buffer> => {
    const full = resolve(dir, path);
    files.push(full);
    try {
      return await readFile(full);
    } catch (err) {
      throw new Error(`tls_server_config.${field}: cannot read ${JSON.stringify(full)}: ${messageOf(err)}`, { cause: err });
    }
  };
  const cert = nonEmpty(t.cert_file) ? await read('cert_file', t.cert_file) : Buffer.from(t.cert ?? '');
  const key = nonEmpty(t.key_file) ? await read('key_file', t.key_file) : Buffer.from(t.key ?? '');
  let ca: Buffer | undefined;
  if (nonEmpty(t.client_ca_file)) ca = await read('client_ca_file', t.client_ca_file);
  else if (nonEmpty(t.client_ca)) ca = Buffer.from(t.client_ca);
  const clientAuth = CLIENT_AUTH[t.client_auth_type ?? ''] ?? 'NoClientCert';
  if (ca !== undefined && clientAuth === 'NoClientCert') throw new Error("tls_server_config: client CA's have been configured without a Client Auth Policy (client_auth_type)");
  const minVersion = TLS_VERSIONS[t.min_version ?? 'TLS12'] ?? 'TLSv1.2';
  const maxVersion = TLS_VERSIONS[t.max_version ?? 'TLS13'] ?? 'TLSv1.3';
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) throw new Error('tls_server_config: min_version is above max_version');
  let ciphers: string | undefined;
  if (t.cipher_suites !== undefined && t.cipher_suites !== null && t.cipher_suites.length > 0) {
    const tls12 = t.cipher_suites.flatMap((name) => TLS12_CIPHERS[name] ?? []);
    if (tls12.length === 0 && VERSION_ORDER.indexOf(minVersion) < VERSION_ORDER.indexOf('TLSv1.3')) {
      throw new Error('tls_server_config.cipher_suites: names only TLS 1.3 suites, which are not configurable; list TLS 1.2 suites or set min_version: TLS13');
    }
    ciphers = [...tls12, ...TLS13_CIPHERS].join(':');
  }
  const ecdhCurve = t.curve_preferences !== undefined && t.curve_preferences !== null && t.curve_preferences.length > 0
    ? t.curve_preferences.map((c) => CURVES[c] ?? c).join(':')
    : undefined;
  const allowedSans = t.client_allowed_sans === undefined || t.client_allowed_sans === null ? undefined : t.client_allowed_sans;
  const tls: WebTls = { cert, key, ca, clientAuth, allowedSans, minVersion, maxVersion, ciphers, ecdhCurve };
  try {
    // Loaded here, only with TLS configured (server.ts says why).
    process.getBuiltinModule('node:tls').createSecureContext(secureContextOptions(tls));
  } catch (err) {
    throw new Error(`tls_server_config: the certificate, key or client CA does not load: ${messageOf(err)}`, { cause: err });
  }
  return tls;
}

/** Node's TLS options for these settings (the client-certificate policy is applied per connection: server.ts). */
export function secureContextOptions(tls: WebTls): {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  ciphers?: string;
  ecdhCurve?: string;
} {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    ...(tls.ecdhCurve === undefined ? {} : { ecdhCurve: tls.ecdhCurve }),
  };
}

/** Reads the file and everything it names. Throws an Error saying what is wrong. */
export async function loadWebConfig(path: string): Promise<WebConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the file: ${messageOf(err)}`, { cause: err });
  }
  const parsed = parseWebConfigText(text);
  const files = [path];
  const tls = await loadTls(parsed, dirname(path), files);
  return { tls, headers: parsed.headers, users: parsed.users, rateLimit: parsed.rateLimit, files };
}

export interface WebConfigDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How often the files are re-read without a change event (ms); tests shorten it. */
  readonly pollMs?: number;
}

/**
 * The web configuration in force, reloaded when the file or a file it names changes. Listeners
 * (the HTTPS server) hear of every configuration that loaded.
 */
export class WebConfigSource {
  private watch: FileWatch | undefined;
  private readonly listeners: ((config: WebConfig) => void)[] = [];
  private closed = false;

  private constructor(
    private readonly path: string,
    private config: WebConfig,
    private readonly deps: WebConfigDeps,
  ) {}

  /** Loads and watches the file; a file that does not load stops start-up (ConfigError). */
  static async open(path: string, deps: WebConfigDeps): Promise<WebConfigSource> {
    let config: WebConfig;
    try {
      config = await loadWebConfig(path);
    } catch (err) {
      throw new ConfigError(ErrorCode.config, `invalid configuration:\n  --web.config.file=${JSON.stringify(path)}: ${messageOf(err)}`, { cause: err });
    }
    const source = new WebConfigSource(path, config, deps);
    await source.watchFiles(config.files);
    return source;
  }

  /** From a configuration already loaded, not watched (tests). */
  static of(config: WebConfig, deps: WebConfigDeps): WebConfigSource {
    return new WebConfigSource('', config, deps);
  }

  get current(): WebConfig {
    return this.config;
  }

  onChange(listener: (config: WebConfig) => void): void {
    this.listeners.push(listener);
  }

  private async watchFiles(files: readonly string[]): Promise<void> {
    const log = this.deps.logger.child({ [F.component]: 'gateway' });
    const { watch } = await FileWatch.open(files, {
      pollMs: this.deps.pollMs ?? defaultFileWatchTimings.pollMs,
      debounceMs: defaultFileWatchTimings.debounceMs,
      onChange: () => {
        void this.reload(log);
      },
      onError: (err) => {
        this.deps.metrics.fileReloads.inc({ file: 'web_config', result: 'error' });
        log.error('Failed to reload the web configuration; the previous one stays in use', { file: this.path, [F.err]: errorFields(err) });
      },
    });
    this.watch = watch;
  }

  /** Loads the file again and applies it; a configuration that does not load is reported and ignored. */
  async reload(log = this.deps.logger.child({ [F.component]: 'gateway' })): Promise<void> {
    let next: WebConfig;
    try {
      next = await loadWebConfig(this.path);
    } catch (err) {
      this.deps.metrics.fileReloads.inc({ file: 'web_config', result: 'error' });
      log.error('Failed to reload the web configuration; the previous one stays in use', { file: this.path, [F.err]: errorFields(err) });
      return;
    }
    if (this.closed) return;
    if ((next.tls === undefined) !== (this.config.tls === undefined)) {
      this.deps.metrics.fileReloads.inc({ file: 'web_config', result: 'error' });
      log.error('Failed to reload the web configuration; the previous one stays in use', {
        file: this.path,
        [F.err]: { name: 'Error', message: 'switching between HTTP and HTTPS (adding or removing tls_server_config) needs a restart' },
      });
      return;
    }
    const filesChanged = next.files.join('\n') !== this.config.files.join('\n');
    this.config = next;
    for (const listener of this.listeners) listener(next);
    this.deps.metrics.fileReloads.inc({ file: 'web_config', result: 'success' });
    log.info('Reloaded the web configuration', { file: this.path, tls: next.tls !== undefined, users: next.users.size });
    if (filesChanged) {
      // The configuration names other files now: watch those instead.
      this.watch?.close();
      await this.watchFiles(next.files);
    }
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
  }
}
