import winston from 'winston';

/** Log field names, defined once (STYLE.md "Logging"). */
export const F = {
  component: 'component',
  namespace: 'namespace',
  groupingKey: 'groupingKey',
  job: 'job',
  owner: 'owner',
  reason: 'reason',
  remote: 'remote',
  method: 'method',
  route: 'route',
  status: 'status',
  durationMs: 'durationMs',
  bytes: 'bytes',
  kind: 'kind',
  file: 'file',
  op: 'op',
  /** A Kubernetes API verb (get, list, watch, create, update) and resource (`leases.coordination.k8s.io`). */
  verb: 'verb',
  resource: 'resource',
  err: 'err',
} as const;

export type Component = 'gateway' | 'store' | 'lifecycle' | 'leadership' | 'kube' | 'main';

export type Logger = winston.Logger;

export interface LoggerOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly format: 'json' | 'logfmt';
  /** Where to write; stdout by default. Tests pass a stream to read the lines back. */
  readonly stream?: NodeJS.WritableStream;
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

const logfmt = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info;
  const pairs = [`ts=${String(timestamp)}`, `level=${level}`, `msg=${logfmtValue(message)}`];
  for (const [key, value] of Object.entries(rest)) pairs.push(`${key}=${logfmtValue(value)}`);
  return pairs.join(' ');
});

export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level,
    defaultMeta: { service: 'lethe' },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      options.format === 'json' ? winston.format.json() : logfmt,
    ),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });
}

/** An error as loggable fields (a raw Error serialises to {} in JSON). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(code === undefined ? {} : { code }), stack: err.stack };
  }
  return { message: String(err) };
}
