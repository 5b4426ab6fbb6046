import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HEADER_LINE,
  JournalDamage,
  describeErrno,
  encodeLine,
  fileTime,
  keepDroppedBytes,
  scanJournal,
  writeFully,
  type StoreRecord,
} from '../../../src/store/persistence.js';

// The pure parts of the persistence file: reading a journal's bytes (torn tails, damage and
// where it is), completing short writes, naming kept bytes. Real faults are in test/fault.

const del = (job: string): StoreRecord => ({ t: 'd', k: [['job', job]] });
const line = (job: string): string => encodeLine(del(job));
const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const size = (text: string): number => Buffer.byteLength(text);

describe('scanJournal', () => {
  const two = HEADER_LINE + line('a') + line('b');

  test.each([
    ['an empty file holds nothing', '', 0, 0],
    ['a header alone holds nothing', HEADER_LINE, 0, size(HEADER_LINE)],
    ['complete records load in full', two, 2, size(two)],
    ['a non-ASCII record counts its bytes, not its characters', HEADER_LINE + line('jöb ✓'), 1, size(HEADER_LINE + line('jöb ✓'))],
  ])('%s', (_name, text, records, validBytes) => {
    const scanned = scanJournal(bytes(text));
    expect(scanned.records).toHaveLength(records);
    expect(scanned.validBytes).toBe(validBytes);
    expect(scanned.tornTail).toBeUndefined();
  });

  test.each([
    ['a torn header (nothing was ever acknowledged)', '{"format":"lethe-st', 0, 'incomplete last line'],
    ['an incomplete last line', `${two}0badc0de {"t":"g","k":[["job","half`, size(two), 'incomplete last line'],
    ['an incomplete line of zero bytes (an extended file after a crash)', `${two}\0\0\0\0`, size(two), 'incomplete last line'],
    ['a bad checksum on the very last line', `${two}${line('c').replace('"c"', '"C"')}`, size(two), 'checksum mismatch on the last line'],
    ['a probe left by a killed process (spaces, no newline)', `${two}${' '.repeat(100)}`, size(two), 'incomplete last line'],
  ])('drops %s and says where and how much', (_name, text, offset, why) => {
    const scanned = scanJournal(bytes(text));
    expect(scanned.records).toHaveLength(offset === 0 ? 0 : 2);
    expect(scanned.validBytes).toBe(offset);
    expect(scanned.tornTail).toEqual({ offset, bytes: size(text) - offset, why });
  });

  test.each([
    ['a bad checksum before the last line', HEADER_LINE + line('a').replace('"a"', '"X"') + line('b'), size(HEADER_LINE), 2, 'checksum mismatch'],
    ['a bad checksum with a complete line after it, the last one torn', HEADER_LINE + line('a').replace('"a"', '"X"') + 'torn', size(HEADER_LINE), 2, 'checksum mismatch'],
    ['a checksummed line that is not a record', HEADER_LINE + line('a') + encodeLine({ t: 'x' } as unknown as StoreRecord), size(HEADER_LINE + line('a')), 3, 'unexpected record'],
    ['another file format', 'something else\n', 0, 1, 'not a Lethe store file'],
    ['a newer version', '{"format":"lethe-store","version":2}\n', 0, 1, 'not a Lethe store file'],
  ])('refuses %s, naming the byte offset and the line', (_name, text, offset, lineNumber, why) => {
    let damage: unknown;
    try {
      scanJournal(bytes(text));
    } catch (err) {
      damage = err;
    }
    expect(damage).toBeInstanceOf(JournalDamage);
    expect(damage).toMatchObject({ offset, line: lineNumber });
    expect((damage as Error).message).toContain(`damaged at byte offset ${offset} (line ${lineNumber}): ${why}`);
  });
});

describe('writeFully', () => {
  /** A file that takes at most `chunk` bytes per call, and nothing after `limit` bytes. */
  function shortFile(chunk: number, limit = Infinity) {
    const data: number[] = [];
    const calls: number[] = [];
    return {
      data,
      calls,
      write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
        calls.push(position);
        const n = Math.max(0, Math.min(chunk, length, limit - position));
        for (let i = 0; i < n; i++) data[position + i] = buffer[offset + i] ?? 0;
        return Promise.resolve({ bytesWritten: n });
      },
    };
  }

  test('completes short writes at the right offsets', async () => {
    const file = shortFile(3);
    await writeFully(file, bytes('0123456789'), 100);
    expect(file.calls).toEqual([100, 103, 106, 109]);
    expect(Buffer.from(file.data.slice(100)).toString()).toBe('0123456789');
  });

  test('a write that makes no progress is an error, not a loop', async () => {
    const file = shortFile(4, 6);
    await expect(writeFully(file, bytes('0123456789'), 0)).rejects.toMatchObject({ code: 'ESHORTWRITE', message: 'wrote 0 of 4 bytes' });
  });
});

describe('kept bytes and error texts', () => {
  test('dropped bytes are kept beside the file, never over an earlier copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-kept-'));
    try {
      const file = join(dir, 'lethe.data');
      const at = Date.UTC(2026, 11, 2, 18, 16, 34, 123);
      const first = await keepDroppedBytes(file, bytes('torn one'), at);
      const second = await keepDroppedBytes(file, bytes('torn two'), at);
      expect(first).toBe(`${file}.dropped-20261202T181634.123Z`);
      expect(second).toBe(`${file}.dropped-20261202T181634.123Z-1`);
      expect(await readFile(first, 'utf8')).toBe('torn one');
      expect(await readFile(second, 'utf8')).toBe('torn two');
      expect((await readdir(dir)).sort()).toEqual(['lethe.data.dropped-20261202T181634.123Z', 'lethe.data.dropped-20261202T181634.123Z-1']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('fileTime is UTC without separators that need quoting', () => {
    expect(fileTime(Date.UTC(2026, 0, 5, 4, 3, 2, 1))).toBe('20260105T040302.001Z');
  });

  test('an errno is named by its code and what the system says', async () => {
    const err = await readFile('/nonexistent/lethe').catch((e: unknown) => e);
    expect(describeErrno(err)).toBe('ENOENT (no such file or directory)');
    expect(describeErrno(Object.assign(new Error('wrote 0 of 4 bytes'), { code: 'ESHORTWRITE' }))).toBe('ESHORTWRITE (wrote 0 of 4 bytes)');
  });
});
