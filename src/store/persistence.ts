import { constants } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { getSystemErrorMessage } from 'node:util';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { ConfigError, ErrorCode, messageOf } from '../errors.js';
import type { Attribution, ObjectRef, OwnerRef } from '../model/index.js';
import { isCurrentHead } from './current-head.js';
import { isPlainFamilyRecord, recordProblem, type PlainFamilyRecord } from './family-record.js';

/**
 * The persistence file: a versioned, checksummed journal of group records.
 *
 *   line 1:  {"format":"lethe-store","version":1}
 *   then:    <crc32 of the rest of the line, 8 hex> <json record>\n
 *   or:      <crc32 …> <json group record but its families>\t<json families>\n  (encodeLine)
 *
 * A record sets a group to a value or deletes it, so replaying any suffix of the journal over a
 * state that already contains it changes nothing (compaction relies on that). journal.ts writes
 * it; this file reads it. A torn tail (an incomplete last line, or a bad checksum on the very
 * last line: a write cut short by a crash or a full disk, never acknowledged) is dropped on
 * load after its bytes were kept beside the file; any other damage stops start-up with an error
 * naming the byte offset and the line.
 *
 * (About 420 lines: the record schemas, with the older forms files still hold, and the reading
 * that checks lines against them, families read later included, belong together; journal.ts
 * holds the writing.)
 */

export const FORMAT_HEADER = { format: 'lethe-store', version: 1 } as const;
export const HEADER_LINE = `${JSON.stringify(FORMAT_HEADER)}\n`;

const objectRefSchema = z.object({ group: z.string(), kind: z.string(), name: z.string(), uid: z.string() });
/** How records written before owners could be of any kind name a Job or a CronJob: name and UID. */
const legacyRefSchema = z.object({ name: z.string(), uid: z.string() });
const legacyJob = (r: { name: string; uid: string }): ObjectRef => ({ group: 'batch', kind: 'Job', name: r.name, uid: r.uid });
const legacyCronJob = (r: { name: string; uid: string }): ObjectRef => ({ group: 'batch', kind: 'CronJob', name: r.name, uid: r.uid });

const attributionSchema = z
  .object({
    source: z.enum(['token', 'pod-ip', 'url-label', 'none']),
    namespace: z.string().exactOptional(),
    pod: z.string().exactOptional(),
    podUid: z.string().exactOptional(),
    user: z.string().exactOptional(),
    // The pod's owner chain and namespace UID (lifecycle): optional, so older files load.
    namespaceUid: z.string().exactOptional(),
    run: objectRefSchema.exactOptional(),
    schedule: objectRefSchema.exactOptional(),
    scheduleKey: z.string().exactOptional(),
    chainIncomplete: z.boolean().exactOptional(),
    // Written before runs and schedules of any kind: the pod's Job and that Job's CronJob.
    job: legacyRefSchema.exactOptional(),
    cronJob: legacyRefSchema.exactOptional(),
  })
  .transform(({ job, cronJob, ...a }): Attribution => ({
    ...a,
    ...(a.run === undefined && job !== undefined ? { run: legacyJob(job) } : {}),
    ...(a.schedule === undefined && cronJob !== undefined ? { schedule: legacyCronJob(cronJob) } : {}),
  }));

/** The API group of the four kinds an owner could have before owners could be of any kind. */
const LEGACY_OWNER_GROUPS: Readonly<Record<string, string>> = { Job: 'batch', CronJob: 'batch', Namespace: '', MetricsGroup: 'lethe.dev' };

const ownerSchema = z
  .object({
    // Absent in records written before owners could be of any kind: then one of the four kinds of then.
    group: z.string().exactOptional(),
    kind: z.string(),
    namespace: z.string(),
    name: z.string(),
    uid: z.string(),
    // A run's schedule or schedule key, and the push the owner was resolved for (lifecycle): optional.
    schedule: objectRefSchema.exactOptional(),
    scheduleKey: z.string().exactOptional(),
    // Written before runs and schedules of any kind: a CronJob run's CronJob.
    cronJob: legacyRefSchema.exactOptional(),
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
  })
  .refine((o) => o.group !== undefined || Object.hasOwn(LEGACY_OWNER_GROUPS, o.kind), { message: 'an owner of another kind than Job, CronJob, Namespace or MetricsGroup needs its API group' })
  .transform(({ group, cronJob, ...o }): OwnerRef => ({
    ...o,
    group: group ?? LEGACY_OWNER_GROUPS[o.kind] ?? '',
    ...(o.schedule === undefined && cronJob !== undefined ? { schedule: legacyCronJob(cronJob) } : {}),
  }));

