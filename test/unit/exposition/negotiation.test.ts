import { describe, expect, test } from '@jest/globals';
import { negotiate, type ScrapeFormat } from '../../../src/exposition/index.js';
import type { EscapingScheme } from '../../../src/exposition/index.js';

/** What Prometheus 3.16 sends with its default scrape protocols (native histograms off). */
const PROMETHEUS_3_DEFAULT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3';
/** With scrape_native_histograms: true (protobuf first; no escaping= on that media type). */
const PROMETHEUS_3_NATIVE =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
/** Debian's Prometheus 2.42. */
const PROMETHEUS_2 = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROTOBUF = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

describe('negotiate', () => {
  test.each<[string, string | undefined, ScrapeFormat, EscapingScheme, string]>([
    ['no Accept header: text 0.0.4, underscores', undefined, 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ["Prometheus 3's default: OpenMetrics 1.0.0 with UTF-8 names", PROMETHEUS_3_DEFAULT, 'openmetrics-1.0.0', 'allow-utf-8', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8'],
    ['Prometheus 3 scraping native histograms: protobuf, underscores', PROMETHEUS_3_NATIVE, 'protobuf', 'underscores', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores'],
    ['Prometheus 2: OpenMetrics 1.0.0, underscores', PROMETHEUS_2, 'openmetrics-1.0.0', 'underscores', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['scrape_protocols [OpenMetricsText1.0.0]', 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,*/*;q=0.6', 'openmetrics-1.0.0', 'allow-utf-8', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8'],
    ['scrape_protocols [OpenMetricsText0.0.1]', 'application/openmetrics-text;version=0.0.1;q=0.7,*/*;q=0.6', 'openmetrics-0.0.1', 'underscores', 'application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores'],
    ['scrape_protocols [PrometheusText1.0.0]', 'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.7,*/*;q=0.6', 'text-1.0.0', 'allow-utf-8', 'text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8'],
    ['scrape_protocols [PrometheusText0.0.4]', 'text/plain;version=0.0.4;q=0.7,*/*;q=0.6', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['scrape_protocols [PrometheusProto]', `${PROTOBUF};q=0.7,*/*;q=0.6`, 'protobuf', 'underscores', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores'],
    ['protobuf may ask for UTF-8 names', `${PROTOBUF};escaping=allow-utf-8`, 'protobuf', 'allow-utf-8', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8'],
    ['escaping=dots', 'text/plain;version=0.0.4;escaping=dots', 'text-0.0.4', 'dots', 'text/plain; version=0.0.4; charset=utf-8; escaping=dots'],
    ['escaping=values', 'application/openmetrics-text;version=1.0.0;escaping=values', 'openmetrics-1.0.0', 'values', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values'],
    ['an unknown escaping is ignored', 'text/plain;version=1.0.0;escaping=bogus', 'text-1.0.0', 'underscores', 'text/plain; version=1.0.0; charset=utf-8; escaping=underscores'],
    ["the winner's escaping, not an earlier clause's", 'application/openmetrics-text;version=2.0.0;escaping=allow-utf-8,text/plain;version=0.0.4;q=0.5', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['higher q wins over header order', 'text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.9', 'openmetrics-1.0.0', 'underscores', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['equal q: header order', 'text/plain;version=1.0.0,application/openmetrics-text;version=1.0.0', 'text-1.0.0', 'underscores', 'text/plain; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['equal q: a specific range before the wildcard', '*/*;q=0.5,application/openmetrics-text;version=1.0.0;q=0.5', 'openmetrics-1.0.0', 'underscores', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['q=0 refuses a format', 'application/openmetrics-text;version=1.0.0;q=0,text/plain', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['a q-value that does not parse drops its clause', 'application/openmetrics-text;version=1.0.0;q=high,text/plain;version=1.0.0', 'text-1.0.0', 'underscores', 'text/plain; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['OpenMetrics without a version is 0.0.1', 'application/openmetrics-text', 'openmetrics-0.0.1', 'underscores', 'application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores'],
    ['OpenMetrics 2.0.0 is passed over', 'application/openmetrics-text;version=2.0.0,text/plain;version=0.0.4;q=0.1', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['the protobuf text encodings are passed over', 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['protobuf without proto= is passed over', 'application/vnd.google.protobuf;encoding=delimited', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['text/plain of an unknown version is passed over', 'text/plain;version=2.0.0,application/openmetrics-text;version=1.0.0;q=0.1', 'openmetrics-1.0.0', 'underscores', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores'],
    ['media types and parameter names in any case, values quoted, spaces', ' Application/OpenMetrics-Text ; Version="1.0.0" ; Escaping="allow-utf-8" ', 'openmetrics-1.0.0', 'allow-utf-8', 'application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8'],
    ['the wildcard is text 0.0.4', '*/*', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['text/* is text 0.0.4', 'text/*;escaping=allow-utf-8', 'text-0.0.4', 'allow-utf-8', 'text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8'],
    ['nothing Lethe writes: text 0.0.4', 'application/json', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
    ['garbage: text 0.0.4', ';;,/,=,q=1', 'text-0.0.4', 'underscores', 'text/plain; version=0.0.4; charset=utf-8; escaping=underscores'],
  ])('%s', (_name, accept, format, escaping, contentType) => {
    expect(negotiate(accept)).toEqual({ format, escaping, contentType });
  });
});
