import type { Request, Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { negotiate } from '../../exposition/index.js';
import { F, errorFields } from '../../observability/index.js';
import type { ScrapeToken, TextRendering } from '../../store/index.js';
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

/** Pieces shorter than this are copied together before writing, so that many small names do not make as many writes. */
const SMALL_PIECE = 64 * 1024;

/**
 * Answers 200 with the pieces in order as the body (their total as Content-Length), written as
 * they are in one corked write: the socket hands them to the kernel as one vectored write, and no
 * copy of the whole answer (as one string or buffer) is made.
 */
export function sendPieces(res: Response, pieces: readonly Uint8Array[]): void {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  res.status(200).setHeader('Content-Length', length);
  res.cork();
  let small: Uint8Array[] = [];
  let smallLength = 0;
  const flush = (): void => {
    if (smallLength > 0) res.write(Buffer.concat(small, smallLength));
    small = [];
    smallLength = 0;
  };
  for (const piece of pieces) {
    if (piece.length >= SMALL_PIECE) {
      flush();
      res.write(piece);
    } else if (piece.length > 0) {
      small.push(piece);
      smallLength += piece.length;
      if (smallLength >= SMALL_PIECE) flush();
    }
  }
  flush();
  res.end();
  res.uncork();
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
    // Text comes as pieces: each name's merged text as the render cache keeps it (UTF-8 bytes,
    // with its compression once a compressed scrape made it, until the text changes).
    const rendering: TextRendering = { openMetrics: format.startsWith('openmetrics'), escaping, compressed: gzip };
    const rendered = await store.settled(() => ({
      body: format === 'protobuf' ? { protobuf: store.scrapeProtobuf(own, escaping) } : { text: store.scrapePieces(own, rendering) },
      token: scraper ? store.scrapeToken() : none,
    }));
    if (scraper) confirmOnFinish(deps, res, rendered.token, now);
    const { body } = rendered;
    if (!gzip) {
      sendPieces(res, 'text' in body ? body.text.map((piece) => piece.bytes) : body.protobuf);
      return;
    }
    res.setHeader('Content-Encoding', 'gzip');
    sendPieces(res, 'text' in body ? await gzipPieces(body.text) : [await gzipAsync(Buffer.concat(body.protobuf))]);
  };
}
