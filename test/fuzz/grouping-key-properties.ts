/**
 * Properties of grouping keys, parsed from arbitrary URL segments:
 * - parseGroupingKey returns a canonical key (labels sorted, valid names, a job, no empty
 *   instance, the id derived from the labels) or throws BadRequestError, nothing else;
 * - the id does not depend on the order of the labels in the path, nor on how each value is
 *   written (plain or `@base64`, padded or not);
 * - the id identifies the key: two keys have the same id only when they have the same labels
 *   (otherwise a push to one group would overwrite another).
 */

import fc from 'fast-check';
import { BadRequestError, ErrorCode } from '../../src/errors.js';
import { groupingKeyOf, labelsObject, parseGroupingKey, type GroupingKey } from '../../src/model/index.js';
import { assertProperty } from './assert-property.js';
import type { FuzzProperty } from './budget.js';
import { check, outcomeOf } from './outcome.js';

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const segmentUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'Z', '_', '0', '-', '=', '+', '/', '@', '.', '%', ' ', '\xff', '\\', 'ÿ') },
  { weight: 2, arbitrary: fc.constantFrom('@base64', 'job', 'instance', '__', 'le', 'aGk', 'AA==', '_w', '=') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
);
const segment = fc.string({ unit: segmentUnit, maxLength: 12 });
const rest = fc.oneof(
  fc.constantFrom('', '/'),
  fc.array(segment, { maxLength: 8 }).map((parts) => `/${parts.join('/')}`),
  segment.map((s) => `/${s}`),
);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The invariants of a canonical key. */
function checkCanonical(key: GroupingKey): void {
  const { labels } = key;
  for (let i = 1; i < labels.length; i++) {
    check((labels[i - 1]?.name ?? '') < (labels[i]?.name ?? ''), () => `labels not sorted and unique: ${JSON.stringify(labels)}`);
  }
  for (const l of labels) {
    check(LABEL_NAME.test(l.name) && (!l.name.startsWith('__')), () => `invalid label name ${JSON.stringify(l.name)}`);
    check(!(l.name === 'instance' && l.value === ''), () => 'an empty instance label is kept');
  }
  check(labels.some((l) => l.name === 'job' && l.value !== ''), () => `no job: ${JSON.stringify(labels)}`);
  check(groupingKeyOf(labelsObject(key)).id === key.id, () => 'the id is not the one of its labels');
}

const urlSafeBase64 = (s: string, pad: boolean): string => {
  const b = Buffer.from(s, 'utf8').toString('base64url');
  return pad ? b.padEnd(Math.ceil(b.length / 4) * 4, '=') : b;
};

/** A label set, each label with how its value is written in the path. */
const labelSet = fc.uniqueArray(
  fc.record({
    name: fc.oneof(fc.constantFrom('a', 'b', 'instance', 'zone', '_x', 'le'), fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,8}$/)),
    value: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('', '\xff', 'x\xffb', '\\', '/', 'a/b', '=', '%')),
    encoding: fc.constantFrom('plain', 'base64', 'base64-padded'),
  }),
  { selector: (l) => l.name, maxLength: 6 },
).map((ls) => ls.filter((l) => l.name !== 'job'));

type PathLabel = { readonly name: string; readonly value: string; readonly encoding: string };

function pathOf(labels: readonly PathLabel[]): string {
  return labels
    .map((l) => {
      // A plain value must not hold a '/', and an empty one only works as the last segment.
      const plain = l.encoding === 'plain' && !l.value.includes('/') && l.value !== '';
      return plain ? `/${l.name}/${l.value}` : `/${l.name}@base64/${urlSafeBase64(l.value, l.encoding === 'base64-padded') || '='}`;
    })
    .join('');
}

/**
 * Two label sets that often run into each other: random ones from few names and characters, and
 * "smuggled" ones, where two neighbouring labels (by name) are merged into one value joined by a
 * candidate separator (`a="x"`, `b="y"` → `a="x<sep>b<sep>y"`), which an id that joins names and
 * values with that separator cannot tell apart.
 */
const tightValue = fc.string({ unit: fc.constantFrom('a', 'b', 'x', '\xff', '\\', '=', ','), maxLength: 5 });
const tightJob = tightValue.filter((v) => v !== '');
const tightLabels = fc.uniqueArray(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'instance'), value: tightValue }), {
  selector: (l) => l.name,
  maxLength: 4,
});
const SEPARATOR_CANDIDATES = ['\xff', '\xfe', '\u0000', '\udbff', '=', ',', '/', '"', '\\', '\n', ' '];