const keySchema = z.array(z.tuple([z.string(), z.string()]));
/** Families (meta families excluded), each as family-record.ts writes it, and the push time of each. */
const familiesSchema = z.array(z.tuple([z.union([z.string(), z.custom<PlainFamilyRecord>(isPlainFamilyRecord, 'not a family')]), z.number()]));
/** A group record but its families. */
const groupFields = {
  t: z.literal('g'),
  /** Grouping labels as [name, value] pairs. */
  k: keySchema,
  push: z.number(),
  fail: z.number(),
  attr: attributionSchema,
  owner: ownerSchema.optional(),
};

export const groupRecordSchema = z
  .object({
    ...groupFields,
    f: familiesSchema,
    /** The series of `f` (written with it, so start-up can count them without reading `f`). */
    n: z.number().optional(),
  })
  .superRefine((record, ctx) => {
    const problem = recordProblem(record.k, record.f.map(([family]) => family));
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The part of a group record before the tab (encodeLine): all but its families, and how many series they hold. */
export const groupHeadSchema = z.object({ ...groupFields, n: z.number() });
type GroupHead = z.infer<typeof groupHeadSchema>;

export const deleteRecordSchema = z.object({
  t: z.literal('d'),
  k: keySchema,
});

export const recordSchema = z.discriminatedUnion('t', [groupRecordSchema, deleteRecordSchema]);
export type StoreRecord = z.infer<typeof recordSchema>;
export type GroupRecord = z.infer<typeof groupRecordSchema>;

/**
 * The families of a group record as the file holds them, read when first needed: start-up reads
 * everything else of each record, and a group's families only once something uses them (at
 * 100,000 series, reading them all was most of the time start-up took). The line's checksum was
 * checked when it was read; read() checks the families' form, as start-up checks the rest.
 */
export class UnreadFamilies {
  constructor(
    /** The file's bytes, kept until read; the families' JSON is file[start] up to file[end]. */
    private file: Buffer | undefined,
    private readonly start: number,
    private readonly end: number,
    readonly offset: number,
    readonly line: number,
  ) {}

  /**
   * The families of the record whose key is `k` (columns leave the key's labels out, so checking
   * them needs it); throws JournalDamage for families that are not what the file format says.
   */
  read(k: GroupRecord['k']): GroupRecord['f'] {
    const file = this.file;
    if (file === undefined) throw new Error('families read twice');
    let parsed: unknown;
    try {
      parsed = JSON.parse(file.toString('utf8', this.start, this.end));
    } catch {
      throw new JournalDamage(this.offset, this.line, 'record is not JSON');
    }
    const result = familiesSchema.safeParse(parsed);
    const problem = result.success ? recordProblem(k, result.data.map(([family]) => family)) : result.error.issues.map((x) => x.message).join('; ');
    if (!result.success || problem !== undefined) throw new JournalDamage(this.offset, this.line, `unexpected record: ${problem ?? ''}`);
    // Read once: the file's bytes need not be kept any longer for it.
    this.file = undefined;
    return result.data;
  }
}

/** A group record as start-up reads it: its families unread when the file held the two parts. */
export type UnreadGroupRecord = Omit<GroupRecord, 'f' | 'n'> & { readonly f: UnreadFamilies; readonly n: number };
export type ReadRecord = StoreRecord | UnreadGroupRecord;

export const isUnread = (record: ReadRecord): record is UnreadGroupRecord => record.t === 'g' && record.f instanceof UnreadFamilies;

const headerSchema = z.object({ format: z.literal('lethe-store'), version: z.literal(1) });

/**
 * A record's line. A group record whose series are counted (`n`) is written in two parts, all
 * but its families, a tab, then its families (JSON.stringify never writes a tab, it escapes
 * one in a string), so start-up can leave the families unread (UnreadFamilies).
 */
export function encodeLine(record: StoreRecord): string {
  let json: string;
  if (record.t === 'g' && record.n !== undefined) {
    const { f, ...head } = record;
    json = `${JSON.stringify(head)}\t${JSON.stringify(f)}`;
  } else {
    json = JSON.stringify(record);
  }
  return `${checksum(json)} ${json}\n`;
}

const checksum = (data: string | Uint8Array): string => crc32(data).toString(16).padStart(8, '0');

/** Bytes at the end of the file that start-up drops: a write that never completed. */
export interface TornTail {
  /** Byte offset where the dropped bytes start (= the valid bytes before them). */
  readonly offset: number;
  readonly bytes: number;
  readonly why: 'incomplete last line' | 'checksum mismatch on the last line';
}

/** How much of a journal is valid. */
export interface JournalExtent {
  /** Bytes of the file that hold the header and complete, valid records. */
  readonly validBytes: number;
  readonly tornTail: TornTail | undefined;
}

export interface ScannedJournal extends JournalExtent {
  readonly records: StoreRecord[];
}

/** Damage that is not a torn tail: where it is and what is wrong. */
export class JournalDamage extends Error {
  constructor(
    readonly offset: number,
    readonly line: number,
    readonly why: string,
  ) {
    super(`damaged at byte offset ${offset} (line ${line}): ${why}`);
    this.name = 'JournalDamage';
  }
}

/** Checks a journal's bytes and returns its records in order (as visitJournal checks them), every family read. */
export function scanJournal(bytes: Uint8Array): ScannedJournal {
  const records: StoreRecord[] = [];
  const extent = visitJournal(bytes, (record) => records.push(isUnread(record) ? { ...record, f: record.f.read(record.k) } : record));
  return { ...extent, records };
}

/** Checks a journal's bytes and hands each record to `visit` in order (journalRecords). */
export function visitJournal(bytes: Uint8Array, visit: (record: ReadRecord) => void): JournalExtent {
  const records = journalRecords(bytes);
  for (let next = records.next(); ; next = records.next()) {
    if (next.done === true) return next.value;
    visit(next.value);
  }
}

/**
 * Checks a journal's bytes and yields its records in order, each as soon as it is read: start-up
 * restores a record before it reads the next, so the parsed records die young instead of all
 * living until the last is read (at 100,000 series, copying them out of V8's young generation
 * was most of start-up's garbage collection). Returns how much is valid. Throws JournalDamage for
 * damage that is not a torn tail (a wrong header, a bad checksum before the last line, a
 * checksummed line that is not a record), after the records before it were yielded.
 */
export function* journalRecords(bytes: Uint8Array): Generator<ReadRecord, JournalExtent> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) return { validBytes: 0, tornTail: undefined };
  let offset = 0;
  for (let line = 1; ; line++) {
    const end = buf.indexOf(10, offset);
    if (end === -1) {
      // An incomplete last line (a header never completed counts as nothing written).
      return { validBytes: offset, tornTail: { offset, bytes: buf.length - offset, why: 'incomplete last line' } };
    }
    const last = end === buf.length - 1;
    if (line === 1) {
      let header: unknown;
      try {
        header = JSON.parse(buf.toString('utf8', offset, end));
      } catch {
        header = undefined;
      }
      if (!headerSchema.safeParse(header).success) {
        throw new JournalDamage(offset, line, 'not a Lethe store file, or a version this Lethe cannot read');
      }
    } else {
      // The checksum is of the record's bytes, which are decoded only once it matches.
      if (end - offset < 9 || buf[offset + 8] !== 32 || checksum(buf.subarray(offset + 9, end)) !== buf.toString('latin1', offset, offset + 8)) {
        // A bad checksum on the very last line is a write cut short.
        if (last) return { validBytes: offset, tornTail: { offset, bytes: buf.length - offset, why: 'checksum mismatch on the last line' } };
        throw new JournalDamage(offset, line, 'checksum mismatch');
      }
      const tab = buf.indexOf(9, offset + 9);
      const split = tab !== -1 && tab < end;
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.toString('utf8', offset + 9, split ? tab : end));
      } catch {
        throw new JournalDamage(offset, line, 'record is not JSON');
      }
      const unexpected = (error: z.ZodError): JournalDamage => new JournalDamage(offset, line, `unexpected record: ${error.issues.map((x) => x.message).join('; ')}`);
      if (split) {
        // The head as this version writes it is recognised by hand (current-head.ts); the schema checks any other.
        const head = isCurrentHead(parsed) ? { success: true as const, data: parsed as GroupHead } : groupHeadSchema.safeParse(parsed);
        if (!head.success) throw unexpected(head.error);
        yield { ...head.data, f: new UnreadFamilies(buf, tab + 1, end, offset, line) };
      } else {
        const record = recordSchema.safeParse(parsed);
        if (!record.success) throw unexpected(record.error);
        yield record.data;
      }
    }
    offset = end + 1;
    if (offset === buf.length) return { validBytes: offset, tornTail: undefined };
  }
}

