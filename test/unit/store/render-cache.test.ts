import { describe, expect, test } from '@jest/globals';
import { gunzipSync } from 'node:zlib';
import { gzipPieces } from '../../../src/gateway/routes/scrape-gzip.js';
import { UNUSED_FORMAT_MS, RenderCache } from '../../../src/store/render-cache.js';
import { compareMetrics, renderFamily } from '../../../src/exposition/index.js';
import { PlainFamily, type MetricFamily } from '../../../src/model/index.js';
import type { TextPiece } from '../../../src/store/index.js';
import { family, labels, sample } from '../../harness/builders.js';

/** A cache holding these families, group by group, never rendered before. */
function fresh(groups: Readonly<Record<string, readonly MetricFamily[]>>): RenderCache {
  const cache = new RenderCache();
  for (const [group, families] of Object.entries(groups)) for (const f of families) cache.set(group, f);
  return cache;
}

const own = [family('lethe_groups', 'gauge', [sample(2)], 'Groups stored.')];

/**
 * The text format of the model without the cache: each name's families in group order, their
 * metrics in one stable sort by compareMetrics (client_golang's order), help from the first group
 * that has one, with `own` as a name of its own.
 */
function reference(model: ReadonlyMap<string, ReadonlyMap<string, MetricFamily>>): string {
  const byName = new Map<string, MetricFamily>(own.map((fam) => [fam.name, fam]));
  for (const [name, byGroup] of model) {
    const families = [...byGroup.values()];
    const help = families.find((fam) => fam.help !== undefined)?.help;
    const metrics = families.flatMap((fam) => fam.metrics).sort(compareMetrics);
    byName.set(name, { name, type: (families[0] as MetricFamily).type, metrics, ...(help === undefined ? {} : { help }) });
  }
  return [...byName.keys()]
    .sort()
    .map((name) => renderFamily(byName.get(name) as MetricFamily))
    .join('');
}

describe('RenderCache: OpenMetrics and the text format side by side', () => {
  const groups = {
    a: [family('req_total', 'counter', [sample(3, { job: 'a' })], 'Requests.'), family('temp', 'gauge', [sample(1.5, { job: 'a' })])],
    b: [family('req_total', 'counter', [sample(4, { job: 'b' })], 'Requests.')],
  };

  test('OpenMetrics: counter families without _total, floats with .0, # EOF last', () => {
    expect(fresh(groups).renderText(own, { openMetrics: true })).toBe(
      '# HELP lethe_groups Groups stored.\n# TYPE lethe_groups gauge\nlethe_groups 2.0\n' +
        '# HELP req Requests.\n# TYPE req counter\nreq_total{job="a"} 3.0\nreq_total{job="b"} 4.0\n' +
        '# TYPE temp gauge\ntemp{job="a"} 1.5\n# EOF\n',
    );
  });

  test('a change re-renders what it touched, in both formats, and the rest comes from the cache', () => {
    const cache = fresh(groups);
    const [text, om] = [cache.renderText(own), cache.renderText(own, { openMetrics: true })];
    expect(cache.renderText(own)).toBe(text);
    expect(cache.renderText(own, { openMetrics: true })).toBe(om);
    const changed = family('req_total', 'counter', [sample(5, { job: 'b' })], 'Requests.');
    cache.set('b', changed);
    const expected = fresh({ ...groups, b: [changed] });
    expect(cache.renderText(own)).toBe(expected.renderText(own));
    expect(cache.renderText(own, { openMetrics: true })).toBe(expected.renderText(own, { openMetrics: true }));
    cache.delete('a', 'temp');
    expect(cache.renderText(own, { openMetrics: true })).not.toContain('temp');
    expect(cache.renderText(own)).not.toContain('temp');
  });

  test('a counter becomes unknown while another family has its OpenMetrics name, and a counter again after', () => {
    const cache = fresh({ a: [family('x_total', 'counter', [sample(1)])] });
    expect(cache.renderText([], { openMetrics: true })).toBe('# TYPE x counter\nx_total 1.0\n# EOF\n');
    cache.set('b', family('x', 'gauge', [sample(2)]));
    expect(cache.renderText([], { openMetrics: true })).toBe('# TYPE x gauge\nx 2.0\n# TYPE x_total unknown\nx_total 1.0\n# EOF\n');
    cache.delete('b', 'x');
    expect(cache.renderText([], { openMetrics: true })).toBe('# TYPE x counter\nx_total 1.0\n# EOF\n');
    expect(cache.renderText([family('x', 'gauge', [sample(3)])], { openMetrics: true })).toBe('# TYPE x gauge\nx 3.0\n# TYPE x_total unknown\nx_total 1.0\n# EOF\n');
  });

  test('a format no scrape asked for in a while is dropped, and rebuilt when asked again', () => {
    const cache = fresh(groups);
    const om = cache.renderText(own, { openMetrics: true, now: 0 });
    const text = cache.renderText(own, { now: 1 });
    expect(cache.cachedFormats).toEqual(['text', 'openmetrics']);
    cache.set('b', family('req_total', 'counter', [sample(4, { job: 'b' })], 'Requests.'));
    expect(cache.renderText(own, { now: UNUSED_FORMAT_MS })).toBe(text);
    expect(cache.cachedFormats).toEqual(['text']);
    expect(cache.renderText(own, { openMetrics: true, now: UNUSED_FORMAT_MS + 1 })).toBe(om);
    expect(cache.cachedFormats).toEqual(['text', 'openmetrics']);
  });

  test('a long pause between scrapes of one format drops the other format', () => {
    const cache = fresh(groups);
    cache.renderText(own, { now: 0 });
    cache.renderText(own, { openMetrics: true, now: 1 });
    cache.renderText(own, { openMetrics: true, now: 3 * UNUSED_FORMAT_MS });
    expect(cache.cachedFormats).toEqual(['openmetrics']);
  });
});

