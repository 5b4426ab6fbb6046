import { open, readFile, rename, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { ConfigError, ErrorCode, messageOf } from '../errors.js';

/**
 * The persistence file: a versioned, checksummed journal of group records.
 *
 *   line 1:  {"format":"lethe-store","version":1}
 *   then:    <crc32 of json, 8 hex> <json record>\n
 *
 * A record sets a group to a value or deletes it, so replaying any suffix of the journal over a
 * state that already contains it changes nothing (compaction relies on that). Appends are
 * batched; every batch is written and fsynced before its callers are answered, so an
 * acknowledged push survives kill -9. A torn last line (a crash mid-write, never acknowledged)
 * is dropped on load; any other damage stops start-up with an error naming the line.
 */

export const FORMAT_HEADER = { format: 'lethe-store', version: 1 } as const;

const objectRefSchema = z.object({ name: z.string(), uid: z.string() });

const attributionSchema = z.object({
  source: z.enum(['token', 'pod-ip', 'url-label', 'none']),
  namespace: z.string().optional(),
  pod: z.string().optional(),
  podUid: z.string().optional(),
  user: z.string().optional(),
  // The pod's controller chain and namespace UID (lifecycle): optional, so older files load.
  namespaceUid: z.string().optional(),
  job: objectRefSchema.optional(),
  cronJob: objectRefSchema.optional(),
});

const ownerSchema = z.object({
  kind: z.enum(['Job', 'CronJob', 'Namespace', 'MetricsGroup']),
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  // A CronJob run's CronJob, and the push the owner was resolved for (lifecycle): optional.
  cronJob: objectRefSchema.exactOptional(),
  resolvedFor: z.number().exactOptional(),
  // The owner's resolved policy (lifecycle), so a restart decides the same way: optional, so
  // files written before it load (their owners' policies are resolved again while they exist).
  policy: z
    .object({
      source: z.enum(['annotations', 'metricsgroup']),
      overrides: z.object({
        ttlMs: z.number().exactOptional(),
        keepLast: z.number().exactOptional(),
        maxGraceMs: z.number().exactOptional(),
        deletionPolicy: z.enum(['Delete', 'Orphan']).exactOptional(),
        keepUntilSuperseded: z.boolean().exactOptional(),
        overdueAfterMs: z.number().exactOptional(),
      }),
      invalid: z.string().exactOptional(),
    })
    .exactOptional(),
});

export const groupRecordSchema = z.object({
  t: z.literal('g'),
  /** Grouping labels as [name, value] pairs. */
  k: z.array(z.tuple([z.string(), z.string()])),
  /** Families (meta families excluded): base64 of delimited protobuf, and the push time of each. */
  f: z.array(z.tuple([z.string(), z.number()])),
  push: z.number(),
  fail: z.number(),
  attr: attributionSchema,
  owner: ownerSchema.optional(),
});

export const deleteRecordSchema = z.object({
  t: z.literal('d'),
  k: z.array(z.tuple([z.string(), z.string()])),
});

export const recordSchema = z.discriminatedUnion('t', [groupRecordSchema, deleteRecordSchema]);
export type StoreRecord = z.infer<typeof recordSchema>;
export type GroupRecord = z.infer<typeof groupRecordSchema>;

const headerSchema = z.object({ format: z.literal('lethe-store'), version: z.literal(1) });

function encodeLine(record: StoreRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Reads and checks the journal; returns its records in order. A missing file is empty. */
export async function readJournal(file: string): Promise<{ records: StoreRecord[]; validBytes: number; tornTail: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], validBytes: 0, tornTail: false };
    throw new ConfigError(ErrorCode.persistence, `cannot read persistence file ${file}: ${messageOf(err)}`, { cause: err });
  }
  if (text === '') return { records: [], validBytes: 0, tornTail: false };
  const fail = (line: number, why: string): never => {
    throw new ConfigError(
      ErrorCode.persistence,
      `persistence file ${file} is damaged at line ${line}: ${why}; Lethe will not start over it (move it away to start empty, or restore a backup)`,
    );
  };
  const lines = text.split('\n');
  const complete = text.endsWith('\n') ? lines.slice(0, -1) : lines.slice(0, -1);
  const tornTail = !text.endsWith('\n');
  const headerLine = complete[0];
  if (headerLine === undefined) {
    // Only a torn header: nothing was ever acknowledged.
    return { records: [], validBytes: 0, tornTail };
  }
  try {
    headerSchema.parse(JSON.parse(headerLine));
  } catch {
    fail(1, 'not a Lethe store file, or a version this Lethe cannot read');
  }
  const records: StoreRecord[] = [];
  let validBytes = Buffer.byteLength(headerLine) + 1;
  for (let i = 1; i < complete.length; i++) {
    const line = complete[i] ?? '';
    const sum = line.slice(0, 8);
    const json = line.slice(9);
    const last = i === complete.length - 1 && !tornTail;
    if (line[8] !== ' ' || crc32(json).toString(16).padStart(8, '0') !== sum) {
      // A bad checksum on the very last line is a write cut short by a crash.
      if (last) return { records, validBytes, tornTail: true };
      fail(i + 1, 'checksum mismatch');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      fail(i + 1, 'record is not JSON');
    }
    const result = recordSchema.safeParse(parsed);
    if (!result.success) fail(i + 1, `unexpected record: ${result.error.issues.map((x) => x.message).join('; ')}`);
    else records.push(result.data);
    validBytes += Buffer.byteLength(line) + 1;
  }
  return { records, validBytes, tornTail };
}

