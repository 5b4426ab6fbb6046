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

/**
 * /-/ready (readiness): 503 with one line per reason while the store cannot take writes, or while
 * a problem that needs a person makes this replica unfit to serve (a forbidden Lease or watch). A
 * rollout of a replica that lacks permissions then stops at it instead of replacing a working one.
 */
export function readinessHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    const reasons: string[] = [];
    const health = deps.store.health();
    if (!health.writable) reasons.push(`not ready: ${health.problem ?? 'the store cannot take writes'}`);
    for (const p of deps.problems?.() ?? []) if (p.failsReadiness) reasons.push(`${p.reason}: ${p.message}`);
    if (reasons.length === 0) plain(res, 200, 'OK');
    else plain(res, 503, `${reasons.join('\n')}\n`);
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
