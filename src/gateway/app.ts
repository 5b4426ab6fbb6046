import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { MethodNotAllowedError, NotFoundError, ErrorCode, TooManyRequestsError, ForbiddenError } from '../errors.js';
import { createAuthentication, type Access } from './auth/authenticate.js';
import { decodeBody, readBody } from './body/decompress.js';
import { errorHandler } from './error-handler.js';
import { decodeRequestPath } from './request-path.js';
import { groupsApiHandler } from './routes/api-groups.js';
import { metricsApiHandler, optionsApiHandler, setApiHeaders, statusApiHandler, wipeHandler } from './routes/api-v1.js';
import { livenessHandler, quitHandler, readinessHandler } from './routes/health.js';
import { deleteHandler, pushHandler, type PushTarget } from './routes/push.js';
import { scrapeHandler } from './routes/scrape.js';
import { webHandler } from './routes/web.js';
import type { GatewayDeps } from './types.js';

type Handler = (req: Request, res: Response) => void | Promise<void>;

interface Route {
  readonly name: string;
  readonly methods: Readonly<Record<string, Handler>>;
  readonly api?: boolean;
  /** Who may use it when authentication is on (OPTIONS is always open). */
  readonly access: Access;
}

const PUSH_PATH = /^\/metrics\/(job|job@base64)\/([^/]*)(\/.*)?$/;
const PUSH_METHODS = ['DELETE', 'OPTIONS', 'POST', 'PUT'];

/**
 * Builds the express app (no listen: tests drive it directly). Routing works on the
 * percent-decoded path, as the Pushgateway's does, so a custom dispatcher replaces express's
 * path matching.
 */
