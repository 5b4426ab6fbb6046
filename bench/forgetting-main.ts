/**
 * `make bench-forgetting`: the forgetting rows on their own (bench/forgetting.ts), printed as a
 * markdown table. Runs with plain Node, which transforms the types: our TypeScript imports name
 * `./x.js` for `./x.ts`, as tsc wants, so resolve them the way tsc does, then load the bench.
 * `make bench` runs the compiled copy in a process of its own with `--json` (the rows as JSON on
 * stdout), so that Lethe's heap there holds nothing from the phases before.
 *
 *   node --experimental-transform-types bench/forgetting-main.ts
 *        [--deletions=120] [--objects=10000] [--runs=7] [--loaded=30] [--no-cluster-pass] [--json]
 *
 * Needs the control-plane binaries (make tools). About three minutes on two cores.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (!/^\.\.?\/.*\.js$/.test(specifier)) throw err;
      return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
  },
});

const { forgettingRows } = await import('./forgetting.js');

const numbers: Record<string, number> = {};
let clusterPass = true;
let json = false;
for (const arg of process.argv.slice(2)) {
  const [name = '', value = ''] = arg.replace(/^--/, '').split('=', 2);
  if (name === 'no-cluster-pass') clusterPass = false;
  else if (name === 'json') json = true;
  else if (['deletions', 'objects', 'runs', 'loaded'].includes(name) && Number.isInteger(Number(value))) numbers[name] = Number(value);
  else throw new Error(`unknown argument ${arg}`);
}

const t0 = performance.now();
try {
  const rows = await forgettingRows({
    clusterPass,
    ...(numbers['deletions'] === undefined ? {} : { deletions: numbers['deletions'] }),
    ...(numbers['objects'] === undefined ? {} : { passObjects: numbers['objects'] }),
    ...(numbers['runs'] === undefined ? {} : { passRuns: numbers['runs'] }),
    ...(numbers['loaded'] === undefined ? {} : { loadedDeletions: numbers['loaded'] }),
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    process.exit(0);
  }
  const cell = (v: number | string): string => (typeof v === 'number' ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : v);
  const lines = ['| metric | Lethe | unit | note |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.metric} | ${cell(r.lethe)} | ${r.unit} | ${r.note ?? ''} |`)];
  process.stdout.write(`\n${lines.join('\n')}\n\n(${((performance.now() - t0) / 1000).toFixed(0)} s in all)\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`bench-forgetting failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
