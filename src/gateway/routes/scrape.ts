import type { Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { negotiate } from '../../exposition/index.js';
import { F, errorFields } from '../../observability/index.js';
import type { ScrapeToken, TextPiece, TextRendering } from '../../store/index.js';
import type { GatewayDeps } from '../types.js';
import { gzipPieces } from './scrape-gzip.js';

const gzipAsync = promisify(gzip);

/**
 * Whether a GET of the metrics path comes from a scraper, whose complete response confirms that
 * the groups it served were scraped: its Accept names an exposition format the way Prometheus
 * asks for one (`application/openmetrics-text`, `text/plain;version=…`, delimited protobuf of
 * io.prometheus.client.MetricFamily), or its User-Agent matches `userAgent`
 * (--lifecycle.scraper-user-agent). A browser, curl or the web page's API calls are not.
 */
export function isScraper(headers: IncomingHttpHeaders, userAgent: RegExp | undefined): boolean {
  if (userAgent !== undefined && userAgent.test(headers['user-agent'] ?? '')) return true;
  for (const range of (headers.accept ?? '').split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (type === 'application/openmetrics-text') return true;
    if (type === 'text/plain' && params.some((p) => p.startsWith('version='))) return true;
    if (type === 'application/vnd.google.protobuf' && params.includes('proto=io.prometheus.client.metricfamily')) return true;
  }
  return false;
}

/**
 * Confirms a scrape once the whole response is handed to the network ('finish'). A response cut
 * off before that (the scraper gave up, the connection broke, a timeout here) confirms nothing:
 * 'close' comes without 'finish', as server.ts's clientError handling makes it; a plain Node
 * server that leaves such a socket to close later still emits 'finish' with the body unsent, but
 * the socket is destroyed by then, while a completed response leaves it open until after 'finish'.
 */
function confirmOnFinish(deps: GatewayDeps, res: Response, token: ScrapeToken, renderedAt: number): void {
  const socket = res.socket;
  if (token.groups.length === 0 || socket === null) return;
  res.once('finish', () => {
    if (socket.destroyed || socket.errored !== null) return;
    deps.store.confirmScraped(token, renderedAt).catch((err: unknown) => {
      deps.logger.child({ [F.component]: 'gateway' }).warn('Failed to record scrape of metric groups', { groups: token.groups.length, [F.err]: errorFields(err) });
    });
  });
}

/** Whether the pieces are the whole text (a store that does not hand out pieces leaves none). */
function piecesMake(pieces: readonly TextPiece[], body: string): boolean {
  let length = 0;
  for (const piece of pieces) length += piece.text.length;
  return pieces.length > 0 && length === body.length;
}

/**
 * GET /metrics: Lethe's own metrics merged with every stored group, in the format the Accept
 * header negotiates (exposition/negotiation.ts): OpenMetrics, the text format or delimited
 * protobuf, names escaped as the scraper asked.
 */
export function scrapeHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const own = await deps.ownFamilies();
    const now = deps.clock.now();
    const { format, escaping, contentType } = negotiate(req.headers.accept);
    res.setHeader('Content-Type', contentType);
    // Rendered inside settled(): a push not yet durable (it may still be refused) is never served.
    // The token is taken in the same read: exactly the groups (and generations) this response carries.
    const { store } = deps;
    const scraper = isScraper(req.headers, deps.config.lifecycle.scraperUserAgent);
    const none: ScrapeToken = { groups: [] };
    const gzip = /\bgzip\b/i.test(req.headers['accept-encoding'] ?? '');
    // A compressed text scrape also takes the rendering as pieces (the render cache keeps each
    // name's compressed text until it changes).
    const pieces: TextPiece[] = [];
    const rendering: TextRendering = { openMetrics: format.startsWith('openmetrics'), escaping, ...(gzip ? { pieces } : {}) };
    const rendered = await store.settled(() => ({
      body: format === 'protobuf' ? Buffer.concat(store.scrapeProtobuf(own, escaping)) : store.scrapeText(own, rendering),
      token: scraper ? store.scrapeToken() : none,
    }));
    if (scraper) confirmOnFinish(deps, res, rendered.token, now);
    // Text goes out as the string: a copy of a whole scrape as a Buffer would stay in memory
    // until the next garbage collection, while the socket's copy is freed once written.
    const body: Buffer | string = rendered.body;
    if (!gzip) {
      res.status(200).end(body);
      return;
    }
    res.setHeader('Content-Encoding', 'gzip');
    if (typeof body === 'string' && piecesMake(pieces, body)) {
      res.status(200).end(Buffer.concat(await gzipPieces(pieces)));
      return;
    }
    res.status(200).end(await gzipAsync(body));
  };
}