export interface LoadedJournal extends JournalExtent {
  /** The dropped bytes themselves (empty when nothing is dropped). */
  readonly dropped: Buffer;
}

/** Records restored between two turns of the event loop (readJournal). */
const RECORDS_PER_TURN = 64;

/**
 * Reads and checks the journal, handing each record to `visit` in order. A missing file is
 * empty; damage stops start-up (ConfigError). The event loop turns every few records: what
 * watches V8's collections (young-generation.ts stops the young generation growing past its
 * cap) runs between them, not only once all is read.
 */
export async function readJournal(file: string, visit: (record: ReadRecord) => void): Promise<LoadedJournal> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { validBytes: 0, tornTail: undefined, dropped: Buffer.alloc(0) };
    throw new ConfigError(ErrorCode.persistence, `cannot read persistence file ${file}: ${messageOf(err)}`, { cause: err });
  }
  try {
    const records = journalRecords(bytes);
    for (let next = records.next(), n = 1; ; next = records.next(), n++) {
      if (next.done === true) return { ...next.value, dropped: bytes.subarray(next.value.validBytes) };
      visit(next.value);
      if (n % RECORDS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    throw damagedFile(file, err);
  }
}

/** The error that stops Lethe over damage found in the file (any other error as it is). */
export function damagedFile(file: string, err: unknown): unknown {
  if (!(err instanceof JournalDamage)) return err;
  return new ConfigError(
    ErrorCode.persistence,
    `persistence file ${file} is ${err.message}; Lethe will not start over it (move it away to start empty, or restore a backup)`,
    { cause: err },
  );
}

/** `20261202T181634.123Z`: a UTC time that sorts and needs no quoting in a file name. */
export function fileTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/**
 * Keeps bytes that start-up drops beside the file, as `<file>.dropped-<UTC time>` (never
 * overwriting an earlier one), written and fsynced. Resolves with the path.
 */
export async function keepDroppedBytes(file: string, bytes: Uint8Array, now: number): Promise<string> {
  const base = `${file}.dropped-${fileTime(now)}`;
  for (let n = 0; ; n++) {
    const path = n === 0 ? base : `${base}-${n}`;
    let handle;
    try {
      handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && n < 100) continue;
      throw err;
    }
    try {
      await writeFully(handle, bytes, 0);
      await handle.datasync();
    } catch (err) {
      // No half copy left behind (a full disk is the usual reason).
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    await handle.close();
    return path;
  }
}

/** A positioned write that completes short writes; a write that makes no progress is an error. */
export async function writeFully(
  handle: { write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> },
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) {
      throw Object.assign(new Error(`wrote 0 of ${bytes.length - done} bytes`), { code: 'ESHORTWRITE' });
    }
    done += bytesWritten;
  }
}

/** The code of a failed system call (`ENOSPC`), or a stand-in for anything else. */
export function errnoCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : 'UNKNOWN';
}

/** `ENOSPC (no space left on device)`: the code and what the system says it means. */
export function describeErrno(err: unknown): string {
  const code = errnoCode(err);
  const errno = (err as { errno?: unknown } | undefined)?.errno;
  let text: string;
  try {
    text = typeof errno === 'number' && errno < 0 ? getSystemErrorMessage(errno) : messageOf(err);
  } catch {
    text = messageOf(err);
  }
  return `${code} (${text})`;
}
