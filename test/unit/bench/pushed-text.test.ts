/** The gzip row's comparison (bench/steps.ts): the pushed families of two scrapes, without the gateway's own. */
import { expect, test } from '@jest/globals';
import { pushedText } from '../../../bench/steps.js';

const scrape = (requests: number): string =>
  [
    '# HELP bench_m0_total Things.',
    '# TYPE bench_m0_total counter',
    'bench_m0_total{code="200",instance="g1",job="bench_small"} 1000',
    '# HELP lethe_http_requests_total Requests.',
    '# TYPE lethe_http_requests_total counter',
    `lethe_http_requests_total{handler="scrape"} ${requests}`,
    'process_resident_memory_bytes 1.2e+08',
    '# HELP push_time_seconds Last push.',
    '# TYPE push_time_seconds gauge',
    'push_time_seconds{instance="g1",job="bench_small"} 1.7e+09',
    '',
  ].join('\n');

test('the gateway’s own families are left out; the pushed ones are kept line for line', () => {
  expect(pushedText(scrape(1))).toBe(pushedText(scrape(2)));
  expect(pushedText(scrape(1)).split('\n')).toEqual([
    '# HELP bench_m0_total Things.',
    '# TYPE bench_m0_total counter',
    'bench_m0_total{code="200",instance="g1",job="bench_small"} 1000',
    '# HELP push_time_seconds Last push.',
    '# TYPE push_time_seconds gauge',
    'push_time_seconds{instance="g1",job="bench_small"} 1.7e+09',
    '',
  ]);
});

test('a changed pushed sample shows', () => {
  expect(pushedText(scrape(1).replace('} 1000', '} 1001'))).not.toBe(pushedText(scrape(1)));
});
