/**
 * Lethe's error catalogue. Errors are grouped by what the caller should do; each carries a
 * stable code (for docs and tests) and the HTTP status the gateway answers with.
 */

export interface LetheErrorOptions {
  readonly cause?: unknown;
  readonly details?: Readonly<Record<string, unknown>>;
}

export abstract class LetheError extends Error {
  abstract readonly httpStatus: number;
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: LetheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

export class BadRequestError extends LetheError {
  readonly httpStatus = 400;
}

export class UnauthorizedError extends LetheError {
  readonly httpStatus = 401;
}

export class ForbiddenError extends LetheError {
  readonly httpStatus = 403;
}

export class NotFoundError extends LetheError {
  readonly httpStatus = 404;
}

export class MethodNotAllowedError extends LetheError {
  readonly httpStatus = 405;
  readonly allow: readonly string[];

  constructor(message: string, allow: readonly string[]) {
    super('LETHE_METHOD_NOT_ALLOWED', message);
    this.allow = allow;
  }
}

export class PayloadTooLargeError extends LetheError {
  readonly httpStatus = 413;
}

export class TooManyRequestsError extends LetheError {
  readonly httpStatus = 429;
}

export class UnavailableError extends LetheError {
  readonly httpStatus = 503;
}

/** Start-up only: bad flags, environment or files. main.ts exits with status 2. */
export class ConfigError extends LetheError {
  readonly httpStatus = 500;
  readonly exitCode = 2;
}

/** Stable codes, so tests and docs can name them. */
export const ErrorCode = {
  badGroupingKey: 'LETHE_BAD_GROUPING_KEY',
  badPath: 'LETHE_BAD_PATH',
  badBody: 'LETHE_BAD_BODY',
  badEncoding: 'LETHE_BAD_CONTENT_ENCODING',
  inconsistentPush: 'LETHE_INCONSISTENT_PUSH',
  bodyTooLarge: 'LETHE_LIMIT_BODY_BYTES',
  tooManySeries: 'LETHE_LIMIT_SERIES_PER_PUSH',
  tooManyLabels: 'LETHE_LIMIT_LABELS_PER_SERIES',
  labelTooLong: 'LETHE_LIMIT_LABEL_LENGTH',
  tooManyGroups: 'LETHE_LIMIT_GROUPS',
  namespaceGroups: 'LETHE_LIMIT_NAMESPACE_GROUPS',
  namespaceSeries: 'LETHE_LIMIT_NAMESPACE_SERIES',
  heapFull: 'LETHE_LIMIT_HEAP',
  tooManyConnections: 'LETHE_LIMIT_CONNECTIONS',
  rateLimited: 'LETHE_LIMIT_RATE',
  requestTimeout: 'LETHE_LIMIT_REQUEST_TIMEOUT',
  unauthenticated: 'LETHE_UNAUTHENTICATED',
  badCredentials: 'LETHE_BAD_CREDENTIALS',
  authUnavailable: 'LETHE_AUTH_UNAVAILABLE',
  otherNamespace: 'LETHE_FORBIDDEN_NAMESPACE',
  noNamespace: 'LETHE_FORBIDDEN_NO_NAMESPACE',
  notAdmin: 'LETHE_FORBIDDEN_NOT_ADMIN',
  crossSite: 'LETHE_FORBIDDEN_CROSS_SITE',
  notFound: 'LETHE_NOT_FOUND',
  lifecycleDisabled: 'LETHE_LIFECYCLE_DISABLED',
  storeUnavailable: 'LETHE_STORE_UNAVAILABLE',
  persistence: 'LETHE_PERSISTENCE',
  config: 'LETHE_CONFIG',
} as const;

/** The message of anything thrown, for wrapping into a LetheError. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
