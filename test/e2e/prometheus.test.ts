import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../harness/eventually.js';
import { freePort } from '../harness/ports.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';
import { startGateway, type Gateway } from './gateways.js';

interface QueryResult {
  readonly status: string;
  readonly data: { readonly result: readonly { readonly metric: Record<string, string>; readonly value: [number, string] }[] };
}

describe('a real Prometheus scrapes Lethe', () => {
  let dir: string;
  let lethe: Gateway;
  let prometheus: TestProcess;
  let promUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-prometheus-'));
    lethe = await startGateway('lethe');
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    // What a ServiceMonitor with honorLabels: true generates.
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: lethe',
        '    honor_labels: true',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${lethe.port}']`,
        '',
      ].join('\n'),
    );
    prometheus = new TestProcess({
      name: 'prometheus',
      command: 'prometheus',
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      logFile: join(dir, 'prometheus.log'),
    });
    await waitForHttp(prometheus, `${promUrl}/-/ready`, 60_000);
  });

  afterAll(async () => {
    await prometheus.stop();
    await lethe.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function query(q: string): Promise<QueryResult['data']['result']> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as QueryResult;
    expect(body.status).toBe('success');
    return body.data.result;
  }

  test('pushed series appear with their grouping labels, and go stale after DELETE', async () => {
    const push = await fetch(`${lethe.url}/metrics/job/nightly-backup/instance/db1`, {
      method: 'PUT',
      body: '# TYPE backup_last_success_seconds gauge\nbackup_last_success_seconds{kind="full"} 1700000000\n',
    });
    expect(push.status).toBe(200);

    const series = await eventually(
      async () => {
        const result = await query('backup_last_success_seconds');
        if (result.length === 0) throw new Error('not scraped yet');
        return result;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(series).toHaveLength(1);
    expect(series[0]?.metric).toEqual({
      __name__: 'backup_last_success_seconds',
      job: 'nightly-backup',
      instance: 'db1',
      kind: 'full',
    });
    expect(series[0]?.value[1]).toBe('1700000000');
    const pushTime = await query('push_time_seconds{job="nightly-backup"}');
    expect(pushTime).toHaveLength(1);

    expect((await fetch(`${lethe.url}/metrics/job/nightly-backup/instance/db1`, { method: 'DELETE' })).status).toBe(202);
    await eventually(
      async () => {
        const result = await query('backup_last_success_seconds');
        if (result.length !== 0) throw new Error('still present');
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(await query('push_time_seconds{job="nightly-backup"}')).toEqual([]);
  });
});
