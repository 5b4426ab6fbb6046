import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/index.js';

/** Loggers for tests: one that drops everything, one that keeps its lines to assert on. */

/** A logger that writes nowhere (errors only, so a test pays nothing for it). */
export function quietLogger(): Logger {
  return createLogger({ level: 'error', format: 'json', stream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
}

export interface CapturedLogs {
  readonly logger: Logger;
  /** Every line written so far, parsed from JSON. */
  readonly lines: Record<string, unknown>[];
  /** The lines with this message. */
  withMessage(message: string): Record<string, unknown>[];
}

/** A logger whose lines the test reads back (JSON, parsed; a line that is not JSON is skipped). */
export function capturingLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  // A Writable whose write is synchronous: a line is readable as soon as the call that logged it returns.
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON: skipped
        }
        nl = pending.indexOf('\n');
      }
      done();
    },
  });
  return {
    logger: createLogger({ level, format: 'json', stream }),
    lines,
    withMessage: (message) => lines.filter((l) => l['message'] === message),
  };
}
