import type { Request, Response } from 'express';
import type { GatewayDeps } from '../types.js';
import { renderWebPage } from './web-page.js';

/**
 * GET / (and /status): the web page. It lists the groups from /api/v1/groups, with owner,
 * policy and next deletion when the lifecycle provides them, and deletes a group through the
 * Pushgateway's DELETE route when the admin API is enabled.
 */
export function webHandler(deps: GatewayDeps) {
  const { html, contentSecurityPolicy } = renderWebPage({
    routePrefix: deps.config.web.routePrefix,
    telemetryPath: deps.config.web.telemetryPath,
  });
  return (_req: Request, res: Response): void => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', contentSecurityPolicy);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    res.status(200).end(html);
  };
}