describe('RenderCache: UTF-8 names', () => {
  const utf8 = {
    // Labels sorted by name, as the store keeps them.
    a: [family('app.jobs_total', 'counter', [sample(7, { job: 'a', 'my.label': 'v' })]), family('plain', 'gauge', [sample(1, { job: 'a' })])],
    b: [family('app_jobs_total', 'counter', [sample(8, { job: 'b' })])],
  };

  test('allow-utf-8: names as pushed, quoted', () => {
    expect(fresh(utf8).renderText([], { escaping: 'allow-utf-8' })).toBe(
      '# TYPE "app.jobs_total" counter\n{"app.jobs_total",job="a","my.label"="v"} 7\n# TYPE app_jobs_total counter\napp_jobs_total{job="b"} 8\n# TYPE plain gauge\nplain{job="a"} 1\n',
    );
  });

  test('underscores (the default): names that escape alike are one family', () => {
    expect(fresh(utf8).renderText([])).toBe('# TYPE app_jobs_total counter\napp_jobs_total{job="b"} 8\napp_jobs_total{job="a",my_label="v"} 7\n# TYPE plain gauge\nplain{job="a"} 1\n');
  });

  test('dots and values, in the order of the escaped names', () => {
    expect(fresh(utf8).renderText([], { escaping: 'dots' })).toBe(
      '# TYPE app_dot_jobs__total counter\napp_dot_jobs__total{job="a",my_dot_label="v"} 7\n# TYPE app_jobs_total counter\napp_jobs_total{job="b"} 8\n# TYPE plain gauge\nplain{job="a"} 1\n',
    );
    expect(fresh(utf8).renderText([], { escaping: 'values', openMetrics: true })).toBe(
      // The escaped name still ends in _total, so the OpenMetrics family is that name without it.
      '# TYPE U__app_2e_jobs_ counter\nU__app_2e_jobs__total{job="a",U__my_2e_label="v"} 7.0\n# TYPE app_jobs counter\napp_jobs_total{job="b"} 8.0\n# TYPE plain gauge\nplain{job="a"} 1.0\n# EOF\n',
    );
  });

  test('OpenMetrics with UTF-8 names: a quoted counter family', () => {
    expect(fresh({ a: [family('app.jobs_total', 'counter', [sample(1)])] }).renderText([], { openMetrics: true, escaping: 'allow-utf-8' })).toBe(
      '# TYPE "app.jobs" counter\n{"app.jobs_total"} 1.0\n# EOF\n',
    );
  });

  test('protobuf: escaped unless the scrape allows UTF-8', () => {
    const cache = fresh({ a: [family('a.b', 'gauge', [sample(1, { 'c.d': 'v' })])] });
    const names = (parts: Uint8Array[]): string => Buffer.concat(parts).toString('latin1');
    expect(names(cache.renderProtobuf([]))).toContain('a_b');
    expect(names(cache.renderProtobuf([]))).toContain('c_d');
    expect(names(cache.renderProtobuf([], 'allow-utf-8'))).toContain('a.b');
  });
});