export interface JournalHooks {
  /** Called after every durable batch with its size and duration. */
  readonly onFlush?: (records: number, seconds: number) => void;
  readonly onError?: (err: unknown) => void;
}

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Appends records durably with group commit, and compacts by rewriting a snapshot. */
export class Journal {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private bytes: number;
  private compactRequested: (() => StoreRecord[]) | undefined;
  private closed = false;

  private constructor(
    private readonly file: string,
    private handle: FileHandle,
    bytes: number,
    private readonly hooks: JournalHooks,
  ) {
    this.bytes = bytes;
  }

  /** Opens the file for appending, truncating a torn tail found by readJournal. */
  static async open(file: string, validBytes: number, hooks: JournalHooks): Promise<Journal> {
    const handle = await open(file, 'a+', 0o600).catch((err: unknown) => {
      throw new ConfigError(ErrorCode.persistence, `cannot open persistence file ${file}: ${messageOf(err)}`, { cause: err });
    });
    const size = (await handle.stat()).size;
    if (validBytes === 0) {
      await handle.truncate(0);
      await handle.write(`${JSON.stringify(FORMAT_HEADER)}\n`);
      await handle.datasync();
      await fsyncDir(dirname(file));
      return new Journal(file, handle, (await handle.stat()).size, hooks);
    }
    if (size !== validBytes) {
      await handle.truncate(validBytes);
      await handle.datasync();
    }
    return new Journal(file, handle, validBytes, hooks);
  }

  get size(): number {
    return this.bytes;
  }

  /** Resolves once the record is on disk. */
  append(record: StoreRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('persistence file is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ line: encodeLine(record), resolve, reject });
      this.kick();
    });
  }

  /**
   * Asks for the file to be rewritten from `snapshot()` (called at write time, so it reflects
   * every record already applied), on the next flush.
   */
  requestCompaction(snapshot: () => StoreRecord[]): Promise<void> {
    this.compactRequested = snapshot;
    return new Promise((resolve, reject) => {
      this.pending.push({ line: '', resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    this.flushing ??= this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const started = performance.now();
      try {
        const snapshot = this.compactRequested;
        this.compactRequested = undefined;
        if (snapshot !== undefined) {
          await this.compact(snapshot());
        } else {
          const data = batch.map((p) => p.line).join('');
          await this.handle.write(data);
          await this.handle.datasync();
          this.bytes += Buffer.byteLength(data);
        }
        this.hooks.onFlush?.(batch.length, (performance.now() - started) / 1000);
        for (const p of batch) p.resolve();
      } catch (err) {
        this.hooks.onError?.(err);
        for (const p of batch) p.reject(err);
      }
    }
  }

  private async compact(records: StoreRecord[]): Promise<void> {
    const dir = dirname(this.file);
    const tmp = join(dir, `.${basename(this.file)}.compact-${process.pid}`);
    const out = await open(tmp, 'w', 0o600);
    try {
      const text = `${JSON.stringify(FORMAT_HEADER)}\n${records.map(encodeLine).join('')}`;
      await out.write(text);
      await out.datasync();
      await out.close();
      await rename(tmp, this.file);
      await fsyncDir(dir);
      const old = this.handle;
      this.handle = await open(this.file, 'a', 0o600);
      this.bytes = (await stat(this.file)).size;
      await old.close();
    } catch (err) {
      await out.close().catch(() => undefined);
      throw err;
    }
  }

  /** Waits for pending writes, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    this.closed = true;
    await this.handle.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
