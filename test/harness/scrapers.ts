/**
 * How the clients of /metrics introduce themselves. Only a scraper's complete response ends a
 * group's scrape grace; these headers let a test be Prometheus, or be something that is not.
 */

/** Prometheus 3's default scrape Accept (native histograms off), as it sends it. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.7,application/openmetrics-text;version=0.0.1;q=0.6,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.3';

/** A Prometheus scrape: its Accept and User-Agent. */
export const PROMETHEUS_HEADERS: Readonly<Record<string, string>> = { accept: PROMETHEUS_ACCEPT, 'user-agent': 'Prometheus/3.16.0' };

/** curl's defaults. */
export const CURL_HEADERS: Readonly<Record<string, string>> = { accept: '*/*', 'user-agent': 'curl/8.14.1' };

/** A browser opening a page (Chromium's navigation Accept). */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
};
