/**
 * A small TCP proxy for fault tests: it forwards every connection to a target and can hold back
 * what the target sends on chosen connections (buffered, in order, until released), or let what
 * the client sends through only slowly. Used to put one client's view behind (a Lethe replica's
 * Redis change feed, while its commands go through at once), or to stretch a burst of commands
 * so that a fault lands in its middle.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProxyConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The first bytes the client sent (up to 4 KiB), to tell connections apart. */
  hello: string;
  held: boolean;
  readonly pending: Buffer[];
  /** Bytes per millisecond the client may send; undefined: unlimited. */
  rate: number | undefined;
  readonly outbound: Buffer[];
}

export class TcpProxy {
  private readonly connections = new Set<ProxyConnection>();
  private pump: NodeJS.Timeout | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    const proxy = new TcpProxy(server, address.port);
    server.on('connection', (client: Socket) => proxy.accept(client, targetHost, targetPort));
    return proxy;
  }

  private accept(client: Socket, host: string, port: number): void {
    const upstream = connect(port, host);
    const conn: ProxyConnection = { client, upstream, hello: '', held: false, pending: [], rate: undefined, outbound: [] };
    this.connections.add(conn);
    client.on('data', (chunk: Buffer) => {
      if (conn.hello.length < 4096) conn.hello += chunk.toString('latin1').slice(0, 4096 - conn.hello.length);
      if (conn.rate === undefined) upstream.write(chunk);
      else conn.outbound.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (conn.held) conn.pending.push(chunk);
      else client.write(chunk);
    });
    const close = (): void => {
      this.connections.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  /** Holds back what the target sends on the open connections whose first bytes contain `marker`; returns how many. */
  hold(marker: string): number {
    let n = 0;
    for (const conn of this.connections) {
      if (!conn.hello.includes(marker)) continue;
      conn.held = true;
      n++;
    }
    return n;
  }

  /** Lets the clients of the open connections whose first bytes contain `marker` send only `bytesPerMs`; returns how many. */
  throttle(marker: string, bytesPerMs: number): number {
    let n = 0;
    for (const conn of this.connections) {
      if (!conn.hello.includes(marker)) continue;
      conn.rate = bytesPerMs;
      n++;
    }
    this.pump ??= setInterval(() => {
      for (const conn of this.connections) {
        let budget = conn.rate ?? 0;
        while (budget > 0 && conn.outbound.length > 0) {
          const chunk = conn.outbound.shift() ?? Buffer.alloc(0);
          if (chunk.length > budget) conn.outbound.unshift(chunk.subarray(budget));
          conn.upstream.write(chunk.subarray(0, budget));
          budget -= Math.min(budget, chunk.length);
        }
      }
    }, 1);
    return n;
  }

  /** Sends everything held back or queued, in order, and forwards at once again. */
  release(): void {
    for (const conn of this.connections) {
      conn.held = false;
      for (const chunk of conn.pending.splice(0)) conn.client.write(chunk);
      conn.rate = undefined;
      for (const chunk of conn.outbound.splice(0)) conn.upstream.write(chunk);
    }
  }

  async stop(): Promise<void> {
    if (this.pump !== undefined) clearInterval(this.pump);
    for (const conn of this.connections) {
      conn.client.destroy();
      conn.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
