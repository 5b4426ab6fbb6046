/**
 * Structure-aware generators for the text exposition format: families with HELP and TYPE lines,
 * samples of every type (with the `_count`/`_sum`/`_bucket` series and `le`/`quantile` labels),
 * label values with escapes and any Unicode, numbers in every spelling Go accepts or refuses
 * (NaN, infinities, huge and tiny values, hex, underscores), int64-edge timestamps, and layout
 * variations (tabs, `{}`, trailing commas, comments, blank lines). The result is valid text most
 * of the time; mutations and pathological repetitions make it hostile.
 */

import fc from 'fast-check';
import { formatGoFloat } from '../../src/exposition/index.js';
import { anyBytes, latin1, mutated, repeated, utf8 } from './byte-mutations.js';

const metricName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('x', 'x_count', 'x_sum', 'x_bucket', 'y', 'a:b', 'up', 'm_total', 'push_time_seconds', 'push_failure_time_seconds', 'lethe_groups', 'process_cpu_seconds_total') },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,16}$/) },
);

const labelName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'le', 'quantile', 'job', 'instance', 'l0', '_') },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom('__name__', '__x', 'a-b', '0a', '') },
);

const floatToken = fc.oneof(
  { weight: 4, arbitrary: fc.double().map(formatGoFloat) },
  { weight: 2, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'NaN', 'nan', 'Nan', 'Inf', '+Inf', '-Inf', 'inf', '-infinity', '+INFINITY', '1e400', '-1e400', '1e-400', '4.9e-324',
      '1.7976931348623157e308', '.5', '5.', '+5', '-0', '0', '0x10', '1_000', '+nan', '1p3', '1e', 'e1', '.', '', '-', '1e+06',
      '18446744073709551616', '9007199254740993', '1..2', '١',
    ),
  },
);

const timestampToken = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  fc.constantFrom(
    '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809', '9223372036854775295',
    '9007199254740993', '0', '-0', '+1', '1.5', '1e3', '-', '',
  ),
);

const labelValue = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('\\', '"', '\n', 'a', ' ', '\t', '{', '}', ',', '='), maxLength: 12 }) },
  { weight: 1, arbitrary: floatToken },
  { weight: 1, arbitrary: fc.constantFrom('', '😀', '\u2028', '\ufeff', '\u0000', 'Π✓', '\ud7ff\ue000') },
);

const help = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.string({ unit: fc.constantFrom('\\', 'n', '"', ' ', 'h', '\t'), maxLength: 16 }),
);

const typeName = fc.constantFrom(
  'counter', 'gauge', 'summary', 'histogram', 'untyped', 'gaugehistogram', 'gauge_histogram', 'COUNTER', 'Summary', 'HiStOgRaM',
  'ſummary', 'ınfo', 'bogus', 'info', 'stateset', '',
);

/** Separators between tokens: usually one space. */
const blank = fc.oneof({ weight: 6, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: fc.constantFrom('\t', '  ', ' \t ') });

