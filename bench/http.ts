/**
 * The load generator: node's http client with a keep-alive agent, a closed-loop runner with a
 * fixed number of workers, and a streaming response reader that counts bytes and sample lines
 * without holding a whole scrape in memory. Timed scrapes are read by curl.
 */
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';

export interface Answer {
  /** HTTP status, or 0 when the request failed or timed out (see `error`). */
  readonly status: number;
  /** Milliseconds from sending the request to the last byte of the answer. */
  readonly ms: number;
  readonly bytes: number;
  /** Lines of the answer that start with `countPrefix` (when one was given). */
  readonly lines: number;
  readonly error?: string;
  /** The answer's bytes as received (with `keepBody`). */
  readonly body?: Buffer;
  /** Its Content-Encoding header. */
  readonly encoding?: string;
}

export interface SendOptions {
  readonly method: string;
  readonly path: string;
  readonly body?: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Count the answer's lines that begin with this text (e.g. a metric name prefix). */
  readonly countPrefix?: string;
  /** Keep the answer's bytes (as received: compressed when it is). */
  readonly keepBody?: boolean;
}

/** One gateway's client; a keep-alive agent sized for the highest concurrency used. */
export class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });

  constructor(readonly port: number) {}

  send(options: SendOptions): Promise<Answer> {
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const done = (answer: Omit<Answer, 'ms'>): void => {
        if (settled) return;
        settled = true;
        resolve({ ...answer, ms: performance.now() - started });
      };
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['Content-Length'] = String(options.body.length);
      const req = request(
        { host: '127.0.0.1', port: this.port, method: options.method, path: options.path, headers, agent: this.agent },
        (res) => {
          const counter = options.countPrefix === undefined ? undefined : lineCounter(options.countPrefix);
          let bytes = 0;
          const chunks: Buffer[] | undefined = options.keepBody === true ? [] : undefined;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            counter?.feed(chunk);
            chunks?.push(chunk);
          });
          res.on('end', () =>
            done({
              status: res.statusCode ?? 0,
              bytes,
              lines: counter?.count ?? 0,
              ...(chunks === undefined ? {} : { body: Buffer.concat(chunks) }),
              ...(res.headers['content-encoding'] === undefined ? {} : { encoding: res.headers['content-encoding'] }),
            }),
          );
          res.on('error', (err) => done({ status: 0, bytes, lines: 0, error: err.message }));
        },
      );
      req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 60_000} ms`)));
      req.on('error', (err) => done({ status: 0, bytes: 0, lines: 0, error: err.message }));
      req.end(options.body);
    });
  }

  /**
   * A GET timed by curl (its time_total: request sent to last byte read), body discarded. A scrape
   * of 1,000,000 series is 92 MB, which node's HTTP client takes 120-250 ms to read here and curl
   * about 40: timed by curl, a scrape's latency is the gateway's, as for Prometheus (Go) reading it.
   */
  timedGet(path: string, timeoutMs = 60_000): Promise<Answer> {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', '--max-time', String(timeoutMs / 1000), `http://127.0.0.1:${this.port}${path}`];
    return new Promise((resolve) => {
      execFile('curl', args, (err, stdout) => {
        const [code, size, total] = stdout.trim().split(' ').map(Number);
        if (err !== null || code === undefined || size === undefined || total === undefined) {
          resolve({ status: 0, ms: 0, bytes: 0, lines: 0, error: err?.message ?? `curl printed ${JSON.stringify(stdout)}` });
          return;
        }
        resolve({ status: code, ms: total * 1000, bytes: size, lines: 0 });
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Counts lines beginning with `prefix` across chunk boundaries. */
function lineCounter(prefix: string): { feed(chunk: Buffer): void; readonly count: number } {
  const needle = Buffer.from(`\n${prefix}`);
  // The first line counts too: start as if a newline came before the body.
  let carry = Buffer.from('\n');
  let count = 0;
  return {
    feed(chunk: Buffer): void {
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + 1)) count++;
      // Keep a tail shorter than the needle, so that a match split over chunks is found once.
      carry = Buffer.from(data.subarray(Math.max(0, data.length - (needle.length - 1))));
    },
    get count(): number {
      return count;
    },
  };
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Requests in this first stretch are sent but not recorded. */
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The request of the `i`-th call of worker `worker`. */
  readonly request: (worker: number, i: number) => SendOptions;
  /** Statuses that count as success. */
  readonly ok: readonly number[];
}

export interface LoadResult {
  readonly requests: number;
  readonly failures: number;
  readonly firstFailure: string | undefined;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** The successful answers' latencies, ascending. */
  readonly latencies: readonly number[];
}

/**
 * Closed loop: `concurrency` workers each send one request after another until the time is
 * up. Throughput counts the successful answers that completed in the measured window; the
 * latencies are theirs.
 */
export async function runLoad(client: Client, options: LoadOptions): Promise<LoadResult> {
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const until = measureFrom + options.durationMs;
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let lastEnd = measureFrom;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; performance.now() < until; i++) {
      const sentAt = performance.now();
      const answer = await client.send(options.request(w, i));
      const endAt = performance.now();
      if (sentAt < measureFrom) continue;
      lastEnd = Math.max(lastEnd, endAt);
      if (options.ok.includes(answer.status)) {
        latencies.push(answer.ms);
      } else {
        failures++;
        firstFailure ??= answer.error ?? `HTTP ${answer.status}`;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  const seconds = Math.max(lastEnd - measureFrom, 1) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: sorted.length,
    failures,
    firstFailure,
    seconds,
    perSecond: sorted.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    latencies: sorted,
  };
}

/** Several closed loops of the same load as one: their requests, measured time and latencies together. */
export function pool(loads: readonly LoadResult[]): LoadResult {
  const sorted = loads.flatMap((l) => l.latencies).sort((a, b) => a - b);
  const seconds = loads.reduce((sum, l) => sum + l.seconds, 0);
  return {
    requests: sorted.length,
    failures: loads.reduce((sum, l) => sum + l.failures, 0),
    firstFailure: loads.find((l) => l.firstFailure !== undefined)?.firstFailure,
    seconds,
    perSecond: sorted.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    latencies: sorted,
  };
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Sends `count` requests with `concurrency` workers (each request from `make(i)`) and stops
 * early at `deadline` (performance.now() ms). Resolves with how many were answered with an OK
 * status, and the first failure.
 */
export async function sendAll(
  client: Client,
  count: number,
  concurrency: number,
  make: (i: number) => SendOptions,
  ok: readonly number[],
  deadline: number,
): Promise<{ done: number; failure: string | undefined }> {
  let next = 0;
  let done = 0;
  let failure: string | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < count && performance.now() < deadline) {
      const i = next++;
      const answer = await client.send(make(i));
      if (ok.includes(answer.status)) done++;
      else failure ??= `request ${i} answered ${answer.error ?? `HTTP ${answer.status}`}`;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return { done, failure };
}
