import type { Express } from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BlockList, isIP } from 'node:net';
import type * as Https from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type * as Tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { ConfigError, ErrorCode, messageOf } from '../errors.js';
import { F, errorFields, type Logger, type Metrics } from '../observability/index.js';
import { FileWatch, defaultFileWatchTimings } from './file-watch.js';
import { secureContextOptions, type WebConfigSource, type WebTls } from './web-config.js';

// Imported as ES modules, node:http and node:https evaluate every export, and node:http's
// WebSocket and EventSource load undici: about 40 ms of every start for clients Lethe never uses.
// node:https and node:tls are loaded only when TLS is configured (loading node:tls reads the
// bundled root certificates: tens of ms of every start without TLS).
const { createServer } = process.getBuiltinModule('node:http');
const createHttpsServer = (): typeof Https.createServer => process.getBuiltinModule('node:https').createServer;
const createSecureContext: typeof Tls.createSecureContext = (options) => process.getBuiltinModule('node:tls').createSecureContext(options);

export interface ListeningServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly headerTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly connections: ConnectionLimit;
  /** HTTPS with this PEM pair, reloaded when the files change. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** --web.config.file: HTTPS and client certificates from there when it has tls_server_config. */
  readonly webConfig?: WebConfigSource;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** How often the TLS files are re-read without a change event (ms); tests shorten it. */
  readonly tlsPollMs?: number;
}

/**
 * Counts open connections and marks those over --limits.max-connections: the app answers their
 * requests 429 with `Connection: close` (a plain TCP reset would look like a crash to clients).
 */
export class ConnectionLimit {
  private open = 0;
  private readonly over = new WeakSet<object>();

  constructor(
    private readonly max: number,
    private readonly metrics: Metrics,
  ) {}

  readonly overLimit = (socket: object): boolean => this.over.has(socket);

  track(socket: Socket): void {
    this.open++;
    this.metrics.openConnections.set(this.open);
    if (this.max > 0 && this.open > this.max) {
      this.over.add(socket);
      this.metrics.limitRejections.inc({ limit: 'max_connections' });
    }
    socket.once('close', () => {
      this.open--;
      this.metrics.openConnections.set(this.open);
    });
  }
}

/** Node's own answers to a request it could not parse (lib/_http_server.js), kept as they are. */
const PARSE_ERRORS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
};
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