/** Escapes a label value as the format wants (usually) or leaves it raw (sometimes). */
function quoted(value: string, escape: boolean): string {
  return escape ? value.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

const sampleLine = fc
  .record({
    name: metricName,
    suffix: fc.constantFrom('', '', '', '_count', '_sum', '_bucket'),
    labels: fc.array(fc.tuple(labelName, labelValue, fc.boolean()), { maxLength: 5 }),
    special: fc.option(fc.tuple(fc.constantFrom('le', 'quantile'), floatToken), { freq: 2 }),
    braces: fc.constantFrom('plain', 'plain', 'empty', 'trailing-comma', 'space-before', 'name-inside'),
    value: floatToken,
    timestamp: fc.option(timestampToken, { freq: 6 }),
    sep: blank,
    escape: fc.boolean(),
  })
  .map((s) => {
    const pairs = s.labels.map(([n, v, esc]) => `${n}="${quoted(v, esc || s.escape)}"`);
    if (s.special !== null) pairs.push(`${s.special[0]}="${s.special[1]}"`);
    const name = s.name + s.suffix;
    let series: string;
    if (s.braces === 'name-inside') series = `{${[name, ...pairs].join(',')}}`;
    else if (pairs.length === 0) series = s.braces === 'empty' ? `${name}{}` : name;
    else {
      const inner = pairs.join(',') + (s.braces === 'trailing-comma' ? ',' : '');
      series = `${name}${s.braces === 'space-before' ? s.sep : ''}{${inner}}`;
    }
    return `${series}${s.sep}${s.value}${s.timestamp === null ? '' : `${s.sep}${s.timestamp}`}\n`;
  });

const commentLine = fc.oneof(
  fc.tuple(metricName, help, blank).map(([n, h, sep]) => `# HELP${sep}${n}${sep}${quoted(h, true)}\n`),
  fc.tuple(metricName, typeName, blank).map(([n, t, sep]) => `# TYPE${sep}${n}${sep}${t}\n`),
  fc.constantFrom('# EOF\n', '# UNIT x seconds\n', '#\n', '# HELP\n', '# TYPE x\n', '\n', '   \n', '\t\n', '# random comment\n'),
);

/**
 * A family as a client writes it: optional HELP and TYPE, then samples whose series names and
 * special labels fit the type.
 */
const familyBlock = fc
  .record({
    name: metricName,
    help: fc.option(help, { freq: 2 }),
    type: fc.option(typeName, { freq: 4 }),
    samples: fc.array(
      fc.record({
        suffix: fc.constantFrom('', '_count', '_sum', '_bucket'),
        labels: fc.array(fc.tuple(labelName, labelValue), { maxLength: 3 }),
        special: floatToken,
        value: floatToken,
        timestamp: fc.option(timestampToken, { freq: 10 }),
      }),
      { maxLength: 6 },
    ),
  })
  .map((f) => {
    let out = '';
    if (f.help !== null) out += `# HELP ${f.name} ${quoted(f.help, true)}\n`;
    if (f.type !== null) out += `# TYPE ${f.name} ${f.type}\n`;
    const t = (f.type ?? '').toLowerCase();
    for (const s of f.samples) {
      const pairs = s.labels.map(([n, v]) => `${n}="${quoted(v, true)}"`);
      const suffix = t === 'summary' || t.includes('histogram') ? s.suffix : '';
      if (suffix === '' && t === 'summary') pairs.push(`quantile="${s.special}"`);
      if (suffix === '_bucket') pairs.push(`le="${s.special}"`);
      const series = pairs.length === 0 ? f.name + suffix : `${f.name}${suffix}{${pairs.join(',')}}`;
      out += `${series} ${s.value}${s.timestamp === null ? '' : ` ${s.timestamp}`}\n`;
    }
    return out;
  });

/** A text body: family blocks, loose sample lines and comments, usually valid. */
export const textBody: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.oneof({ weight: 4, arbitrary: familyBlock }, { weight: 3, arbitrary: sampleLine }, { weight: 1, arbitrary: commentLine }),
    { maxLength: 12 },
  )
  .map((parts) => utf8(parts.join('')));

/** Tokens that mutations splice into text bodies. */
export const TEXT_TOKENS: readonly Uint8Array[] = [
  ...['{', '}', '"', '\\', '=', ',', '\n', ' ', '\t', '#', '# TYPE ', '# HELP ', 'NaN', '+Inf', '1e400', '_bucket', '_count', '_sum',
    'le="', 'quantile="', '\r\n', '\u0000', '\ufeff', '__name__', '{}', '""', '\\n', '\\"', ' 1\n', ' 1 2\n', '😀'].map(utf8),
  ...['\xff', '\xc3', '\xed\xa0\x80', '\xf4\x90\x80\x80', '\xc0\x80', '\x80'].map(latin1),
];

/** Pieces and frames for large, repetitive text bodies. */
const TEXT_PIECES = [
  'a="b",', 'l0="v",l1="w",', '\\\\', '\\"', '\\n', 'x 1\n', '{', '}', '"', '\n', ' ', '\t', '#', '# TYPE x counter\n',
  'x{quantile="0.5"} 1\n', 'x_bucket{le="1"} 1\n', '😀', 'a', '0', 'ab',
];

/** Large bodies with a token repeated many times (long labels, many lines, deep escapes). */
export const largeTextBody = (maxBytes?: number, minCount?: number): fc.Arbitrary<Uint8Array> => repeated(
  fc.oneof(
    fc.constantFrom(...TEXT_PIECES).map(utf8),
    fc.constantFrom('\xff', '\xc3', '\x80\x80').map(latin1),
    fc.nat({ max: 1 << 20 }).map((i) => utf8(`l${i}="v",`)),
    fc.nat({ max: 1 << 20 }).map((i) => utf8(`m${i} 1\n`)),
    fc.nat({ max: 1 << 20 }).map((i) => utf8(`x{a="${i}"} 1\n`)),
  ),
  fc.constantFrom('', 'x{', 'x{a="', '# HELP x ', '# TYPE x summary\n', '# TYPE x histogram\n', '{"', 'x ', '} 1\n', '"} 1\n', '\n', ' 1\n').map(utf8),
  maxBytes,
  minCount,
);

/** Every kind of text input: valid, mutated, large, arbitrary bytes. */
export const hostileTextBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: mutated(textBody, TEXT_TOKENS) },
  { weight: 2, arbitrary: textBody },
  { weight: 1, arbitrary: mutated(largeTextBody(), TEXT_TOKENS) },
  { weight: 2, arbitrary: anyBytes() },
);
