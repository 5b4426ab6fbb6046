import type { Express } from 'express';
import { createServer, type Server } from 'node:http';

export interface ListeningServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (host '' = all interfaces) with request timeouts set. */
export async function listen(app: Express, host: string, port: number): Promise<ListeningServer> {
  const server = createServer({ requestTimeout: 5 * 60_000, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    server,
    port: actualPort,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeIdleConnections();
      }),
  };
}
