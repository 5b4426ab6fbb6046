import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlainFamily, seriesCount, type Label, type MetricFamily } from '../../../src/model/index.js';
import { escapeFamily, renderFamily } from '../../../src/exposition/index.js';
import { FakeClock, family, key, put, sample } from '../../harness/builders.js';
import { openLocalStore } from '../../harness/stores.js';

// A plain family stored without an object per series (src/model/plain-family.ts) reads back as
// the same series, in order, with the same labels and values.

const counter = (): MetricFamily => family('jobs_total', 'counter', [sample(1, { code: '200' }), sample(2.5, { code: '500', path: '/a' }), sample(-0)], 'Jobs.');

describe('PlainFamily', () => {
  test('keeps every series, its labels (the same objects) and its value', () => {
    const source = counter();
    const packed = PlainFamily.of(source);
    expect(packed).toBeInstanceOf(PlainFamily);
    expect(packed?.metrics).toEqual(source.metrics);
    expect(packed?.metrics[1]?.labels[0]).toBe(source.metrics[1]?.labels[0]);
    expect(Object.is(packed?.metrics[2]?.value, -0)).toBe(true);
    expect(packed?.name).toBe('jobs_total');
    expect(packed?.help).toBe('Jobs.');
    expect(packed?.type).toBe('counter');
    expect(seriesCount(packed as MetricFamily)).toBe(3);
  });

  test('series with as many labels each, and a family without help', () => {
    const source = family('up', 'gauge', [sample(1, { a: '1' }), sample(0, { a: '2' })]);
    const packed = PlainFamily.of(source) as PlainFamily;
    expect(packed.metrics).toEqual(source.metrics);
    expect('help' in packed).toBe(false);
    expect(renderFamily(packed)).toBe(renderFamily(source));
  });

  test('is not made for NaN values, other types or series with more than labels and a value', () => {
    expect(PlainFamily.of(family('m', 'gauge', [sample(Number.NaN)]))).toBeUndefined();
    expect(PlainFamily.of(family('m', 'summary', [{ labels: [], summary: { sampleCount: 1, sampleSum: 1, quantiles: [] } }]))).toBeUndefined();
    expect(PlainFamily.of(family('m', 'gauge', [sample(1, {}, { timestampMs: 5 })]))).toBeUndefined();
    expect(PlainFamily.of(family('m', 'gauge', [sample(1, {}, { protobufRest: new Uint8Array([1]) })]))).toBeUndefined();
  });

  test('an empty family, and one built from series read back', () => {
    expect(PlainFamily.of(family('m', 'untyped', []))?.metrics).toEqual([]);
    const l: Label = { name: 'x', value: 'y' };
    const built = PlainFamily.fromSeries('m', undefined, 'untyped', [{ labels: [l], value: 3 }, { labels: [], value: 4 }]);
    expect(built.metrics).toEqual([{ labels: [l], value: 3 }, { labels: [], value: 4 }]);
    expect(built.size).toBe(2);
  });

  test('escaping for a scrape keeps its series', () => {
    const packed = PlainFamily.of(family('a.b', 'gauge', [sample(1, { 'c.d': 'v' })])) as PlainFamily;
    const escaped = escapeFamily(packed, 'underscores');
    expect(escaped.name).toBe('a_b');
    expect(escaped.metrics).toEqual([{ labels: [{ name: 'c_d', value: 'v' }], value: 1 }]);
  });
});

describe('the embedded store keeps plain families packed', () => {
  test('after a push and after a restart, with the same scrape and the same series', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-plain-family-'));
    try {
      const options = { clock: new FakeClock(), ownType: () => undefined, persistenceFile: join(dir, 'lethe.data') };
      const store = await openLocalStore(options);
      await store.push(put(key('j', '/instance/a'), counter(), family('odd', 'gauge', [sample(Number.NaN)])));
      const stored = store.get(key('j', '/instance/a'));
      expect(stored?.families.get('jobs_total')?.family).toBeInstanceOf(PlainFamily);
      expect(stored?.families.get('odd')?.family).not.toBeInstanceOf(PlainFamily);
      const text = store.scrapeText([]);
      const metrics = stored?.families.get('jobs_total')?.family.metrics;
      await store.close();
      const restored = await openLocalStore(options);
      const again = restored.get(key('j', '/instance/a'))?.families.get('jobs_total')?.family;
      expect(again).toBeInstanceOf(PlainFamily);
      expect(again?.metrics).toEqual(metrics);
      expect(restored.scrapeText([])).toBe(text);
      expect(restored.seriesCount).toBe(store.seriesCount);
      await restored.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
