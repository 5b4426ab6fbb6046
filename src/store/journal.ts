import { constants } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setImmediate as immediate } from 'node:timers/promises';
import { ConfigError, ErrorCode, UnavailableError, messageOf } from '../errors.js';
import { StepError, fsyncDir, mismatch, removeStaleTemps, step, stepOf, tempPath, type PersistenceOp } from './journal-steps.js';
import { HEADER_LINE, JournalDamage, describeErrno, encodeLine, errnoCode, visitJournal, writeFully, type StoreRecord } from './persistence.js';

/**
 * Writes the persistence file (persistence.ts describes its format): group commit, cut-back
 * after a failed write, distrust after a failed fsync, compaction that never leaves the old
 * file incomplete, and healing by itself.
 *
 * - Each record is appended with an undo step: the store has already applied it in memory. A
 *   batch is written at an explicit offset (short writes completed) and fdatasync'ed before its
 *   callers are answered.
 * - When a write or sync fails, the failed batch and everything queued behind it (built on top
 *   of it) are undone in reverse order at once, the file is cut back to its last good size, and
 *   only then are their callers refused. A failed fdatasync makes the page cache untrusted: the
 *   file is reopened by name, cut back, synced and re-read to check it holds exactly the bytes
 *   acknowledged so far, before anything is acknowledged again.
 * - While failing, a timer cuts back and probes the disk every `retryMs`, so the journal turns
 *   healthy by itself when the fault clears; appends keep trying as well.
 *
 * The Journal class is over 300 lines because it is one state machine (queue, in-flight batch,
 * repair mode, failure, retry timer) whose transitions only make sense together; the steps and
 * file operations it uses are in journal-steps.ts.
 */

export interface PersistenceFailure {
  readonly op: PersistenceOp;
  /** The errno code (`ENOSPC`, `EIO`), `ESHORTWRITE` for a write that made no progress, `EMISMATCH` for a failed check. */
  readonly code: string;
  /** A sentence naming the file and the error. */
  readonly message: string;
  /** When the journal started failing (ms): the first failure of this spell. */
  readonly since: number;
  readonly cause: unknown;
}

export interface JournalHooks {
  /** After every durable batch, with its size and duration. */
  readonly onFlush?: (records: number, seconds: number) => void;
  /** Every failed step (for the metric); the journal may be failing or not (compaction). */
  readonly onError?: (failure: PersistenceFailure) => void;
  /** ok → failing (the failure) and failing → ok (undefined): once per change. */
  readonly onStateChange?: (failure: PersistenceFailure | undefined) => void;
  /** A compaction failed before replacing the file: the old file stays complete and in use. */
  readonly onCompactionFailed?: (failure: PersistenceFailure) => void;
  readonly onCompacted?: (bytes: number, seconds: number) => void;
  /** No record applied in memory is waiting for the disk any more (durable or undone). */
  readonly onSettled?: () => void;
}

export interface JournalOptions {
  readonly file: string;
  /** The valid bytes start-up found: the file is cut back to them. */
  readonly validBytes: number;
  readonly now: () => number;
  readonly retryMs: number;
  readonly hooks: JournalHooks;
}

/** About this many characters of encoded records are written at once by a compaction. */
const COMPACTION_CHUNK = 4 * 1024 * 1024;

type Repair = 'cut' | 'reopen';

