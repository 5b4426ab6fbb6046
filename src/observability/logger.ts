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

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export interface LoggerOptions {
  readonly level: (typeof LEVELS)[number];
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

type LevelMethod = (this: Logger | undefined, ...args: unknown[]) => Logger;

/**
 * winston formats every call (the timestamp, the JSON) and only then lets the transport drop a
 * level that is off: about 4 µs for each debug line nobody sees, on paths such as every refused
 * request. Here each level's method of the logger (and of its children, which inherit it)
 * returns at once when its level is off.
 */
function skippingLevelsOff(logger: Logger): Logger {
  const methods = Object.getPrototypeOf(logger) as Record<(typeof LEVELS)[number], LevelMethod>;
  for (const level of LEVELS) {
    const log = methods[level];
    methods[level] = function (this: Logger | undefined, ...args: unknown[]): Logger {
      // As winston's own methods: called without an instance, the logger itself.
      const self = this ?? logger;
      return self.isLevelEnabled(level) ? log.apply(self, args) : self;
    };
  }
  return logger;
}

export function createLogger(options: LoggerOptions): Logger {
  return skippingLevelsOff(winston.createLogger({
    level: options.level,
    defaultMeta: { service: 'lethe' },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      options.format === 'json' ? winston.format.json() : logfmt,
    ),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  }));
}

/** An error as loggable fields (a raw Error serialises to {} in JSON). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(code === undefined ? {} : { code }), stack: err.stack };
  }
  return { message: String(err) };
}
