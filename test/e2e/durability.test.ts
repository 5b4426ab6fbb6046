import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { HEADER_LINE } from '../../src/store/persistence.js';
import { TestProcess } from '../harness/processes.js';
import { letheMain, startGateway, type Gateway } from './gateways.js';

/** One PUT over a fresh connection; resolves with the status, or undefined when it failed. */
function put(port: number, path: string, body: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'PUT', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

interface GroupJson {
  readonly labels: Record<string, string>;
  readonly d?: { readonly metrics: readonly { readonly value: string }[] };
}

describe('durability: every acknowledged push survives kill -9', () => {
  let dir: string;
  let gateway: Gateway | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-durability-'));
  });
  afterAll(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('SIGKILL during 16 concurrent pushers loses no acknowledged push', async () => {
    const file = join(dir, 'lethe.data');
    const first = await startGateway('lethe', { persistenceFile: file });
    const acked = new Map<string, number>();
    let sent = 0;
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const instance = `w${w}-${i}`;
        sent++;
        const status = await put(first.port, `/metrics/job/durable/instance/${instance}`, `d ${i}\n`);
        if (status === 200) acked.set(instance, i);
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    // Let pushes flow, then kill the process while requests are in flight.
    while (acked.size < 400) await new Promise((resolve) => setTimeout(resolve, 20));
    await first.process.kill();
    stop = true;
    await Promise.all(workers);
    const ackedAtKill = acked.size;

    gateway = await startGateway('lethe', { persistenceFile: file });
    const res = await fetch(`${gateway.url}/api/v1/metrics`);
    const body = (await res.json()) as { data: GroupJson[] };
    const restored = new Map<string, string>();
    for (const group of body.data) {
      const instance = group.labels['instance'];
      const value = group.d?.metrics[0]?.value;
      if (instance !== undefined && value !== undefined) restored.set(instance, value);
    }
    const missing = [...acked].filter(([instance, value]) => restored.get(instance) !== String(value));
    console.log(`durability: sent ${sent}, acknowledged ${ackedAtKill}, restored ${restored.size}, acknowledged but missing ${missing.length}`);
    expect(ackedAtKill).toBeGreaterThanOrEqual(400);
    expect(missing).toEqual([]);
  });

  test('families found damaged after start-up stop Lethe with start-up\'s error (exit status 2)', async () => {
    // A record in two parts (head, tab, families) whose checksum is right and whose families are
    // not what the format says: start-up reads only the head, the families are read right after.
    const file = join(dir, 'damaged.data');
    const head = JSON.stringify({ t: 'g', k: [['job', 'a']], push: 1, fail: 0, attr: { source: 'none' }, n: 2 });
    const line = `${head}\t${JSON.stringify([[{ n: 'm', t: 'gauge', l: ['code', 'instance', 'job'], v: [1, 2], x: ['200'] }, 1]])}`;
    await writeFile(file, `${HEADER_LINE}${crc32(line).toString(16).padStart(8, '0')} ${line}\n`);
    const logFile = join(dir, 'damaged.log');
    const lethe = new TestProcess({ name: 'lethe-damaged', command: process.execPath, args: [letheMain(), '--web.listen-address=127.0.0.1:0', `--persistence.file=${file}`], logFile });
    expect(await lethe.wait()).toBe(2);
    expect(await readFile(logFile, 'utf8')).toContain(`lethe: persistence file ${file} is damaged at byte offset 37 (line 2)`);
    // Left as it was.
    expect((await readFile(file, 'utf8')).endsWith(`${line}\n`)).toBe(true);
  });
});
