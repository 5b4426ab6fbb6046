import { describe, expect, test } from '@jest/globals';
import { parseEntry, parseScrapeMark } from '../../../src/store/redis/codec.js';

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
