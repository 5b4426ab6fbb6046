/**
 * Phase 2 of `make bench`: scrape latency (plain and gzip), resident memory, restart time and
 * PUT latency as the store grows, with --persistence.file set throughout. One gateway after
 * another, but for the restart with 100,000 series: each gateway's file of that size is kept, and
 * once every gateway is through, the gateways restart from copies of it in turns (restartsInTurns).
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { body, families, smallFamilies } from './bodies.js';
import type { GatewaySpec, StartFlags } from './gateways.js';
import { median } from './http.js';
import { count } from './rows.js';
import {
  Broke,
  burstPut,
  fill,
  inTurns,
  probePut,
  residentOf,
  scrapeCells,
  scrapesAfterPush,
  scrapeText,
  settle,
  start,
  stop,
  timedGzipScrapes,
  timedScrapes,
  waitForSeries,
  type Bench,
  type Started,
} from './steps.js';

/**
 * A copy of a persistence file that is on the disk, as a restarted gateway's file is: a copy
 * left in the page cache makes the first fsync of a gateway that syncs at start (Lethe) write it
 * all (10,000 series: 420-460 ms to ready instead of 300).
 */
function copyToDisk(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where the scale phase keeps a gateway's persistence file of 100,000 series for restartsInTurns. */
const manyFile = (bench: Bench, spec: GatewaySpec): string => join(bench.work, `${spec.kind}.many.data`);

export async function scalePhase(bench: Bench, spec: GatewaySpec): Promise<void> {
  const { results, sizes, log } = bench;
  const { levels } = sizes;
  const file = join(bench.work, `${spec.kind}.data`);
  // The Pushgateway checks each push against the whole store, so filling it with the check on
  // takes longer than this run allows: it is filled unchecked (the data is consistent either
  // way; scrapes do the same work), and restarted with the check on for the PUT probes.
  // Lethe's check is incremental: it runs with its defaults throughout.
  const fillFlags: StartFlags = spec.kind === 'lethe' ? { persistenceFile: file } : { persistenceFile: file, disableConsistencyCheck: true };
  const checkedFlags: StartFlags = { persistenceFile: file };
  const small = body(smallFamilies(), 'text');
  const big = body(families(sizes.bigFamilies, sizes.bigPerFamily), 'text');
  const memory = (id: string, rss: number, emptyRss: number, series: number): void => {
    results.set(`scale.memory.${id}`, spec.kind, { value: (rss - emptyRss) / series });
  };
  let run: Started | undefined;
  let step = 'scale.';
  try {
    run = await start(bench, spec, fillFlags, 'fill');
    await settle(500);
    const emptyRss = residentOf(run.gateway);

    step = 'scale.scrape.few';
    log(`  ${count(sizes.smallGroups)} groups × 10 series`);
    await fill(bench, run, 'bench_small', 0, sizes.smallGroups, small, 16);
    const few = await waitForSeries(run, levels.few);
    scrapeCells(bench, spec.kind, 'scrape.few', await timedScrapes(run, sizes.scrapes, few));

    step = 'scale.memory.mid';
    await fill(bench, run, 'bench_small', sizes.smallGroups, sizes.midGroups, small, 16);
    await settle(2_000);
    const midRss = residentOf(run.gateway);
    results.set('scale.memory.mid.rss', spec.kind, { value: midRss });
    log(`  ${count(levels.mid)} series: resident ${count(midRss)} bytes`);

    step = 'scale.memory.many';
    await fill(bench, run, 'bench_small', sizes.midGroups, sizes.manyGroups, small, 16);
    await settle(2_000);
    const rss = residentOf(run.gateway);
    results.set('scale.memory.many.rss', spec.kind, { value: rss });
    memory('many.per', rss, emptyRss, levels.many);
    log(`  ${count(levels.many)} series: resident ${count(rss)} bytes, ${((rss - emptyRss) / levels.many).toFixed(0)} bytes per series over the empty gateway`);
    step = 'scale.scrape.many';
    const many = await waitForSeries(run, levels.many);
    scrapeCells(bench, spec.kind, 'scrape.many', await timedScrapes(run, sizes.scrapes, many));
    await settle(2_000);
    const plainRss = residentOf(run.gateway);
    log(`  after the plain scrapes: resident ${count(plainRss)} bytes`);
    step = 'scale.gzip.many';
    const plain = await scrapeText(run);
    scrapeCells(bench, spec.kind, 'gzip.many', await timedGzipScrapes(run, sizes.scrapes, plain));
    // And as a gateway that Prometheus scrapes (with gzip) holds it.
    step = 'scale.memory.many.scraped';
    await settle(2_000);
    const scrapedRss = residentOf(run.gateway);
    memory('many.scraped', scrapedRss, emptyRss, levels.many);
    log(`  after the gzip scrapes: resident ${count(scrapedRss)} bytes (${count(scrapedRss - plainRss)} more than after the plain ones)`);
    step = 'scale.scrape.pushed';
    const pushed = (await scrapesAfterPush(run, sizes.scrapes, 'bench_small', sizes.manyGroups, many)).map((a) => a.ms);
    results.set('scale.scrape.pushed.ms', spec.kind, { value: median(pushed), samples: pushed.map((x) => Number(x.toFixed(1))) });
    log(`  scrape right after a push: median ${median(pushed).toFixed(1)} ms over ${pushed.length}`);

    step = 'scale.restart.many';
    await stop(bench, run);
    // Timed later, in turns with the other gateways (restartsInTurns), from copies of this file.
    copyToDisk(file, manyFile(bench, spec));
    run = await start(bench, spec, checkedFlags, 'restart-many');
    log(`  restart with ${count(levels.many)} series: ready after ${run.readyMs.toFixed(0)} ms (the row is timed later, in turns)`);
    await settle(2_000);
    const restartedRss = residentOf(run.gateway);
    memory('many.restarted', restartedRss, emptyRss, levels.many);
    log(`  after the restart: resident ${count(restartedRss)} bytes`);
    await waitForSeries(run, levels.many);
    step = 'scale.put.many';
    await probePut(bench, run, 'scale.put.many.ms', 10);

    step = 'scale.scrape.big';
    if (fillFlags.disableConsistencyCheck === true) {
      await stop(bench, run);
      run = await start(bench, spec, fillFlags, 'fill-big');
    }
    log(`  + ${count(sizes.bigGroups)} groups × ${count(big.series)} series`);
    await fill(bench, run, 'bench_big', 0, sizes.bigGroups, big, 4);
    step = 'scale.memory.big';
    await settle(2_000);
    const bigRss = residentOf(run.gateway);
    memory('big.per', bigRss, emptyRss, levels.big);
    log(`  resident ${count(bigRss)} bytes`);
    step = 'scale.scrape.big';
    const bigBarrier = await waitForSeries(run, levels.big);
    scrapeCells(bench, spec.kind, 'scrape.big', await timedScrapes(run, 3, bigBarrier));
    await settle(2_000);
    const bigScrapedRss = residentOf(run.gateway);
    memory('big.scraped', bigScrapedRss, emptyRss, levels.big);
    log(`  after the scrapes: resident ${count(bigScrapedRss)} bytes`);

    step = 'scale.restart.big';
    await stop(bench, run);
    run = await start(bench, spec, checkedFlags, 'restart-big');
    results.set('scale.restart.big.ms', spec.kind, { value: run.readyMs });
    log(`  restart with ${count(levels.big)} series: ready after ${run.readyMs.toFixed(0)} ms`);
    step = 'scale.put.big';
    await probePut(bench, run, 'scale.put.big.ms', 3);
    step = 'scale.burst.big';
    await burstPut(bench, run, 'big');
  } catch (err) {
    if (!(err instanceof Broke)) throw err;
    log(`  broke at ${step}: ${err.message}`);
    results.broke('scale.', spec.kind, err.message, step);
  } finally {
    if (run !== undefined) await stop(bench, run);
    rmSync(file, { force: true });
  }
}

/**
 * The restart row with 100,000 series: the gateways that kept their file of that size restart
 * from a fresh copy of it in turns, `sizes.restarts` rounds (the order reversed each round), so
 * the restarts compared are seconds apart on a machine whose speed drifts. The median counts.
 */
export async function restartsInTurns(bench: Bench, specs: readonly GatewaySpec[]): Promise<void> {
  const { results, sizes, log } = bench;
  const ready = specs.filter((spec) => existsSync(manyFile(bench, spec)));
  const readyMs = new Map<GatewaySpec, number[]>(ready.map((spec) => [spec, []]));
  const copy = join(bench.work, 'restart.data');
  try {
    for (let round = 0; round < sizes.restarts; round++) {
      for (const spec of inTurns(ready, round)) {
        const times = readyMs.get(spec);
        if (times === undefined) continue;
        copyToDisk(manyFile(bench, spec), copy);
        try {
          const run = await start(bench, spec, { persistenceFile: copy }, `restart-many-${round}`);
          times.push(run.readyMs);
          await stop(bench, run);
        } catch (err) {
          if (!(err instanceof Broke)) throw err;
          log(`  ${spec.title} broke at its restart: ${err.message}`);
          results.set('scale.restart.many.ms', spec.kind, { note: `broke: ${err.message}` });
          readyMs.delete(spec);
        }
      }
    }
    for (const [spec, times] of readyMs) {
      results.set('scale.restart.many.ms', spec.kind, { value: median(times), samples: times.map((x) => Math.round(x)) });
      log(`  ${spec.title}: ready after ${times.map((x) => x.toFixed(0)).join(', ')} ms`);
    }
  } finally {
    rmSync(copy, { force: true });
    for (const spec of specs) rmSync(manyFile(bench, spec), { force: true });
  }
}
