import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { encodeFamilyDelimited } from '../../../src/exposition/index.js';
import { unattributed, type MetricFamily } from '../../../src/model/index.js';
import type { LocalGroupStore, LocalStoreOptions } from '../../../src/store/index.js';
import { HEADER_LINE, encodeLine, scanJournal } from '../../../src/store/persistence.js';
import { FakeClock, family, key, put, sample } from '../../harness/builders.js';
import { openLocalStore } from '../../harness/stores.js';

// How families are written in the persistence file (src/store/family-record.ts): plain counters,
// gauges and untyped series as JSON, everything else as base64 protobuf, and files written
// before the plain form still load.

const clock = new FakeClock();
const open = (extra: Partial<LocalStoreOptions> = {}): Promise<LocalGroupStore> => openLocalStore({ clock, ownType: () => undefined, ...extra });

describe('family records in the persistence file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-family-record-'));
    file = join(dir, 'lethe.data');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const summary: MetricFamily = {
    name: 'rpc_seconds',
    type: 'summary',
    metrics: [{ labels: [], summary: { sampleCount: 3, sampleSum: 1.5, quantiles: [{ quantile: 0.5, value: 0.4 }] } }],
  };
  test.each([
    ['a counter with labels and help', 'columns', family('m_total', 'counter', [sample(3, { code: '200' }), sample(4.5, { code: '500' })], 'Things done.')],
    ['a gauge without help', 'columns', family('m', 'gauge', [sample(-2.5)])],
    ['an untyped family with an empty help', 'columns', family('m', 'untyped', [sample(1e300)], '')],
    ['help that was not valid UTF-8', 'columns', family('m', 'gauge', [sample(1, { path: '/é' })], 'bad \udc80 byte')],
    ['an empty family', 'columns', family('m', 'gauge', [])],
    ['series with other label names', 'rows', family('m', 'gauge', [sample(1, { a: '1' }), sample(2, { b: '2' })])],
    ['a series with an instance of its own (the key has none)', 'rows', family('m', 'gauge', [sample(1, { instance: 'x' }), sample(2)])],
    ['NaN', 'protobuf', family('m', 'gauge', [sample(Number.NaN)])],
    ['+Inf', 'protobuf', family('m', 'gauge', [sample(Infinity)])],
    ['-0', 'protobuf', family('m', 'gauge', [sample(-0)])],
    ['kept protobuf bytes (a created timestamp)', 'protobuf', family('m_total', 'counter', [sample(1, {}, { protobufRest: new Uint8Array([0x1a, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x1a, 0x00]) })])],
    ['a summary', 'protobuf', summary],
  ])('%s is written as %s and restored (a plain one as the very same series)', async (_name, form, pushed) => {
    const store = await open({ persistenceFile: file });
    // A key without an instance for the family whose series bring their own.
    const at = pushed.metrics[0]?.labels.some((l) => l.name === 'instance') === true ? key('a') : key('a', '/instance/i1');
    await store.push(put(at, pushed));
    const before = store.get(at)?.families.get(pushed.name)?.family;
    const text = store.scrapeText([]);
    await store.close();

    // Written in two parts, the families after a tab (read by start-up only when used).
    expect((await readFile(file, 'utf8')).split('\n')[1]).toContain('\t');
    const [record] = scanJournal(await readFile(file)).records;
    if (record?.t !== 'g') throw new Error('not a group record');
    expect(record.f).toHaveLength(1);
    const entry = record.f[0]?.[0];
    expect(typeof entry === 'string' ? 'protobuf' : typeof entry === 'object' && entry !== null && 'l' in entry ? 'columns' : 'rows').toBe(form);
    if (form === 'columns' && pushed.metrics.length > 0 && typeof entry === 'object' && 'l' in entry) {
      // The grouping labels are in the record's key, not repeated for each series.
      expect(entry.l).toEqual(expect.arrayContaining(['instance', 'job']));
      expect(entry.x).not.toContain('i1');
    }
    const restored = await open({ persistenceFile: file });
    // The protobuf form also keeps the bytes a protobuf scrape re-emits, as it always did.
    if (form !== 'protobuf') {
      const after = restored.get(at)?.families.get(pushed.name)?.family;
      expect(after).toEqual(before);
      // Stored packed (PlainFamily): toEqual sees its name, help and type; the series are read through metrics.
      expect(after?.metrics).toEqual(before?.metrics);
    }
    expect(restored.scrapeText([])).toBe(text);
    await restored.close();
  });

  test('a file written before the plain form (every family as base64 protobuf) loads', async () => {
    const old = family('m_total', 'counter', [sample(7, { code: '200', instance: '', job: 'a' })], 'Things done.');
    const base64 = Buffer.from(encodeFamilyDelimited(old)).toString('base64');
    await writeFile(file, `${HEADER_LINE}${encodeLine({ t: 'g', k: [['job', 'a']], f: [[base64, 1_700_000_000_000]], push: 1_700_000_000_000, fail: 0, attr: unattributed })}`);
    const store = await open({ persistenceFile: file });
    const stored = store.get(key('a'))?.families.get('m_total');
    expect(stored?.pushedAt).toBe(1_700_000_000_000);
    expect({ name: stored?.family.name, help: stored?.family.help, type: stored?.family.type, metrics: stored?.family.metrics }).toEqual(old);
    await store.close();
  });

  test.each([
    ['a value that is not a number', { n: 'm', t: 'gauge', s: [['1', 'code', '200']] }],
    ['a label without a value', { n: 'm', t: 'gauge', s: [[1, 'code']] }],
    ['a type that is not plain', { n: 'm', t: 'summary', s: [[1]] }],
    ['an unknown field', { n: 'm', t: 'gauge', s: [[1]], y: 1 }],
    ['columns without a label value for each series', { n: 'm', t: 'gauge', l: ['code', 'instance', 'job'], v: [1, 2], x: ['200'] }],
    ['columns with a value that is not a number', { n: 'm', t: 'gauge', l: ['instance', 'job'], v: ['1'], x: [] }],
    ['columns with a label name that is not a string', { n: 'm', t: 'gauge', l: [1], v: [1], x: ['a'] }],
    ['columns and rows at once', { n: 'm', t: 'gauge', l: [], v: [1], x: [], s: [[1]] }],
  ])('a checksummed plain family with %s stops start-up as damage', async (_name, entry) => {
    const json = JSON.stringify({ t: 'g', k: [['job', 'a']], f: [[entry, 1]], push: 1, fail: 0, attr: unattributed });
    // encodeLine would not write it (the type says so); the checksum is right, the record is not.
    const { crc32 } = await import('node:zlib');
    await writeFile(file, `${HEADER_LINE}${crc32(json).toString(16).padStart(8, '0')} ${json}\n`);
    await expect(open({ persistenceFile: file })).rejects.toThrow(/damaged at byte offset 37 \(line 2\)/);

    // Written in two parts, the families are read after start-up, when first used: the same
    // damage then stops Lethe with the same error (the composition root exits on it).
    const head = JSON.stringify({ t: 'g', k: [['job', 'a']], push: 1, fail: 0, attr: unattributed, n: 1 });
    const split = `${head}\t${JSON.stringify([[entry, 1]])}`;
    await writeFile(file, `${HEADER_LINE}${crc32(split).toString(16).padStart(8, '0')} ${split}\n`);
    const damaged: unknown[] = [];
    const store = await open({ persistenceFile: file, events: { onDamaged: (error) => damaged.push(error) } });
    expect(store.groupCount).toBe(1);
    expect(() => store.scrapeText([])).toThrow(ConfigError);
    expect(damaged).toEqual([expect.any(ConfigError)]);
    expect(() => store.get(key('a'))?.families).toThrow(/persistence file .* is damaged at byte offset 37 \(line 2\)/);
    await store.close();
  });
});