describe('RenderCache: the rendering as pieces of UTF-8', () => {
  const textOf = (pieces: readonly TextPiece[]): string => Buffer.concat(pieces.map((p) => p.bytes)).toString('utf8');
  /** The piece holding a family's header. */
  const pieceOf = (pieces: readonly TextPiece[], name: string): Uint8Array | undefined => pieces.find((p) => textOf([p]).includes(`# TYPE ${name} `))?.bytes;
  // Label values of several UTF-8 lengths: offsets in bytes differ from offsets in characters.
  const a = [family('req_total', 'counter', [sample(1, { job: 'a', x: 'é€' }), sample(2, { job: 'a', x: '😀' })], 'Requests.'), family('temp', 'gauge', [sample(1.5, { job: 'a', x: 'ü' })])];
  const b = [family('req_total', 'counter', [sample(3, { job: 'b', x: 'ß' })], 'Requests.')];
  const b2 = [family('req_total', 'counter', [sample(4, { job: 'b', x: 'ßß' })], 'Requests.')];
  const header = '# HELP lethe_groups Groups stored.\n# TYPE lethe_groups gauge\nlethe_groups 2\n# HELP req_total Requests.\n# TYPE req_total counter\n';

  test('text format: cold, cached (the same bytes, not encoded again), after a push to one name, after a group is gone', () => {
    const cache = fresh({ a, b });
    const cold = cache.renderPieces(own);
    expect(textOf(cold)).toBe(`${header}req_total{job="a",x="é€"} 1\nreq_total{job="a",x="😀"} 2\nreq_total{job="b",x="ß"} 3\n# TYPE temp gauge\ntemp{job="a",x="ü"} 1.5\n`);
    const cached = cache.renderPieces(own);
    expect(textOf(cached)).toBe(textOf(cold));
    expect(pieceOf(cached, 'req_total')).toBe(pieceOf(cold, 'req_total'));
    expect(pieceOf(cached, 'temp')).toBe(pieceOf(cold, 'temp'));

    // Group a's text of req_total now comes from the bytes of the merged text before.
    cache.set('b', b2[0] ?? family('x'));
    const changed = cache.renderPieces(own);
    expect(textOf(changed)).toBe(`${header}req_total{job="a",x="é€"} 1\nreq_total{job="a",x="😀"} 2\nreq_total{job="b",x="ßß"} 4\n# TYPE temp gauge\ntemp{job="a",x="ü"} 1.5\n`);
    expect(textOf(changed)).toBe(fresh({ a, b: b2 }).renderText(own));
    expect(pieceOf(changed, 'req_total')).not.toBe(pieceOf(cold, 'req_total'));
    expect(pieceOf(changed, 'temp')).toBe(pieceOf(cold, 'temp'));

    for (const f of a) cache.delete('a', f.name);
    expect(textOf(cache.renderPieces(own))).toBe(`${header}req_total{job="b",x="ßß"} 4\n`);
    expect(cache.renderText(own)).toBe(fresh({ b: b2 }).renderText(own));
  });

  test.each([
    ['OpenMetrics', { openMetrics: true }],
    ['UTF-8 names allowed', { escaping: 'allow-utf-8' as const }],
    ['OpenMetrics, dots', { openMetrics: true, escaping: 'dots' as const }],
  ])('%s: the same text as a cache that renders it from scratch, after each change', (_name, options) => {
    const dotted = [family('app.jobs_total', 'counter', [sample(5, { job: 'a', 'my.label': 'ö' })])];
    const cache = fresh({ a: [...a, ...dotted], b });
    expect(textOf(cache.renderPieces(own, options))).toBe(fresh({ a: [...a, ...dotted], b }).renderText(own, options));
    expect(textOf(cache.renderPieces(own, options))).toBe(fresh({ a: [...a, ...dotted], b }).renderText(own, options));
    cache.set('b', b2[0] ?? family('x'));
    expect(textOf(cache.renderPieces(own, options))).toBe(fresh({ a: [...a, ...dotted], b: b2 }).renderText(own, options));
    for (const f of a) cache.delete('a', f.name);
    expect(textOf(cache.renderPieces(own, options))).toBe(fresh({ a: dotted, b: b2 }).renderText(own, options));
  });

  test('nothing stored and no own families: no pieces', () => {
    expect(new RenderCache().renderPieces([])).toEqual([]);
  });
});

