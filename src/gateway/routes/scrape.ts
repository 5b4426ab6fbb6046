import type { Request, Response } from 'express';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { GatewayDeps } from '../types.js';

const gzipAsync = promisify(gzip);

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores';
export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores';

/** Whether the scraper asked for delimited protobuf (as client_golang's negotiation reads Accept). */
export function wantsProtobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';');
    if (type.trim().toLowerCase() !== 'application/vnd.google.protobuf') continue;
    const values = new Map(params.map((p) => p.split('=').map((x) => x.trim()) as [string, string]));
    if (values.get('proto') === 'io.prometheus.client.MetricFamily' && values.get('encoding') === 'delimited') return true;
  }
  return false;
}

/** GET /metrics: Lethe's own metrics merged with every stored group. */
export function scrapeHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    deps.metrics.groups.set(deps.store.groupCount);
    deps.metrics.series.set(deps.store.seriesCount);
    const own = await deps.ownFamilies();
    const now = deps.clock.now();
    // Text goes out as the string: a copy of a whole scrape as a Buffer would stay in memory
    // until the next garbage collection, while the socket's copy is freed once written.
    let body: Buffer | string;
    // Rendered inside settled(): a push not yet durable (it may still be refused) is never served.
    const { store } = deps;
    if (wantsProtobuf(req.headers.accept)) {
      res.setHeader('Content-Type', PROTOBUF_CONTENT_TYPE);
      body = Buffer.concat(await store.settled(() => store.scrapeProtobuf(own, now)));
    } else {
      res.setHeader('Content-Type', TEXT_CONTENT_TYPE);
      body = await store.settled(() => store.scrapeText(own, now));
    }
    if (/\bgzip\b/i.test(req.headers['accept-encoding'] ?? '')) {
      res.setHeader('Content-Encoding', 'gzip');
      body = await gzipAsync(body);
    }
    res.status(200).end(body);
  };
}
