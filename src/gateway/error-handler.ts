import type { NextFunction, Request, Response } from 'express';
import { LetheError, MethodNotAllowedError, UnauthorizedError, UnavailableError } from '../errors.js';
import { F, errorFields, type Logger } from '../observability/index.js';

/**
 * The one place that turns errors into HTTP answers. Pushgateway routes answer in plain text
 * as upstream does; /api/v1 routes use the {status, errorType, error} envelope. Express's own
 * handler never answers (it would render stack traces).
 */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const isApi = (res.locals['api'] as boolean | undefined) === true;
    let status = 500;
    let message = 'internal error; see the Lethe log';
    if (err instanceof LetheError) {
      status = err.httpStatus;
      message = err.message;
      if (err instanceof MethodNotAllowedError) res.setHeader('Allow', err.allow.join(', '));
      const challenges = err instanceof UnauthorizedError ? err.details?.['challenges'] : undefined;
      if (Array.isArray(challenges) && !res.headersSent) res.setHeader('WWW-Authenticate', challenges.map(String));
      if (err instanceof UnavailableError && !res.headersSent) res.setHeader('Retry-After', String(retryAfterOf(err)));
      logger.debug('Rejected request', { [F.method]: req.method, [F.status]: status, [F.err]: errorFields(err) });
    } else {
      logger.error('Failed request', { [F.method]: req.method, [F.route]: req.path, [F.err]: errorFields(err) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (isApi && !(err instanceof MethodNotAllowedError)) {
      res.setHeader('Content-Type', 'application/json');
      res.status(status).end(JSON.stringify({ status: 'error', errorType: status >= 500 ? 'internal' : 'bad_data', error: message }));
      return;
    }
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.status(status).end(`${message}\n`);
  };
}

/** Seconds a client should wait before retrying a 503: the error's own hint, else 5. */
function retryAfterOf(err: UnavailableError): number {
  const hint = err.details?.['retryAfterSeconds'];
  return typeof hint === 'number' && Number.isFinite(hint) && hint > 0 ? Math.ceil(hint) : 5;
}
