/**
 * Phase 1 of `make bench`: push throughput and latency on fresh gateways (memory only).
 *
 * Every gateway runs at once, idle but for the one being measured, and they take turns row by
 * row, in rounds (the order reversed each round): the two figures of a ratio are measured
 * seconds apart, not minutes, on a shared machine whose speed drifts over a run. A row pools
 * each gateway's rounds (their requests, measured time and latencies).
 */
import { body } from './bodies.js';
import type { GatewaySpec } from './gateways.js';
import { pool, runLoad, type LoadResult } from './http.js';
import type { Cell } from './report.js';
import { pushConcurrencies, pushFormats, pushSizes } from './rows.js';
import { Broke, alive, inTurns, pushHeaders, start, stop, type Bench, type Started } from './steps.js';

export async function pushPhase(bench: Bench, specs: readonly GatewaySpec[]): Promise<void> {
  const { results, sizes, log } = bench;
  const runs = new Map<GatewaySpec, Started>();
  const broke = async (spec: GatewaySpec, err: unknown): Promise<void> => {
    if (!(err instanceof Broke)) throw err;
    log(`  ${spec.title} broke: ${err.message}`);
    results.broke('push.', spec.kind, err.message);
    const run = runs.get(spec);
    runs.delete(spec);
    if (run !== undefined) await stop(bench, run);
  };
  try {
    for (const spec of specs) {
      try {
        runs.set(spec, await start(bench, spec, {}, 'push'));
      } catch (err) {
        await broke(spec, err);
      }
    }
    for (const size of pushSizes) {
      const fams = size.families();
      for (const format of pushFormats) {
        const b = body(fams, format);
        for (const c of pushConcurrencies) {
          const job = `push_${size.id}_${format}_c${c}`;
          const id = `push.${size.id}.${format}.c${c}`;
          const rounds = new Map<GatewaySpec, LoadResult[]>();
          for (let round = 0; round < sizes.pushRounds; round++) {
            for (const spec of inTurns([...runs.keys()], round)) {
              const { gateway, client } = runs.get(spec) as Started;
              try {
                const r = await runLoad(client, {
                  concurrency: c,
                  warmupMs: sizes.pushWarmupMs,
                  durationMs: sizes.pushMeasureMs,
                  ok: [200],
                  request: (w, i) => ({
                    method: 'PUT',
                    path: `/metrics/job/${job}/instance/w${c === 1 ? i % sizes.pushGroups : w % sizes.pushGroups}`,
                    body: b.bytes,
                    headers: pushHeaders(b),
                    timeoutMs: 60_000,
                  }),
                });
                alive(gateway);
                rounds.set(spec, [...(rounds.get(spec) ?? []), r]);
              } catch (err) {
                rounds.delete(spec);
                await broke(spec, err);
              }
            }
          }
          for (const [spec, measured] of rounds) {
            const r = pool(measured);
            const note = r.failures > 0 ? `${r.failures} failed: ${r.firstFailure ?? ''}` : undefined;
            const cell = (value: number, samples: readonly number[]): Cell => ({ value, samples, ...(note === undefined ? {} : { note }) });
            results.set(`${id}.rps`, spec.kind, cell(r.perSecond, measured.map((x) => Math.round(x.perSecond))));
            results.set(`${id}.p50`, spec.kind, cell(r.p50, measured.map((x) => x.p50)));
            results.set(`${id}.p99`, spec.kind, cell(r.p99, measured.map((x) => x.p99)));
            const each = measured.map((x) => `${x.perSecond.toFixed(0)}`).join(' / ');
            log(`  ${job}, ${spec.title}: ${r.perSecond.toFixed(0)} req/s (rounds: ${each}), p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.requests} requests${note === undefined ? '' : `, ${note}`})`);
            const { client } = runs.get(spec) as Started;
            for (let g = 0; g < sizes.pushGroups; g++) await client.send({ method: 'DELETE', path: `/metrics/job/${job}/instance/w${g}` });
          }
        }
      }
    }
  } finally {
    for (const run of runs.values()) await stop(bench, run);
  }
}