function timeoutAnswer(options: ServerOptions): string {
  const body = `limit exceeded: the request was not received in time (--limits.header-timeout=${options.headerTimeoutMs / 1000}s for its headers, --limits.request-timeout=${options.requestTimeoutMs / 1000}s for all of it)\n`;
  return `HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Answers a client error as Node does without a listener, except that a timeout is counted
 * (`lethe_limit_rejections_total{limit="request_timeout"}`) and its 408 says which limit it hit.
 * Like Node, nothing is written when a response on that connection has already begun.
 */
function answerClientErrors(server: Server, options: ServerOptions): void {
  const inFlight = new WeakMap<object, ServerResponse>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(req.socket, res);
    res.once('finish', () => {
      if (inFlight.get(req.socket) === res) inFlight.delete(req.socket);
    });
  });
  const timeout = timeoutAnswer(options);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (timedOut) options.metrics.limitRejections.inc({ limit: 'request_timeout' });
    const res = inFlight.get(socket);
    if (socket.writable && (res === undefined || !res.headersSent)) {
      socket.write(timedOut ? timeout : (PARSE_ERRORS[err.code ?? ''] ?? BAD_REQUEST));
    }
    socket.destroy(err);
  });
}

/** Loads the TLS pair; a pair that cannot be read or does not match stops start-up. */
async function watchTls(
  tls: NonNullable<ServerOptions['tls']>,
  options: ServerOptions,
  apply: (context: { cert: Buffer; key: Buffer }) => void,
): Promise<{ context: { cert: Buffer; key: Buffer }; watch: FileWatch }> {
  const log = options.logger.child({ [F.component]: 'gateway' });
  const check = (cert: Buffer, key: Buffer): { cert: Buffer; key: Buffer } => {
    createSecureContext({ cert, key });
    return { cert, key };
  };
  let opened: Awaited<ReturnType<typeof FileWatch.open>>;
  try {
    opened = await FileWatch.open([tls.certFile, tls.keyFile], {
      pollMs: options.tlsPollMs ?? defaultFileWatchTimings.pollMs,
      debounceMs: defaultFileWatchTimings.debounceMs,
      onChange: ([cert, key]) => {
        if (cert === undefined || key === undefined) return;
        apply(check(cert, key));
        options.metrics.fileReloads.inc({ file: 'tls', result: 'success' });
        log.info('Reloaded TLS certificate', { file: tls.certFile });
      },
      onError: (err) => {
        options.metrics.fileReloads.inc({ file: 'tls', result: 'error' });
        log.error('Failed to reload TLS certificate; the previous one stays in use', { file: tls.certFile, [F.err]: errorFields(err) });
      },
    });
    const [cert, key] = opened.contents;
    if (cert === undefined || key === undefined) throw new Error('missing file');
    return { context: check(cert, key), watch: opened.watch };
  } catch (err) {
    throw new ConfigError(
      ErrorCode.config,
      `invalid configuration:\n  --web.tls.cert-file=${JSON.stringify(tls.certFile)}, --web.tls.key-file=${JSON.stringify(tls.keyFile)}: ${messageOf(err)}`,
      { cause: err },
    );
  }
}

/** The SANs of a certificate as Node lists them (`DNS:a, IP Address:1.2.3.4, URI:"x,y"`). */
export function subjectAltNames(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      // Node quotes a value that holds a comma or a quote as a JSON string.
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        value = text.slice(colon + 2, end);
      }
      next = text.indexOf(', ', end);
    } else {
      next = text.indexOf(', ', colon);
      value = text.slice(colon + 1, next === -1 ? undefined : next);
    }
    out.push(value);
    if (next === -1) break;
    i = next + 2;
  }
  return out;
}

/** True when one of the certificate's SANs is in the allowed list (IP addresses compared as addresses). */
export function sanAllowed(sans: readonly string[], allowed: readonly string[]): boolean {
  for (const san of sans) {
    if (allowed.includes(san)) return true;
    const family = isIP(san);
    if (family === 0) continue;
    for (const a of allowed) {
      if (isIP(a) !== family) continue;
      const list = new BlockList();
      list.addAddress(a, family === 4 ? 'ipv4' : 'ipv6');
      if (list.check(san, family === 4 ? 'ipv4' : 'ipv6')) return true;
    }
  }
  return false;
}

/**
 * Why a client's certificate does not meet the web configuration's policy, or undefined when it
 * does (as Go's crypto/tls and the toolkit's SAN check judge it).
 */
export function clientCertificateProblem(tls: WebTls, socket: Pick<TLSSocket, 'authorized' | 'getPeerCertificate'>): string | undefined {
  if (tls.clientAuth === 'NoClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const presented = Object.keys(cert).length > 0;
  if (!presented && (tls.clientAuth === 'RequireAnyClientCert' || tls.clientAuth === 'RequireAndVerifyClientCert')) return 'no client certificate';
  if (presented && !socket.authorized && (tls.clientAuth === 'VerifyClientCertIfGiven' || tls.clientAuth === 'RequireAndVerifyClientCert')) {
    return 'client certificate not verified by client_ca';
  }
  if (tls.allowedSans !== undefined) {
    if (!presented) return 'no client certificate (client_allowed_sans is set)';
    if (!sanAllowed(subjectAltNames(cert.subjectaltname), tls.allowedSans)) return 'no allowed SAN in the client certificate';
  }
  return undefined;
}

/** Node's per-connection client-certificate switches for a policy (the rest is checked after the handshake). */
function clientCertSwitches(tls: WebTls): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: tls.clientAuth !== 'NoClientCert', rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert' };
}

/**
 * Listens on host:port (host '' = all interfaces), over HTTPS when a TLS pair or a web
 * configuration with tls_server_config is given, with the header and request timeouts and the
 * connection limit applied.
 */
export async function listen(app: Express, host: string, port: number, options?: ServerOptions): Promise<ListeningServer> {
  const timeouts = {
    requestTimeout: options?.requestTimeoutMs ?? 5 * 60_000,
    headersTimeout: options?.headerTimeoutMs ?? 60_000,
    keepAliveTimeout: 65_000,
  };
  // Node checks the timeouts on this interval; a short timeout needs a shorter one to be kept.
  const shortest = Math.min(...[timeouts.requestTimeout, timeouts.headersTimeout].filter((t) => t > 0), 30_000);
  const serverOptions = { ...timeouts, connectionsCheckingInterval: Math.max(50, Math.floor(shortest / 4)) };
  let server: Server;
  let tlsWatch: FileWatch | undefined;
  const webTls = options?.webConfig?.current.tls;
  if (options?.webConfig !== undefined && webTls !== undefined) {
    const source = options.webConfig;
    const log = options.logger.child({ [F.component]: 'gateway' });
    let current = webTls;
    const https = createHttpsServer()({ ...serverOptions, ...secureContextOptions(current), ...clientCertSwitches(current) }, app);
    source.onChange((config) => {
      if (config.tls === undefined) return;
      current = config.tls;
      https.setSecureContext(secureContextOptions(current));
      // Node reads these two per connection; setSecureContext leaves them alone.
      Object.assign(https, clientCertSwitches(current));
    });
    https.on('secureConnection', (socket: TLSSocket) => {
      const problem = clientCertificateProblem(current, socket);
      if (problem !== undefined) {
        options.metrics.authFailures.inc({ reason: 'client_certificate' });
        log.debug('Refused connection', { [F.reason]: problem, [F.remote]: socket.remoteAddress ?? '' });
        socket.destroy();
        return;
      }
      options.connections.track(socket);
    });
    server = https;
  } else if (options?.tls === undefined) {
    server = createServer(serverOptions, app);
    if (options !== undefined) server.on('connection', (socket: Socket) => options.connections.track(socket));
  } else {
    const holder: { https?: HttpsServer } = {};
    const loaded = await watchTls(options.tls, options, (context) => holder.https?.setSecureContext(context));
    tlsWatch = loaded.watch;
    const https = createHttpsServer()({ ...serverOptions, ...loaded.context, minVersion: 'TLSv1.2' }, app);
    holder.https = https;
    https.on('secureConnection', (socket: Socket) => options.connections.track(socket));
    server = https;
  }
  if (options !== undefined) answerClientErrors(server, options);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host === '' ? undefined : host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    tlsWatch?.close();
    throw err;
  }
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    server,
    port: actualPort,
    close: () =>
      new Promise<void>((resolve, reject) => {
        tlsWatch?.close();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeIdleConnections();
      }),
  };
}