export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const { routePrefix, telemetryPath, enableAdminApi } = deps.config.web;

  const put = pushHandler(deps, 'PUT');
  const post = pushHandler(deps, 'POST');
  const del = deleteHandler(deps);
  const quit = quitHandler(deps);
  const web = webHandler(deps);
  const auth = createAuthentication({ config: deps.config, authenticators: deps.authenticators ?? [], logger: deps.logger, metrics: deps.metrics });

  const fixed = new Map<string, Route>([
    [telemetryPath, { name: 'metrics', methods: { GET: scrapeHandler(deps) }, access: 'read' }],
    ['/-/healthy', { name: 'healthy', methods: { GET: livenessHandler() }, access: 'open' }],
    ['/-/ready', { name: 'ready', methods: { GET: readinessHandler(deps) }, access: 'open' }],
    ['/-/quit', { name: 'quit', methods: { PUT: quit, POST: quit }, access: 'admin' }],
    ['/', { name: 'status', methods: { GET: web }, access: 'read' }],
    ['/status', { name: 'status', methods: { GET: web }, access: 'read' }],
    ['/api/v1/metrics', { name: 'api/v1/metrics', methods: { GET: metricsApiHandler(deps) }, api: true, access: 'read' }],
    ['/api/v1/status', { name: 'api/v1/status', methods: { GET: statusApiHandler(deps) }, api: true, access: 'read' }],
    // Lethe's own (no such route upstream): what the web page shows.
    ['/api/v1/groups', { name: 'api/v1/groups', methods: { GET: groupsApiHandler(deps) }, api: true, access: 'read' }],
  ]);
  if (enableAdminApi) {
    fixed.set('/api/v1/admin/wipe', { name: 'wipe', methods: { PUT: wipeHandler(deps) }, api: true, access: 'admin' });
  }
  /** With authentication on, a write a browser sends from another site (CSRF with cached basic credentials) is refused. */
  const refuseCrossSite = (req: Request, access: Access): void => {
    if (!deps.config.auth.enabled || (access !== 'write' && access !== 'admin')) return;
    const site = req.headers['sec-fetch-site'];
    if (site === undefined || site === 'same-origin' || site === 'none') return;
    deps.metrics.authFailures.inc({ reason: 'cross_site' });
    throw new ForbiddenError(ErrorCode.crossSite, 'forbidden: a write from a page of another site is refused');
  };
  const apiOptions = optionsApiHandler();

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    let handlerName = 'unknown';
    res.on('finish', () => {
      if (handlerName === 'metrics') return;
      deps.metrics.httpRequests.inc({ handler: handlerName, code: String(res.statusCode), method: req.method.toLowerCase() });
      void started;
    });
    const dispatch = async (): Promise<void> => {
      const fullPath = decodeRequestPath(req.originalUrl);
      const probe = fullPath === `${routePrefix}/-/healthy` || fullPath === `${routePrefix}/-/ready`;
      if (!probe && deps.overLimit?.(req.socket) === true) {
        // server.ts marked this connection as one over --limits.max-connections (and counted it);
        // probes still get through, so that a busy Lethe is not restarted for it.
        handlerName = 'limit';
        res.setHeader('Connection', 'close');
        throw new TooManyRequestsError(
          ErrorCode.tooManyConnections,
          `limit exceeded: more than ${deps.config.limits.maxConnections} open connections (--limits.max-connections); retry later`,
        );
      }
      // --web.config.file: its headers, rate limit and basic auth users come before everything else.
      await deps.webAccess?.check(req, res, probe);
      // Upstream never prefixes GET /-/quit's special answer.
      if (fullPath === '/-/quit' && req.method === 'GET') {
        handlerName = 'quit';
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.status(405).end('Only POST or PUT requests allowed.');
        return;
      }
      let path: string;
      if (routePrefix === '') path = fullPath;
      else if (fullPath === routePrefix || fullPath.startsWith(`${routePrefix}/`)) path = fullPath.slice(routePrefix.length) || '/';
      else throw new NotFoundError(ErrorCode.notFound, '404 page not found');

      const push = PUSH_PATH.exec(path);
      // An empty base64 job segment is no route upstream (404); an empty plain one is Lethe's 400.
      if (push !== null && !(push[1] === 'job@base64' && push[2] === '')) {
        handlerName = req.method === 'DELETE' ? 'delete' : 'push';
        const target: PushTarget = { jobIsBase64: push[1] === 'job@base64', jobSegment: push[2] ?? '', rest: push[3] ?? '' };
        const writes = req.method === 'PUT' || req.method === 'POST' || req.method === 'DELETE';
        if (writes) refuseCrossSite(req, 'write');
        const principal = await auth.check(req, writes ? 'write' : 'open');
        switch (req.method) {
          case 'PUT':
            return put(req, res, target, principal);
          case 'POST':
            return post(req, res, target, principal);
          case 'DELETE':
            return del(req, res, target, principal);
          case 'OPTIONS':
            res.setHeader('Allow', PUSH_METHODS.join(', '));
            res.status(200).end();
            return;
          default:
            throw new MethodNotAllowedError('Method Not Allowed', PUSH_METHODS);
        }
      }
      const route = fixed.get(path);
      if (route === undefined) {
        if (path.startsWith('/api/v1/') && req.method === 'OPTIONS') {
          res.locals['api'] = true;
          handlerName = 'api/v1/options';
          apiOptions(req, res);
          return;
        }
        throw new NotFoundError(ErrorCode.notFound, '404 page not found');
      }
      handlerName = route.name;
      res.locals['api'] = route.api === true;
      if (req.method !== 'OPTIONS') {
        refuseCrossSite(req, route.access);
        await auth.check(req, route.access);
      }
      if (route.api !== true && req.headers['content-encoding'] !== undefined) {
        // As upstream, every non-API request body passes the decoder: a bad one is a 400.
        await decodeBody(await readBody(req, deps.config.limits.bodyBytes), req.headers['content-encoding'], deps.config.limits.bodyBytes);
      }
      const handler = route.methods[req.method];
      if (handler !== undefined) return handler(req, res);
      const allow = [...Object.keys(route.methods), 'OPTIONS'].sort();
      if (req.method === 'OPTIONS') {
        if (route.api === true) setApiHeaders(res);
        res.setHeader('Allow', allow.join(', '));
        res.status(200).end();
        return;
      }
      throw new MethodNotAllowedError('Method Not Allowed', allow);
    };
    dispatch().catch(next);
  });
  app.use(errorHandler(deps.logger.child({ component: 'gateway' })));
  return app;
}
