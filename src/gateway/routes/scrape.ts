import type { Request, Response } from 'express';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { negotiate } from '../../exposition/index.js';
import type { GatewayDeps } from '../types.js';

const gzipAsync = promisify(gzip);

/**
 * GET /metrics: Lethe's own metrics merged with every stored group, in the format the Accept
 * header negotiates (exposition/negotiation.ts): OpenMetrics, the text format or delimited
 * protobuf, names escaped as the scraper asked.
 */
export function scrapeHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    deps.metrics.groups.set(deps.store.groupCount);
    deps.metrics.series.set(deps.store.seriesCount);
    const own = await deps.ownFamilies();
    const now = deps.clock.now();
    const { format, escaping, contentType } = negotiate(req.headers.accept);
    res.setHeader('Content-Type', contentType);
    // Text goes out as the string: a copy of a whole scrape as a Buffer would stay in memory
    // until the next garbage collection, while the socket's copy is freed once written.
    let body: Buffer | string;
    if (format === 'protobuf') {
      body = Buffer.concat(deps.store.scrapeProtobuf(own, now, escaping));
    } else {
      body = deps.store.scrapeText(own, now, { openMetrics: format.startsWith('openmetrics'), escaping });
    }
    if (/\bgzip\b/i.test(req.headers['accept-encoding'] ?? '')) {
      res.setHeader('Content-Encoding', 'gzip');
      body = await gzipAsync(body);
    }
    res.status(200).end(body);
  };
}