describe('RenderCache: changed step by step, the same text as a cache that renders from scratch', () => {
  /** A seeded generator: the same steps on every run. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  // With 40 groups most scrapes after a change insert the changed series among the kept ones
  // (changedOrder) instead of sorting the name again.
  test.each([
    [1, undefined, 6],
    [2, undefined, 6],
    [3, undefined, 6],
    [4, 16, 6],
    [5, 16, 6],
    [6, 64, 6],
    [7, undefined, 40],
    [8, 16, 40],
  ])('seed %i, segments of %s bytes, %i groups: values, series, groups and help change between scrapes of both formats, plain and compressed', async (seed, segmentBytes, groupCount) => {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const groups = Array.from({ length: groupCount }, (_, i) => `g${i}`);
    // Label values of several UTF-8 lengths (U+FF5A sorts before U+1F600 in UTF-8, after it in
    // UTF-16); series shared by groups sort as ties.
    const values = ['a', 'b', 'é', '😀', 'ｚ', 'zz'];
    const names = ['m_total', 'g', 's', 'm'];
    const model = new Map<string, Map<string, MetricFamily>>();
    const value = (): number => pick([0, 1, -2.5, 1e6, 123456.789, Math.floor(next() * 1e4) / 100, 1 / 3]);
    const seriesOf = (group: string): Record<string, string>[] => {
      const n = 1 + Math.floor(next() * 3);
      return Array.from({ length: n }, (_, i) => (next() < 0.3 ? { k: pick(values) } : { grp: group, k: `${pick(values)}${i}` }));
    };
    const build = (name: string, series: readonly Record<string, string>[], help: string | undefined): MetricFamily => {
      if (name === 's') {
        return family(name, 'summary', series.map((l) => ({ labels: labels(l), summary: { sampleCount: Math.floor(next() * 9), sampleSum: value(), quantiles: [{ quantile: 0.5, value: value() }] } })), help);
      }
      const type = name === 'm_total' ? 'counter' : 'gauge';
      const built = family(name, type, series.map((l) => sample(value(), l)), help);
      return next() < 0.5 ? (PlainFamily.of(built) ?? built) : built;
    };
    const shapes = new Map<string, Record<string, string>[]>();
    const cache = new RenderCache(segmentBytes === undefined ? {} : { segmentBytes });
    const apply = (group: string, fam: MetricFamily): void => {
      let byGroup = model.get(fam.name);
      if (byGroup === undefined) model.set(fam.name, (byGroup = new Map<string, MetricFamily>()));
      byGroup.set(group, fam);
      cache.set(group, fam);
    };
    for (let step = 0; step < 150; step++) {
      const group = pick(groups);
      const name = pick(names);
      const key = `${group}/${name}`;
      const roll = next();
      if (roll < 0.5 && shapes.has(key)) {
        // The same series again with new values (what most pushes are).
        apply(group, build(name, shapes.get(key) ?? [], next() < 0.1 ? `help ${step}` : 'Help.'));
      } else if (roll < 0.8) {
        const series = seriesOf(group);
        shapes.set(key, series);
        apply(group, build(name, series, 'Help.'));
      } else {
        model.get(name)?.delete(group);
        if (model.get(name)?.size === 0) model.delete(name);
        shapes.delete(key);
        cache.delete(group, name);
      }
      if (next() < 0.4) {
        const scratch = new RenderCache();
        for (const byGroup of model.values()) for (const [g, fam] of byGroup) scratch.set(g, fam);
        for (const options of [{}, { openMetrics: true }]) {
          const want = scratch.renderText(own, options);
          expect(cache.renderText(own, options)).toBe(want);
          if (options.openMetrics === undefined) expect(want).toBe(reference(model));
          // A gzip scrape: the segments compressed by earlier scrapes are kept while unchanged.
          const gzip = await gzipPieces(cache.renderPieces(own, { ...options, compressed: true }));
          expect(gunzipSync(Buffer.concat(gzip)).toString()).toBe(want);
        }
      }
    }
  });
});
