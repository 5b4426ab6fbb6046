/**
 * A real redis-server for tests: Debian's package (the Makefile's `redis` target installs it),
 * or LETHE_REDIS_SERVER. Started on a free loopback port with its own data directory, with the
 * durability settings Lethe documents: append-only file, fsync before every answer, no eviction.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort } from './ports.js';
import { TestProcess } from './processes.js';

export interface RedisServerOptions {
  /** Data directory (the append-only file lives here); kept across restart(). */
  readonly dir: string;
  readonly port?: number;
}

export function redisServerBinary(): string {
  const fromEnv = process.env['LETHE_REDIS_SERVER'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'redis-server';
}

export class RedisServer {
  private proc: TestProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(options: RedisServerOptions): Promise<RedisServer> {
    mkdirSync(options.dir, { recursive: true });
    const server = new RedisServer(options.port ?? (await freePort()), options.dir);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc?.running === true;
  }

  private async launch(): Promise<void> {
    this.proc = new TestProcess({
      name: 'redis-server',
      command: redisServerBinary(),
      args: [
        '--port', String(this.port),
        '--bind', '127.0.0.1',
        '--dir', this.dir,
        '--appendonly', 'yes',
        '--appendfsync', 'always',
        '--save', '',
        '--maxmemory-policy', 'noeviction',
        '--protected-mode', 'no',
        '--daemonize', 'no',
        '--logfile', join(this.dir, 'redis.log'),
      ],
    });
    await eventually(
      async () => {
        if (this.proc?.running !== true) throw new Error(`redis-server exited (log: ${join(this.dir, 'redis.log')})`);
        const client = this.client({ lazyConnect: true });
        try {
          await client.connect();
          if ((await client.ping()) !== 'PONG') throw new Error('no PONG');
        } finally {
          client.disconnect();
        }
      },
      { timeout: 30_000, interval: 100 },
    );
  }

  /** A client for the test itself (the caller disconnects it). */
  client(extra: { readonly lazyConnect?: boolean } = {}): Redis {
    return new Redis({ host: '127.0.0.1', port: this.port, maxRetriesPerRequest: 1, retryStrategy: () => 100, ...extra });
  }

  /** SIGKILL: no shutdown save; only what the append-only file has survives. */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  /** Starts again on the same port and data directory. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}
