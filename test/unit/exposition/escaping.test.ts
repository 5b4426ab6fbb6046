import { describe, expect, test } from '@jest/globals';
import { escapeFamily, escapeName, escapeNameAs, type EscapingScheme } from '../../../src/exposition/index.js';
import { unescapeLabelName } from '../../../src/model/index.js';
import type { MetricFamily } from '../../../src/model/index.js';

// Expected values as prometheus/common's model.EscapeName computes them (its escaping tests and
// the rules in its source: legacy runes kept, others replaced per scheme).
describe('escapeNameAs', () => {
  test.each<[string, string, EscapingScheme, string]>([
    ['a legacy name stays under underscores', 'http_requests_total', 'underscores', 'http_requests_total'],
    ['underscores replace each other character', 'my.metric-name', 'underscores', 'my_metric_name'],
    ['underscores: a leading digit is replaced', '0abc', 'underscores', '_abc'],
    ['underscores: colons are legacy', 'a:b.c', 'underscores', 'a:b_c'],
    ['underscores: one _ per code point', 'é✓', 'underscores', '__'],
    ['allow-utf-8 keeps the name', 'my.metric', 'allow-utf-8', 'my.metric'],
    ['dots: _ doubled, . as _dot_', 'my.metric_name', 'dots', 'my_dot_metric__name'],
    ['dots: other characters as __', 'a-b', 'dots', 'a__b'],
    ['dots escapes legacy names too (only EscapeMetricFamily spares them)', 'a_b', 'dots', 'a__b'],
    ['values: legacy names stay', 'a_b', 'values', 'a_b'],
    ['values: U__, _ doubled, code points in hex', 'my.metric_x', 'values', 'U__my_2e_metric__x'],
    ['values: characters beyond the BMP', 'a😀', 'values', 'U__a_1f600_'],
    ['values: a leading digit', '1a.b', 'values', 'U___31_a_2e_b'],
    ['values: an invalid byte (kept as a lone surrogate) is U+FFFD', 'a\udcff.', 'values', 'U__a_fffd__2e_'],
    ['the empty name stays empty', '', 'values', ''],
  ])('%s', (_name, name, scheme, expected) => {
    expect(escapeNameAs(name, scheme)).toBe(expected);
  });
});

describe('escapeName (the scrape rule)', () => {
  test.each<[string, string, EscapingScheme, string]>([
    ['legacy names are never escaped, even with dots', 'a_b', 'dots', 'a_b'],
    ['a UTF-8 name under dots', 'a.b_c', 'dots', 'a_dot_b__c'],
    ['a UTF-8 name under allow-utf-8', 'a.b', 'allow-utf-8', 'a.b'],
  ])('%s', (_name, name, scheme, expected) => {
    expect(escapeName(name, scheme)).toBe(expected);
  });
});

describe('escapeFamily', () => {
  const family: MetricFamily = {
    name: 'app.jobs',
    type: 'counter',
    metrics: [
      { labels: [{ name: 'code.class', value: 'v.1' }, { name: 'job', value: 'j' }], value: 1 },
      { labels: [{ name: 'job', value: 'k' }], value: 2 },
    ],
  };

  test('names are escaped, values are not', () => {
    const escaped = escapeFamily(family, 'underscores');
    expect(escaped.name).toBe('app_jobs');
    expect(escaped.metrics[0]?.labels).toEqual([{ name: 'code_class', value: 'v.1' }, { name: 'job', value: 'j' }]);
    expect(escaped.metrics[1]).toBe(family.metrics[1]);
  });

  test('allow-utf-8 and all-legacy families come back as the same object', () => {
    expect(escapeFamily(family, 'allow-utf-8')).toBe(family);
    const legacy: MetricFamily = { name: 'x', type: 'gauge', metrics: [{ labels: [{ name: 'a', value: '.' }], value: 1 }] };
    expect(escapeFamily(legacy, 'values')).toBe(legacy);
  });
});

describe('unescapeLabelName (U__ in a push URL)', () => {
  test.each<[string, string, string]>([
    ['a name without the prefix stays', 'foo_bar', 'foo_bar'],
    ['dots', 'U__foo_2e_bar', 'foo.bar'],
    ['__ is one underscore', 'U__a__b', 'a_b'],
    ['upper-case hex', 'U__a_2E_b', 'a.b'],
    ['beyond the BMP', 'U___1f600_', '😀'],
    ['five hex digits are the most', 'U___10fff_', '\u{10fff}'],
    ['six hex digits are refused (kept as is)', 'U___10ffff_', 'U___10ffff_'],
    ['no closing underscore: kept as is', 'U__a_2e', 'U__a_2e'],
    ['a trailing single underscore: kept as is', 'U__a_', 'U__a_'],
    ['not hex: kept as is', 'U__a_zz_', 'U__a_zz_'],
    ['a surrogate code point: kept as is', 'U___d800_', 'U___d800_'],
    ['only the prefix: the empty name', 'U__', ''],
  ])('%s', (_name, name, expected) => {
    expect(unescapeLabelName(name)).toBe(expected);
  });

  test('escaping with values and unescaping give the name back', () => {
    for (const name of ['a.b', 'é_x', 'with space', '😀', 'a__b.c']) expect(unescapeLabelName(escapeNameAs(name, 'values'))).toBe(name);
  });
});
