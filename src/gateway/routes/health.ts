import type { Request, Response } from 'express';
import type { GatewayDeps } from '../types.js';

function plain(res: Response, status: number, body: string): void {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.status(status).end(body);
}

/**
 * /-/healthy (liveness): the process serves HTTP. A store that cannot write (a full disk) does
 * not fail it: a restart would not fix the disk, and the store heals by itself.
 */
export function livenessHandler() {
  return (_req: Request, res: Response): void => {
    plain(res, 200, 'OK');
  };
}

/** /-/ready (readiness): 503 with the reason while the store cannot take writes. */
export function readinessHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    const health = deps.store.health();
    if (health.writable) plain(res, 200, 'OK');
    else plain(res, 503, `not ready: ${health.problem ?? 'the store cannot take writes'}\n`);
  };
}

/** PUT/POST /-/quit. */
export function quitHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (!deps.config.web.enableLifecycle) {
      res.status(403).end('Lifecycle API is not enabled.');
      return;
    }
    res.status(200).end('Requesting termination... Goodbye!');
    deps.onQuit();
  };
}