function smuggle(labels: readonly { name: string; value: string }[], at: number, sep: string): { name: string; value: string }[] {
  const sorted = [...labels].sort((x, y) => (x.name < y.name ? -1 : 1));
  if (sorted.length < 2) return sorted;
  const i = at % (sorted.length - 1);
  const [first, second] = [sorted[i], sorted[i + 1]];
  if (first === undefined || second === undefined) return sorted;
  return [...sorted.slice(0, i), { name: first.name, value: `${first.value}${sep}${second.name}${sep}${second.value}` }, ...sorted.slice(i + 2)];
}

const labelSetPair = fc.oneof(
  fc.tuple(tightJob, tightLabels, tightJob, tightLabels),
  fc
    .record({ job: tightJob, labels: tightLabels, at: fc.nat(), sep: fc.constantFrom(...SEPARATOR_CANDIDATES) })
    .map(({ job: j, labels, at, sep }) => [j, labels, j, smuggle(labels, at, sep)] as const),
);

const job = fc.oneof(fc.constantFrom('j', 'backup', 'ÿ'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }));

const asJson = (t: unknown): string => JSON.stringify(t);

export const groupingKeyProperties: readonly FuzzProperty[] = [
  {
    name: 'parseGroupingKey: any segments give a canonical key or BadRequestError',
    weight: 8,
    run: (fuzz) =>
      assertProperty(fuzz, fc.tuple(segment, fc.boolean(), rest), asJson, ([jobSegment, base64, tail]) => {
        const out = outcomeOf('parseGroupingKey', () => parseGroupingKey(jobSegment, base64, tail), [BadRequestError]);
        if (out.ok) checkCanonical(out.value);
        else check(out.error.code === ErrorCode.badGroupingKey, () => `unexpected code ${out.error.code}`);
      }),
  },
  {
    name: 'parseGroupingKey: the id does not depend on label order or value encoding',
    weight: 4,
    run: (fuzz) =>
      assertProperty(
        fuzz,
        fc.record({ job, labels: labelSet, order: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }), base64Job: fc.boolean() }),
        asJson,
        ({ job: j, labels, order, base64Job }) => {
          const reordered = labels
            .map((l, i) => ({ l: { ...l, encoding: l.encoding === 'plain' ? 'base64' : 'plain' }, k: order[i] ?? 0 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.l);
          const a = parseGroupingKey(j.includes('/') ? urlSafeBase64(j, false) : j, j.includes('/'), pathOf(labels));
          const b = parseGroupingKey(base64Job ? urlSafeBase64(j, true) : j, base64Job, pathOf(reordered));
          checkCanonical(a);
          check(a.id === b.id, () => `ids differ: ${JSON.stringify(a.id)} vs ${JSON.stringify(b.id)}`);
          const want: [string, string][] = [...labels.map((l): [string, string] => [l.name, l.value]), ['job', j]];
          const wanted = JSON.stringify(want.filter(([n, v]) => !(n === 'instance' && v === '')).sort(([x], [y]) => (x < y ? -1 : 1)));
          const got = JSON.stringify(a.labels.map((l) => [l.name, l.value]));
          check(got === wanted, () => `labels ${got}, want ${wanted}`);
        },
      ),
  },
  {
    name: 'parseGroupingKey: equal ids mean equal label sets',
    weight: 4,
    run: (fuzz) =>
      assertProperty(fuzz, labelSetPair, asJson, ([j1, l1, j2, l2]) => {
        const a = parseGroupingKey(urlSafeBase64(j1, false), true, pathOf(l1.map((l) => ({ ...l, encoding: 'base64' }))));
        const b = parseGroupingKey(urlSafeBase64(j2, false), true, pathOf(l2.map((l) => ({ ...l, encoding: 'base64' }))));
        checkCanonical(a);
        checkCanonical(b);
        const same = JSON.stringify(a.labels) === JSON.stringify(b.labels);
        check(same === (a.id === b.id), () => `${JSON.stringify(a.labels)} and ${JSON.stringify(b.labels)} ${same ? 'have different ids' : `share the id ${JSON.stringify(a.id)}`}`);
      }),
  },
];

