/**
 * `make fuzz`: every property at full size — FUZZ_RUNS generated inputs in all (120,000 by
 * default), shared by weight — from a fixed seed (FUZZ_SEED) that is printed, in worker threads
 * (FUZZ_WORKERS, at most 2 by default). FUZZ_ONLY=<text> runs only the properties whose name
 * contains it (each keeps its full-size share and its seed, so a failure reproduces alone). A
 * watchdog ends the run when a worker has taken no new input for 30 s, naming the property and
 * printing the input it is stuck on: a hang that no time limit inside the worker can catch.
 *
 *   node dist/fuzz/test/fuzz/run.js
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DEFAULT_FULL_RUNS, baseSeed, positiveIntegerFrom, propertySeed, shareOf, type FuzzProperty } from './budget.js';
import { allProperties } from './properties.js';
import { INPUT_SLOT_BYTES, describeInput, type FromWorker, type ToWorker, type WorkerData } from './worker-protocol.js';

const STALL_MS = 30_000;

interface Result {
  readonly name: string;
  readonly runs: number;
  readonly seconds: number;
  readonly failure?: string;
}

interface Assignment {
  readonly property: FuzzProperty;
  readonly startedAt: number;
  beat: number;
  lastBeatAt: number;
}

function line(result: Result, note: string | undefined): string {
  const head = `${result.failure === undefined ? 'ok  ' : 'FAIL'} ${result.seconds.toFixed(1).padStart(6)} s ${String(result.runs).padStart(7)} inputs  ${result.name}`;
  return note === undefined ? head : `${head}\n${' '.repeat(29)}${note}`;
}

async function main(): Promise<number> {
  const env = process.env;
  const total = positiveIntegerFrom(env['FUZZ_RUNS'], DEFAULT_FULL_RUNS);
  const seed = baseSeed(env);
  const only = env['FUZZ_ONLY'];
  const selected = allProperties.filter((p) => only === undefined || p.name.includes(only));
  if (selected.length === 0) throw new Error(`no property matches FUZZ_ONLY=${JSON.stringify(only)}`);
  const workerCount = Math.min(positiveIntegerFrom(env['FUZZ_WORKERS'], Math.min(2, availableParallelism())), selected.length);
  const runsOf = (p: FuzzProperty): number => shareOf(total, p, allProperties);
  console.log(`fuzz: seed ${seed} (FUZZ_SEED), ${total} inputs over ${allProperties.length} properties (FUZZ_RUNS), ${workerCount} workers`);

  // Heaviest first, so that the workers finish at about the same time.
  const queue = [...selected].sort((a, b) => b.weight - a.weight);
  const heartbeats = new Int32Array(new SharedArrayBuffer(4 * workerCount));
  const results: Result[] = [];
  const started = performance.now();

  await new Promise<void>((resolve, reject) => {
    let busy = 0;
    const watchers: (() => string | undefined)[] = [];
    const timer = setInterval(() => {
      for (const watch of watchers) {
        const hang = watch();
        if (hang !== undefined) {
          clearInterval(timer);
          reject(new Error(hang));
          return;
        }
      }
    }, 1000);
    const finish = (): void => {
      if (busy > 0) return;
      clearInterval(timer);
      resolve();
    };
    for (let slot = 0; slot < workerCount; slot++) {
      const input = new SharedArrayBuffer(4 + INPUT_SLOT_BYTES);
      const data: WorkerData = { slot, heartbeats, input };
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
      let current: Assignment | undefined;
      const next = (): void => {
        const property = queue.shift();
        if (property === undefined) {
          current = undefined;
          busy--;
          void worker.terminate();
          finish();
          return;
        }
        const now = performance.now();
        current = { property, startedAt: now, beat: Atomics.load(heartbeats, slot), lastBeatAt: now };
        const message: ToWorker = { name: property.name, runs: runsOf(property), seed: propertySeed(seed, property.name) };
        worker.postMessage(message);
      };
      worker.on('message', (m: FromWorker) => {
        if (current === undefined) return;
        const result: Result = {
          name: m.name,
          runs: runsOf(current.property),
          seconds: (performance.now() - current.startedAt) / 1000,
          ...(m.failure === undefined ? {} : { failure: m.failure }),
        };
        results.push(result);
        console.log(line(result, m.note));
        next();
      });
      worker.on('error', (err: Error) => {
        clearInterval(timer);
        reject(err);
      });
      watchers.push(() => {
        if (current === undefined) return undefined;
        const now = performance.now();
        const beat = Atomics.load(heartbeats, slot);
        if (beat !== current.beat) {
          current.beat = beat;
          current.lastBeatAt = now;
          return undefined;
        }
        if (now - current.lastBeatAt < STALL_MS) return undefined;
        void worker.terminate();
        return `HANG: "${current.property.name}" took no new input for ${STALL_MS / 1000} s (seed ${propertySeed(seed, current.property.name)}); it is stuck on ${describeInput(input)}`;
      });
      busy++;
      next();
    }
  });

  const seconds = (performance.now() - started) / 1000;
  const inputs = results.reduce((s, r) => s + r.runs, 0);
  const failures = results.filter((r) => r.failure !== undefined);
  for (const f of failures) console.log(`\n--- ${f.name} (seed ${propertySeed(seed, f.name)})\n${f.failure ?? ''}`);
  console.log(`\nfuzz: ${inputs} inputs in ${seconds.toFixed(1)} s (seed ${seed}): ${results.length - failures.length} passed, ${failures.length} failed`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
