import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GroupingKey, Label, MetricFamily } from '../../../src/model/index.js';
import type { LocalGroupStore, LocalStoreOptions } from '../../../src/store/index.js';
import { SharedText } from '../../../src/store/shared-text.js';
import { FakeClock, family, key, put, sample } from '../../harness/builders.js';
import { openLocalStore } from '../../harness/stores.js';

// What many groups repeat is kept once (src/store/shared-text.ts): a body label pair is one
// Label object across the store, after pushes and after a restart, and the bounded pool that
// does it forgets without changing what is stored.

const clock = new FakeClock();
const open = (extra: Partial<LocalStoreOptions> = {}): Promise<LocalGroupStore> => openLocalStore({ clock, ownType: () => undefined, ...extra });

/** A fresh body each time, as two pushes parsed from two requests are. */
const job = (): MetricFamily =>
  family('jobs_total', 'counter', [sample(1, { code: '200', path: '/a' }), sample(2, { code: '500', path: '/a' })], 'Jobs done.');

function labelOf(store: LocalGroupStore, k: GroupingKey, series: number, name: string): Label | undefined {
  return store.get(k)?.families.get('jobs_total')?.family.metrics[series]?.labels.find((l) => l.name === name);
}

describe('labels shared across groups', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-shared-text-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('two groups pushing the same body pair store one Label object; grouping labels stay their own', async () => {
    const store = await open();
    await store.push(put(key('j', '/instance/a'), job()));
    await store.push(put(key('j', '/instance/b'), job()));
    const a = key('j', '/instance/a');
    const b = key('j', '/instance/b');
    expect(labelOf(store, a, 0, 'code')).toBe(labelOf(store, b, 0, 'code'));
    expect(labelOf(store, a, 1, 'path')).toBe(labelOf(store, b, 0, 'path'));
    expect(labelOf(store, a, 0, 'code')).not.toBe(labelOf(store, a, 1, 'code'));
    expect(labelOf(store, a, 0, 'instance')?.value).toBe('a');
    expect(labelOf(store, b, 0, 'instance')?.value).toBe('b');
    await store.close();
  });

  test('after a restart too, and the text is what was pushed', async () => {
    const file = join(dir, 'lethe.data');
    const store = await open({ persistenceFile: file });
    for (const instance of ['a', 'b', 'c']) await store.push(put(key('j', `/instance/${instance}`), job()));
    const before = store.scrapeText([]);
    await store.close();
    const restored = await open({ persistenceFile: file });
    expect(restored.scrapeText([])).toBe(before);
    expect(labelOf(restored, key('j', '/instance/a'), 1, 'code')).toBe(labelOf(restored, key('j', '/instance/c'), 1, 'code'));
    expect(labelOf(restored, key('j', '/instance/a'), 1, 'code')?.value).toBe('500');
    await restored.close();
  });
});

describe('SharedText', () => {
  test('returns the kept object for a pair and the kept string for a text', () => {
    const shared = new SharedText();
    const first = { name: 'code', value: '200' };
    expect(shared.label('code', '200', first)).toBe(first);
    expect(shared.label('code', '200', { name: 'code', value: '200' })).toBe(first);
    expect(shared.label('code', '500')).toEqual({ name: 'code', value: '500' });
    expect(shared.text('help')).toBe('help');
  });

  test('starts again empty once it holds its limit, and still answers equal values', () => {
    const shared = new SharedText(3);
    const kept = shared.label('a', '1');
    shared.label('a', '2');
    shared.text('x');
    expect(shared.label('a', '1')).toBe(kept);
    // The fourth entry makes it forget: the pair is kept anew, as a different but equal object.
    shared.label('a', '3');
    const again = shared.label('a', '1');
    expect(again).not.toBe(kept);
    expect(again).toEqual(kept);
    expect(shared.label('a', '1')).toBe(again);
  });
});