interface LineEntry {
  readonly kind: 'line';
  readonly line: string;
  readonly undo: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface CompactEntry {
  readonly kind: 'compact';
  readonly records: Iterable<StoreRecord>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

type Entry = LineEntry | CompactEntry;

/** Codes of faults Lethe waits out at start-up instead of refusing to start. */
const FAULT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS']);
/** The probe written (and cut back) while failing: no newline, so a crash leaves only a torn tail. */
const PROBE = Buffer.alloc(64 * 1024, 0x20);

export class Journal {
  private handle: FileHandle | undefined;
  /** Bytes acknowledged: the file holds exactly these once any repair is done. */
  private bytes: number;
  /** Whether the directory entry of the file is known durable. */
  private dirDurable: boolean;
  private queue: Entry[] = [];
  private inFlight: LineEntry[] = [];
  private busy: Promise<void> | undefined;
  private repair: Repair | undefined;
  private failure: PersistenceFailure | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: JournalOptions) {
    this.bytes = options.validBytes;
    this.dirDurable = options.validBytes > 0;
  }

  /**
   * Opens the file for writing, cuts it back to the valid bytes and probes that the disk takes
   * writes. A fault of the disk (ENOSPC, EIO, …) does not stop start-up: the journal starts
   * failing and heals when it can.
   */
  static async open(options: JournalOptions): Promise<Journal> {
    const journal = new Journal(options);
    await removeStaleTemps(options.file);
    try {
      journal.handle = await step('open', () => open(options.file, constants.O_RDWR | constants.O_CREAT, 0o600));
      const size = (await step('open', () => journal.handleOrThrow().stat())).size;
      if (size !== journal.bytes) {
        await step('truncate', () => journal.handleOrThrow().truncate(journal.bytes));
        await step('sync', () => journal.handleOrThrow().datasync());
      }
    } catch (err) {
      const { op, original } = stepOf(err, 'open');
      if (!FAULT_CODES.has(errnoCode(original))) {
        await journal.handle?.close().catch(() => undefined);
        throw new ConfigError(ErrorCode.persistence, `cannot open persistence file ${options.file}: ${messageOf(original)}`, { cause: original });
      }
      journal.repair = journal.handle === undefined ? 'reopen' : 'cut';
      journal.fail(op, original);
      return journal;
    }
    // Find out now whether the disk takes writes, so that readiness tells from the start.
    await journal.probe();
    return journal;
  }

  /** Bytes of the file that hold acknowledged records. */
  get size(): number {
    return this.bytes;
  }

  /** Records applied in memory and not yet durable or undone. */
  get unsettled(): number {
    let n = this.inFlight.length;
    for (const entry of this.queue) if (entry.kind === 'line') n++;
    return n;
  }

  /** The current failure, while the journal cannot write. */
  get failing(): PersistenceFailure | undefined {
    return this.failure;
  }

  /**
   * Appends a record the caller has already applied in memory. Resolves once it is durable;
   * rejects with UnavailableError after `undo` ran when it cannot be made durable.
   */
  append(record: StoreRecord, undo?: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error('persistence file is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'line', line: encodeLine(record), undo, resolve, reject });
      this.kick();
    });
  }

