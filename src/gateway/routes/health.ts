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
