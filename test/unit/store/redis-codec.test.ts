import { describe, expect, test } from '@jest/globals';
import { parseText } from '../../../src/exposition/index.js';
import { parseEntry, parseFamilyValue, parseScrapeMark, preparePush, type PushSettings } from '../../../src/store/redis/codec.js';
import { key, put } from '../../harness/builders.js';

// Log entries and scrape marks as Redis holds them, also as an older Lethe wrote them.

const group = JSON.stringify({ k: [['job', 'j']], attr: { source: 'none' } });
const fields = (extra: readonly string[]): string[] => ['n', '7', 'op', 'meta', 'g', group, 'p', '1000', 'x', '0', 'o', '', ...extra];

describe('Redis log entries', () => {
  test.each([
    ['with generation and scrape mark', ['v', '42', 's', '1500'], { generation: 42, scrapedAt: 1500 }],
    ['with generation, not scraped', ['v', '42', 's', ''], { generation: 42 }],
    ['written before generations (no v, no s): generation 0, not scraped', [], { generation: 0 }],
  ])('%s', (_name, extra, expected) => {
    const entry = parseEntry('1-0', fields(extra));
    if (entry.change.op !== 'meta') throw new Error('not a meta entry');
    expect({ generation: entry.change.meta.generation, scrapedAt: entry.change.meta.scrapedAt }).toEqual({ scrapedAt: undefined, ...expected });
  });

  test('a generation that is not a number is damage, named', () => {
    expect(() => parseEntry('1-0', fields(['v', 'x']))).toThrow(/Redis holds a generation that Lethe cannot read/);
  });
});

describe('a push this replica sent', () => {
  const settings: PushSettings = { prefix: 'p:', ownType: () => undefined, consistencyCheck: true, maxGroups: 10, logLength: 100 };
  const body = [
    '# HELP a_total A counter.\n# TYPE a_total counter\na_total{x="1"} 3\na_total{x="2"} NaN\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_sum 4.5\nh_count 3\n',
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 1\nu{v="é \\" \\n"} -0\n',
  ].join('');
  const prepared = preparePush(put(key('j', '/instance/i'), ...parseText(new TextEncoder().encode(body))), 1_700_000_000_123, settings);
  if (prepared.mode !== 'push') throw new Error('refused');
  const { sent } = prepared;
  const entry = (f: string): string[] => ['n', '1', 'op', 'push', 'g', sent.groupText, 'p', '1', 'x', '0', 'o', '', 'm', 'PUT', 'f', f];

  test('its families text is what the script logs (the family values of the arguments, one a line) and holds these families', () => {
    // Per family: name, type, value, own-typed, series hashes, number of probes, then 3 per probe.
    const values: string[] = [];
    for (let i = 12; i < prepared.args.length; i += 6 + 3 * Number(prepared.args[i + 5])) values.push(prepared.args[i + 2] ?? '');
    expect(values).toHaveLength(3 + 1);
    expect(sent.familiesText).toBe(values.join('\n'));
    const decoded = sent.familiesText.split('\n').map(parseFamilyValue);
    expect(decoded.map((d) => d.pushedAt)).toEqual(sent.families.map((f) => f.pushedAt));
    // Decoding keeps each series' protobuf bytes as well; everything else is the same.
    const plain = decoded.map(({ family }) => ({ ...family, metrics: family.metrics.map(({ protobufRest: _rest, ...m }) => m) }));
    expect(plain).toEqual(sent.families.map(({ family }) => family));
  });

  test('its log entry is applied from what was sent; other entries are decoded', () => {
    const taken: string[] = [];
    const find = (text: string): typeof sent | undefined => (taken.push(text), text === sent.familiesText ? sent : undefined);
    const own = parseEntry('1-0', entry(sent.familiesText), find);
    if (own.change.op !== 'push') throw new Error('not a push');
    expect(own.change.families).toBe(sent.families);
    expect(own.change.key).toBe(sent.head.key);
    expect(taken).toEqual([sent.familiesText]);
    const other = parseEntry('2-0', entry(sent.familiesText.split('\n')[0] ?? ''), find);
    if (other.change.op !== 'push') throw new Error('not a push');
    expect(other.change.families.map((f) => f.family.name)).toEqual(['a_total']);
    expect(other.change.key).not.toBe(sent.head.key);
  });
});

describe('Redis scrape marks', () => {
  test.each([
    ['the mark of the current push', '1000 1500', '1000', 1500],
    ['the mark of an older push', '900 950', '1000', undefined],
    ['no mark', null, '1000', undefined],
  ])('%s', (_name, mark, push, expected) => {
    expect(parseScrapeMark(mark, push)).toBe(expected);
  });

  test('a mark without its push time is damage, named', () => {
    expect(() => parseScrapeMark('1500', '1000')).toThrow(/Redis holds a scrape mark that Lethe cannot read/);
  });
});
