import { describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/observability/index.js';

// The logger writes the levels that are on, and does not even format those that are off.

function captured(level: 'debug' | 'info' | 'warn' | 'error'): { readonly lines: string[]; readonly logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      lines.push(chunk.toString().trim());
      done();
    },
  });
  return { lines, logger: createLogger({ level, format: 'json', stream }) };
}

/** Fields whose reading is counted: a line that is formatted reads them. */
function counted(): { readonly fields: Record<string, unknown>; reads: () => number } {
  let reads = 0;
  return {
    fields: {
      get reason(): string {
        reads++;
        return 'bad body';
      },
    },
    reads: () => reads,
  };
}

describe('createLogger', () => {
  test('a level that is off is neither written nor formatted, on the logger and its children', () => {
    const { lines, logger } = captured('info');
    const child = logger.child({ component: 'gateway' });
    const probe = counted();
    logger.debug('Rejected request', probe.fields);
    child.debug('Rejected request', probe.fields);
    // Called without an instance, as winston allows.
    const { debug } = child;
    debug('Rejected request', probe.fields);
    expect(probe.reads()).toBe(0);
    expect(lines).toEqual([]);
  });

  test("the levels that are on are written with their fields, the child's too; a level turned on later is written", () => {
    const { lines, logger } = captured('info');
    const child = logger.child({ component: 'gateway' });
    child.info('Deleted metric group', { reason: 'api-delete' });
    logger.warn('Lost connection');
    logger.level = 'debug';
    child.debug('Rejected request', counted().fields);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((p) => [p['level'], p['message'], p['component'], p['reason']])).toEqual([
      ['info', 'Deleted metric group', 'gateway', 'api-delete'],
      ['warn', 'Lost connection', undefined, undefined],
      ['debug', 'Rejected request', 'gateway', 'bad body'],
    ]);
  });
});
