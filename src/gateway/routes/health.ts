import type { Request, Response } from 'express';
import type { GatewayDeps } from '../types.js';

function answer(res: Response, ok: boolean, failure: string): void {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  if (ok) res.status(200).end('OK');
  else res.status(500).end(`${failure}\n`);
}

/** /-/healthy and /-/ready: the store can take writes. */
export function healthHandler(deps: GatewayDeps) {
  return (_req: Request, res: Response): void => {
    answer(res, deps.store.healthy(), 'store cannot write its persistence file');
  };
}

/**
 * /-/ready: as /-/healthy, and no problem that needs a person and makes this replica unfit to
 * serve (a forbidden Lease or watch): 503 with one line per problem. A rollout of a replica that
 * lacks permissions then stops at it instead of replacing a working one.
 */
export function readyHandler(deps: GatewayDeps) {
  const health = healthHandler(deps);
  return (req: Request, res: Response): void => {
    const blocking = (deps.problems?.() ?? []).filter((p) => p.failsReadiness);
    if (blocking.length === 0 || !deps.store.healthy()) {
      health(req, res);
      return;
    }
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.status(503).end(`${blocking.map((p) => `${p.reason}: ${p.message}`).join('\n')}\n`);
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
