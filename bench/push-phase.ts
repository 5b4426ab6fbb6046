/** Phase 1 of `make bench`: push throughput and latency on a fresh gateway (memory only). */
import { body } from './bodies.js';
import type { GatewaySpec } from './gateways.js';
import { runLoad } from './http.js';
import type { Cell } from './report.js';
import { pushConcurrencies, pushFormats, pushSizes } from './rows.js';
import { Broke, alive, pushHeaders, start, stop, type Bench, type Started } from './steps.js';

export async function pushPhase(bench: Bench, spec: GatewaySpec): Promise<void> {
  const { results, sizes, log } = bench;
  let run: Started | undefined;
  try {
    run = await start(bench, spec, {}, 'push');
    const { gateway, client } = run;
    for (const size of pushSizes) {
      const fams = size.families();
      for (const format of pushFormats) {
        const b = body(fams, format);
        for (const c of pushConcurrencies) {
          const job = `push_${size.id}_${format}_c${c}`;
          const id = `push.${size.id}.${format}.c${c}`;
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
          const note = r.failures > 0 ? `${r.failures} failed: ${r.firstFailure ?? ''}` : undefined;
          const cell = (value: number): Cell => (note === undefined ? { value } : { value, note });
          results.set(`${id}.rps`, spec.kind, cell(r.perSecond));
          results.set(`${id}.p50`, spec.kind, cell(r.p50));
          results.set(`${id}.p99`, spec.kind, cell(r.p99));
          log(`  ${job}: ${r.perSecond.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (${r.requests} requests${note === undefined ? '' : `, ${note}`})`);
          for (let g = 0; g < sizes.pushGroups; g++) await client.send({ method: 'DELETE', path: `/metrics/job/${job}/instance/w${g}` });
        }
      }
    }
  } catch (err) {
    if (!(err instanceof Broke)) throw err;
    log(`  broke: ${err.message}`);
    results.broke('push.', spec.kind, err.message);
  } finally {
    if (run !== undefined) await stop(bench, run);
  }
}
