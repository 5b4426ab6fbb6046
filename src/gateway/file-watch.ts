import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Watches files that Lethe reloads without a restart (the TLS pair, the static auth file).
 * fs.watch on each file's directory catches a Kubernetes Secret update (an atomic swap of the
 * `..data` symlink) as well as an edit in place; a periodic re-read catches what events miss
 * (network filesystems, a watcher that died). Events are debounced, so a certificate and its key
 * written one after the other are usually read together; `onChange` gets every file's new
 * contents whenever any of them changed, and decides whether to use them.
 */

export interface FileWatchOptions {
  /** Re-read every file this often even without an event (ms). */
  readonly pollMs: number;
  /** Wait this long after an event before reading (ms). */
  readonly debounceMs: number;
  /** Called with every file's contents when any changed; a throw keeps the old contents in use. */
  readonly onChange: (contents: readonly Buffer[]) => void;
  /** Called when a changed file could not be read or onChange threw. */
  readonly onError: (err: unknown) => void;
}

export const defaultFileWatchTimings = { pollMs: 10_000, debounceMs: 200 } as const;

const digest = (contents: readonly Buffer[]): string => {
  const hash = createHash('sha256');
  for (const c of contents) hash.update(createHash('sha256').update(c).digest());
  return hash.digest('hex');
};

export class FileWatch {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;
  private current: string;
  private closed = false;
  private reading: Promise<void> = Promise.resolve();

  private constructor(
    private readonly paths: readonly string[],
    initial: readonly Buffer[],
    private readonly options: FileWatchOptions,
  ) {
    this.current = digest(initial);
  }

  /** Reads every file (throws when one cannot be read), then watches them. */
  static async open(paths: readonly string[], options: FileWatchOptions): Promise<{ watch: FileWatch; contents: Buffer[] }> {
    const contents = await Promise.all(paths.map((p) => readFile(p)));
    const fw = new FileWatch(paths, contents, options);
    fw.start();
    return { watch: fw, contents };
  }

  private start(): void {
    for (const dir of new Set(this.paths.map((p) => dirname(p)))) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        // A watcher that fails (its directory went away) leaves the periodic re-read in charge.
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // Not watchable (e.g. no inotify slots): the periodic re-read still sees changes.
      }
    }
    this.timer = setInterval(() => this.schedule(0), this.options.pollMs);
    this.timer.unref();
  }

  private schedule(delay = this.options.debounceMs): void {
    if (this.closed) return;
    if (this.pending !== undefined) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reading = this.reading.then(() => this.check());
    }, delay);
    this.pending.unref();
  }

  /** Reads the files now and reports a change; resolves when done (tests call it). */
  async check(): Promise<void> {
    if (this.closed) return;
    let contents: Buffer[];
    try {
      contents = await Promise.all(this.paths.map((p) => readFile(p)));
    } catch (err) {
      this.options.onError(err);
      return;
    }
    const seen = digest(contents);
    if (seen === this.current) return;
    try {
      this.options.onChange(contents);
      this.current = seen;
    } catch (err) {
      // The old contents stay in use; remembering the bad ones reports them once, not on every poll.
      this.current = seen;
      this.options.onError(err);
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.pending !== undefined) clearTimeout(this.pending);
  }
}
