/**
 * `make bench`: Lethe against the real Pushgateway (Debian's, and the newest upstream release
 * when the Makefile could build it) on loopback ports, in one run: taking turns at each push
 * row, then one after another for the scale rows (but for restarts with 100,000 series, again
 * in turns). Prints one table (metric, Lethe, each Pushgateway and the ratio Lethe / it, Lethe's
 * targets), then which rows miss their targets, and writes the same as JSON under bench/results/.
 * Ratios are what to read: the machine is shared and small, so the absolute figures move from run
 * to run.
 *
 *   node dist/bench/bench/run.js [--gateways=lethe,pushgateway-1.5,pushgateway]
 *                                [--phases=push,scale,forget] [--quick] [--check] [--update-docs]
 *
 * --check exits non-zero when a row of a phase that ran misses its targets (bench/targets.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ForgettingRow } from './forgetting.js';
import { gatewaySpecs, repoRoot, type GatewayKind } from './gateways.js';
import { pushPhase } from './push-phase.js';
import { Results, buildReport, check, describeMachine, machine, table, writeReport } from './report.js';
import { FORGET_ROWS, count, defineRows, sizesFor } from './rows.js';
import { restartsInTurns, scalePhase } from './scale-phase.js';
import type { Bench } from './steps.js';

interface Options {
  readonly gateways: readonly GatewayKind[];
  readonly phases: readonly string[];
  readonly quick: boolean;
  /** Exit non-zero when a row misses its targets. */
  readonly check: boolean;
  /** Rewrite the table in docs/benchmarks.md. */
  readonly updateDocs: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let gateways: GatewayKind[] = ['lethe', 'pushgateway-1.5', 'pushgateway'];
  let phases = ['push', 'scale', 'forget'];
  let quick = false;
  let checkTargets = false;
  let updateDocs = false;
  for (const arg of argv) {
    const [name, value = ''] = arg.split('=', 2);
    if (name === '--gateways') gateways = value.split(',') as GatewayKind[];
    else if (name === '--phases') phases = value.split(',');
    else if (name === '--quick') quick = true;
    else if (name === '--check') checkTargets = true;
    else if (name === '--update-docs') updateDocs = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return { gateways, phases, quick, check: checkTargets, updateDocs };
}

const opts = parseArgs(process.argv.slice(2));
const runStarted = new Date();
const t0 = performance.now();
const results = new Results();
const sizes = sizesFor(opts.quick);
defineRows(results, sizes);
const log = (msg: string): void => {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);
};

/** The page whose `bench` block shows the latest run. */
const DOCS_PAGE = join('docs', 'benchmarks.md');

function updateDocs(markdown: string): void {
  const file = join(repoRoot, DOCS_PAGE);
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a === -1 || b < a) throw new Error(`${DOCS_PAGE} has no ${begin} … ${end} block`);
  writeFileSync(file, `${text.slice(0, a + begin.length)}\n${markdown}\n${text.slice(b)}`);
}

/**
 * The forgetting rows from a process of their own (bench/forgetting-main.ts --json): Lethe runs in
 * that process, and its heap should hold nothing that the push and scale phases left in this one.
 */
function forgettingInChild(args: readonly string[]): Promise<ForgettingRow[]> {
  const main = join(dirname(fileURLToPath(import.meta.url)), 'forgetting-main.js');
  const child = spawn(process.execPath, [main, '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the forgetting phase exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '[]') as ForgettingRow[]);
    });
  });
}

/** Phase 3: Lethe only, on a real control plane (bench/forgetting.ts). */
async function forgetPhase(): Promise<void> {
  try {
    const rows = await forgettingInChild(opts.quick ? ['--no-cluster-pass', '--deletions=100'] : []);
    for (const r of rows) {
      if (!results.rows.some((x) => x.id === r.id)) results.define({ id: r.id, metric: r.metric, unit: r.unit, better: 'lower', letheOnly: true });
      results.set(
        r.id,
        'lethe',
        typeof r.lethe === 'number'
          ? { value: r.lethe, ...(r.note === undefined ? {} : { note: r.note }), ...(r.samples === undefined ? {} : { samples: r.samples }) }
          : { note: r.lethe },
      );
    }
  } catch (err) {
    log(`forgetting: broke: ${err instanceof Error ? err.message : String(err)}`);
    for (const id of FORGET_ROWS) results.set(id, 'lethe', { note: `broke: ${err instanceof Error ? err.message.slice(0, 80) : String(err)}` });
  }
}

