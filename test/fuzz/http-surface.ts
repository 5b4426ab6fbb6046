/**
 * The whole HTTP surface for the fuzz properties: a standalone Lethe built by the composition
 * root (startLethe: real store with a persistence file, lifecycle loop, gateway) on a loopback
 * port, and a raw client (node:http, keep-alive) that sends request targets as they are, so
 * that `//`, `..`, bad escapes and non-ASCII bytes reach the server unnormalised.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/model/index.js';
import { startLethe, type RunningLethe } from '../../src/wiring/index.js';
import { capturingLogger } from '../harness/logger.js';

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface Surface {
  readonly lethe: RunningLethe;
  readonly persistenceFile: string;
  /** Error-level log lines so far (a 500, a failed write). */
  /** Lines logged at error level, parsed. */
  readonly errors: Record<string, unknown>[];
  /** Answers so far, by status. */
  readonly statuses: Map<number, number>;
  send(req: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

/** A clock that moves one second per reading: every push gets its own time. */
function tickingClock(): Clock {
  let ms = 1_700_000_000_000;
  return { now: () => (ms += 1000) };
}

export async function startSurface(flags: readonly string[]): Promise<Surface> {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-fuzz-'));
  const persistenceFile = join(dir, 'lethe.data');
  const loaded = loadConfig(['--web.listen-address=127.0.0.1:0', `--persistence.file=${persistenceFile}`, ...flags], {});
  if (loaded.kind !== 'config') throw new Error('no config');
  const { logger, lines: errors } = capturingLogger('error');
  const lethe = await startLethe(loaded.config, { logger, version: 'fuzz', clock: tickingClock() });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const statuses = new Map<number, number>();
  const send = (req: RawRequest): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port: lethe.port,
          method: req.method,
          path: req.path,
          headers: { ...req.headers, 'content-length': String(req.body.length) },
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
  return {
    lethe,
    persistenceFile,
    errors,
    statuses,
    send,
    close: async () => {
      agent.destroy();
      await lethe.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A request target that reaches the application: printable ASCII as it is (`//`, `..`, `%zz`,
 * quotes and braces included), everything else percent-encoded as UTF-8 (a lone surrogate as the
 * three bytes it would have, which are not valid UTF-8), and a `/` put first unless the target
 * is `*` or absolute. Node's HTTP parser answers 400 itself, before any Lethe code runs, to raw
 * bytes outside printable ASCII and to targets that start otherwise.
 */
export function sendablePath(path: string): string {
  let out = '';
  for (const ch of path) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0x21 && c <= 0x7e) out += ch;
    else if (c >= 0xd800 && c <= 0xdfff) out += `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out.startsWith('/') || out === '*' || out.startsWith('http://') ? out : `/${out}`;
}