  /**
   * Rewrites the file as `records` (the state that every record appended so far leads to) and
   * continues appending there. The records are read one at a time as the file is written (what
   * they are made from must not change meanwhile). It runs after those records are durable; when
   * one of them fails, it is refused with them. A failure before the rename leaves the old file
   * complete and in use, and rejects.
   */
  compact(records: Iterable<StoreRecord>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('persistence file is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'compact', records, resolve, reject });
      this.kick();
    });
  }

  /** Waits for pending writes, then closes the file. */
  async close(): Promise<void> {
    while (this.busy !== undefined) await this.busy;
    this.closed = true;
    clearTimeout(this.timer);
    await this.handle?.close().catch(() => undefined);
  }

  private handleOrThrow(): FileHandle {
    if (this.handle === undefined) throw Object.assign(new Error('persistence file is not open'), { code: 'EBADF' });
    return this.handle;
  }

  private exclusive(run: () => Promise<void>): void {
    this.busy = run().finally(() => {
      this.busy = undefined;
      if (this.queue.length > 0 && !this.closed) this.kick();
    });
  }

  /**
   * Starts writing what is queued, after the I/O callbacks of this turn of the event loop: pushes
   * that arrived together (a burst of jobs finishing at once) go into the first write and fsync
   * together, instead of the first alone and the others waiting for it to finish before theirs.
   */
  private kick(): void {
    if (this.busy === undefined) {
      this.exclusive(async () => {
        await immediate();
        await this.drain();
      });
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.repair !== undefined && !(await this.tryRepair())) {
        await this.refuse([], this.failure);
        continue;
      }
      const head = this.queue[0];
      if (head?.kind === 'compact') {
        this.queue.shift();
        await this.runCompaction(head);
        continue;
      }
      const batch: LineEntry[] = [];
      while (this.queue[0]?.kind === 'line') batch.push(this.queue.shift() as LineEntry);
      this.inFlight = batch;
      await this.commit(batch);
    }
  }

  private async commit(batch: LineEntry[]): Promise<void> {
    const started = performance.now();
    const data = Buffer.from((this.bytes === 0 ? HEADER_LINE : '') + batch.map((e) => e.line).join(''));
    try {
      const handle = this.handleOrThrow();
      await step('write', () => writeFully(handle, data, this.bytes));
      await step('sync', () => handle.datasync());
      if (!this.dirDurable) await step('dirsync', () => fsyncDir(dirname(this.options.file)));
    } catch (err) {
      const { op, original } = stepOf(err, 'write');
      // After a failed write the cut-back is enough; after a failed sync the cache is not trusted.
      this.repair = op === 'write' && this.repair === undefined ? 'cut' : 'reopen';
      await this.refuse(batch, this.fail(op, original));
      return;
    }
    this.dirDurable = true;
    this.bytes += data.length;
    this.inFlight = [];
    this.healed();
    this.options.hooks.onFlush?.(batch.length, (performance.now() - started) / 1000);
    for (const entry of batch) entry.resolve();
    this.options.hooks.onSettled?.();
  }

  /**
   * Undoes `batch` and everything queued (newest first), attempts the cut-back, then refuses
   * them all. Records applied while the cut-back runs are built on the undone state and stay.
   */
  private async refuse(batch: readonly LineEntry[], failure: PersistenceFailure | undefined): Promise<void> {
    const dropped: Entry[] = [...batch, ...this.queue];
    this.queue = [];
    this.inFlight = [];
    for (let i = dropped.length - 1; i >= 0; i--) {
      const entry = dropped[i];
      if (entry?.kind === 'line') entry.undo?.();
    }
    this.options.hooks.onSettled?.();
    if (this.repair !== undefined && batch.length > 0) await this.tryRepair();
    const error = new UnavailableError(
      ErrorCode.storeUnavailable,
      `${failure?.message ?? `cannot persist to ${this.options.file}`}; nothing was stored, retry later`,
      { cause: failure?.cause, details: { retryAfterSeconds: Math.max(1, Math.ceil(this.options.retryMs / 1000)) } },
    );
    for (const entry of dropped) entry.reject(error);
  }

  /** Brings the file back to exactly the acknowledged bytes; false (and recorded) when it cannot. */
  private async tryRepair(): Promise<boolean> {
    const { file } = this.options;
    try {
      if (this.repair === 'reopen' || this.handle === undefined) {
        await this.handle?.close().catch(() => undefined);
        this.handle = undefined;
        const handle = await step('open', () => open(file, constants.O_RDWR | constants.O_CREAT, 0o600));
        this.handle = handle;
        const size = (await step('open', () => handle.stat())).size;
        if (size < this.bytes) throw new StepError('verify', mismatch(file, size, this.bytes));
        await step('truncate', () => handle.truncate(this.bytes));
        await step('sync', () => handle.datasync());
        await step('dirsync', () => fsyncDir(dirname(file)));
        await step('verify', () => this.verify());
        this.dirDurable = true;
      } else {
        const handle = this.handle;
        await step('truncate', () => handle.truncate(this.bytes));
        await step('sync', () => handle.datasync());
      }
      this.repair = undefined;
      return true;
    } catch (err) {
      const { op, original } = stepOf(err, 'truncate');
      if (op === 'sync' || op === 'open' || op === 'dirsync') this.repair = 'reopen';
      this.fail(op, original);
      return false;
    }
  }

  /** Re-reads the file: it must hold exactly the acknowledged bytes, all valid. */
  private async verify(): Promise<void> {
    const bytes = await readFile(this.options.file);
    let valid: number;
    try {
      const scanned = visitJournal(bytes, () => undefined);
      valid = scanned.tornTail === undefined ? scanned.validBytes : -1;
    } catch (err) {
      if (!(err instanceof JournalDamage)) throw err;
      throw Object.assign(new Error(`${this.options.file} is ${err.message}`), { code: 'EMISMATCH' });
    }
    if (valid !== this.bytes || bytes.length !== this.bytes) throw mismatch(this.options.file, bytes.length, this.bytes);
  }

  private async runCompaction(entry: CompactEntry): Promise<void> {
    const started = performance.now();
    const { file } = this.options;
    const dir = dirname(file);
    const tmp = tempPath(file);
    let out: FileHandle | undefined;
    let written = 0;
    try {
      out = await step('compact', () => open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600));
      const handle = out;
      // Encoded and written a chunk at a time: the rewrite holds a chunk beside the store, not a second copy of it.
      let lines = [HEADER_LINE];
      let pending = HEADER_LINE.length;
      const flush = async (): Promise<void> => {
        const data = Buffer.from(lines.join(''));
        lines = [];
        pending = 0;
        await step('compact', () => writeFully(handle, data, written));
        written += data.length;
      };
      for (const record of entry.records) {
        const line = encodeLine(record);
        lines.push(line);
        pending += line.length;
        if (pending >= COMPACTION_CHUNK) await flush();
      }
      await flush();
      await step('compact', () => handle.datasync());
      await step('rename', () => rename(tmp, file));
    } catch (err) {
      const { op, original } = stepOf(err, 'compact');
      await out?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      const failure = this.failureOf(op, original);
      this.options.hooks.onError?.(failure);
      this.options.hooks.onCompactionFailed?.(failure);
      entry.reject(new Error(failure.message, { cause: original }));
      return;
    }
    // Renamed: appends go to the new file through the handle opened before the rename.
    const old = this.handle;
    this.handle = out;
    this.bytes = written;
    await old?.close().catch(() => undefined);
    try {
      await step('dirsync', () => fsyncDir(dir));
    } catch (err) {
      // The rename may not survive a crash: nothing is acknowledged until the directory is synced.
      const { op, original } = stepOf(err, 'dirsync');
      this.repair = 'reopen';
      this.fail(op, original);
      entry.reject(new Error(this.failureOf(op, original).message, { cause: original }));
      return;
    }
    this.options.hooks.onCompacted?.(written, (performance.now() - started) / 1000);
    entry.resolve();
  }

  private failureOf(op: PersistenceOp, err: unknown): PersistenceFailure {
    return {
      op,
      code: errnoCode(err),
      message: `cannot persist to ${this.options.file}: ${describeErrno(err)}`,
      since: this.failure?.since ?? this.options.now(),
      cause: err,
    };
  }

  /** Records a failed step: the metric every time, the state change once, and the retry timer. */
  private fail(op: PersistenceOp, err: unknown): PersistenceFailure {
    const failure = this.failureOf(op, err);
    const first = this.failure === undefined;
    this.failure = failure;
    this.options.hooks.onError?.(failure);
    if (first) this.options.hooks.onStateChange?.(failure);
    this.schedule();
    return failure;
  }

  private healed(): void {
    if (this.failure === undefined) return;
    this.failure = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.options.hooks.onStateChange?.(undefined);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.failure === undefined || this.closed) return;
      if (this.busy !== undefined) {
        // Appends are trying already; look again later.
        this.schedule();
        return;
      }
      this.exclusive(() => this.probe());
    }, this.options.retryMs);
    this.timer.unref();
  }

  /** Repairs if needed, then writes, syncs and cuts back a probe; success heals, failure fails. */
  private async probe(): Promise<void> {
    if (this.repair !== undefined && !(await this.tryRepair())) return;
    try {
      const handle = this.handleOrThrow();
      await step('write', () => writeFully(handle, PROBE, this.bytes));
      await step('sync', () => handle.datasync());
      await step('truncate', () => handle.truncate(this.bytes));
      await step('sync', () => handle.datasync());
    } catch (err) {
      const { op, original } = stepOf(err, 'write');
      this.repair = op === 'write' && this.repair === undefined ? 'cut' : 'reopen';
      this.fail(op, original);
      // Cut the probe back at once: it must not hold the space it found.
      await this.tryRepair();
      return;
    }
    this.healed();
  }
}