async function main(bench: Bench): Promise<boolean> {
  const specs = gatewaySpecs().filter((s) => opts.gateways.includes(s.kind));
  for (const spec of specs) {
    if (spec.missing === undefined) continue;
    log(`${spec.title}: skipped, ${spec.missing}`);
    for (const row of results.rows) if (!row.id.startsWith('forget.')) results.set(row.id, spec.kind, { note: 'not run' });
  }
  const present = specs.filter((s) => s.missing === undefined);
  if (opts.phases.includes('push')) {
    log(`push throughput: ${present.map((s) => s.title).join(', ')}, taking turns`);
    await pushPhase(bench, present);
  }
  if (opts.phases.includes('scale')) {
    for (const spec of present) {
      log(`${spec.title}: scrape, memory, restart, PUT latency as the store grows`);
      await scalePhase(bench, spec);
    }
    log(`restart with ${count(sizes.levels.many)} series: ${present.map((s) => s.title).join(', ')}, taking turns`);
    await restartsInTurns(bench, present);
  }
  if (opts.phases.includes('forget') && opts.gateways.includes('lethe')) {
    log('Lethe: forgetting on a real control plane');
    await forgetPhase();
  }
  for (const id of FORGET_ROWS) if (results.rows.find((r) => r.id === id)?.cells.lethe === undefined) results.set(id, 'lethe', { note: 'not run' });
  const seconds = (performance.now() - t0) / 1000;
  const method = [
    'Each gateway on a 127.0.0.1 port of its own, measured while the others are idle or stopped; the load generator is this node process (http.Agent with keep-alive).',
    `Push rows: closed loop for ${sizes.pushMeasureMs / 1000} s after a ${sizes.pushWarmupMs} ms warm-up on a fresh gateway (memory only), PUT to ${sizes.pushGroups} groups in turn (concurrency 1) or one group per worker (16); the gateways run at once and take turns, row by row, ${sizes.pushRounds} rounds each (the order reversed each round), pooled.`,
    'Scale rows: text pushes of 10 series per group, then groups of 5,000 series; --persistence.file set throughout.',
    'The Pushgateways are filled with --push.disable-consistency-check (their per-push check gathers the whole store) and restarted with the check on for the restart and PUT rows; Lethe runs with its defaults.',
    'Memory is VmRSS from /proc, 2 s after a fill (stored) and again 2 s after the scrapes of that size (as a gateway that Prometheus scrapes holds it); per series = (that RSS − RSS of the empty gateway) / series.',
    `Scrape latency: median of ${sizes.scrapes} (3 at the largest size) after one scrape that shows every series; gzip: Accept-Encoding: gzip, median of ${sizes.scrapes} after one untimed gzip scrape, each answer decompressed and compared with an uncompressed scrape (the pushed families byte for byte).`,
    `Restart: median of ${sizes.restarts} at ${count(sizes.levels.many)} series (the gateways in turns, each from a fresh copy of its file, once every gateway's scale rows are done), one at ${count(sizes.levels.big)}.`,
    'Ratio = Lethe / Pushgateway: above 1 is better for throughput, below 1 for everything else.',
  ];
  // Only the rows of the phases that ran are checked.
  const ran = (id: string): boolean => opts.phases.includes(id.split('.')[0] ?? '');
  const checked = new Results();
  for (const row of results.rows) if (ran(row.id)) checked.rows.push(row);
  const outcome = check(checked, specs);
  const report = { ...buildReport(results, specs, runStarted, seconds, method), check: outcome };
  const heading = `Run of ${runStarted.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${describeMachine(machine())}, ${seconds.toFixed(0)} s.`;
  const markdown = `${heading}\n\n${table(results, specs)}`;
  process.stdout.write(`\n${markdown}\n\n${outcome.lines.join('\n')}\n`);
  const file = writeReport(join(repoRoot, 'bench', 'results'), report);
  log(`wrote ${file.slice(repoRoot.length + 1)}`);
  if (opts.updateDocs) {
    updateDocs(markdown);
    log(`updated ${DOCS_PAGE}`);
  }
  return outcome.ok;
}

const work = mkdtempSync(join(tmpdir(), 'lethe-bench-'));
main({ results, sizes, work, log })
  .then((ok) => {
    if (opts.check && !ok) process.exitCode = 1;
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
