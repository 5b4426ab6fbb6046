/**
 * The chart's alert rules, checked by Prometheus' own tool: `promtool check rules` on the rules
 * the PrometheusRule renders, and `promtool test rules` with series that should and should not
 * fire each alert (labels and annotation text included). No cluster is needed.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chartDir, helm, helmErrors, k8sObjects, renderChart, repoRoot, run, yamlDocuments } from './deploy-support.js';

interface AlertTest {
  readonly name: string;
  readonly series: Readonly<Record<string, string>>;
  readonly alertname: string;
  readonly evalTime: string;
  readonly expected: readonly { readonly labels: Readonly<Record<string, string>>; readonly annotations: Readonly<Record<string, string>> }[];
}

const target = { job: 'lethe', namespace: 'monitoring', pod: 'lethe-6d9f', service: 'lethe', endpoint: 'http' };
const labelText = (labels: Readonly<Record<string, string>>): string =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
const group = { namespace: 'team-a', owner_kind: 'CronJob', owner_name: 'backup', grouping_key: '{job="backup"}', pod: 'lethe-6d9f', service: 'lethe', endpoint: 'http', job: 'lethe' };

/** `n` readings a minute apart, repeating `cycle`. */
const heapReadings = (n: number, cycle: readonly number[]): string => Array.from({ length: n }, (_, i) => cycle[i % cycle.length]).join(' ');

const cases: AlertTest[] = [
  {
    name: 'a CronJob push overdue for 4 minutes fires LetheBatchJobOverdue, with how long ago the last push was',
    series: {
      [`lethe_group_overdue${labelText(group)}`]: '0 0 1 1 1 1',
      [`lethe_group_last_push_timestamp_seconds${labelText(group)}`]: '60x5',
    },
    alertname: 'LetheBatchJobOverdue',
    evalTime: '5m',
    expected: [
      {
        labels: { ...group, severity: 'warning' },
        annotations: {
          summary: 'CronJob team-a/backup has not pushed on schedule',
          description:
            'A scheduled push of CronJob team-a/backup ({job="backup"}) did not arrive; its last push was 4m 0s ago. Its run may have failed or not started: see kubectl -n team-a get jobs,events.',
        },
      },
    ],
  },
  {
    name: 'a group pushed on time does not fire LetheBatchJobOverdue',
    series: {
      [`lethe_group_overdue${labelText(group)}`]: '0x5',
      [`lethe_group_last_push_timestamp_seconds${labelText(group)}`]: '60x5',
    },
    alertname: 'LetheBatchJobOverdue',
    evalTime: '5m',
    expected: [],
  },
  {
    name: 'a refused last push fires LetheBatchJobFailed',
    series: {
      [`push_failure_time_seconds${labelText({ ...target, job: 'backup', instance: 'db1' })}`]: '0 0 200x3',
      [`push_time_seconds${labelText({ ...target, job: 'backup', instance: 'db1' })}`]: '100x5',
    },
    alertname: 'LetheBatchJobFailed',
    evalTime: '3m',
    expected: [
      {
        labels: { ...target, job: 'backup', instance: 'db1', severity: 'warning' },
        annotations: {
          summary: 'The last push of job backup to Lethe failed',
          description:
            'Lethe refused the last push of job backup (instance db1), so its results were not recorded. The client got a 4xx or 5xx answer with the reason; lethe_pushes_rejected_total and lethe_limit_rejections_total count them.',
        },
      },
    ],
  },
  {
    name: 'a successful push after a refused one clears LetheBatchJobFailed',
    series: {
      [`push_failure_time_seconds${labelText({ ...target, job: 'backup', instance: 'db1' })}`]: '200x5',
      [`push_time_seconds${labelText({ ...target, job: 'backup', instance: 'db1' })}`]: '100 100 300x3',
    },
    alertname: 'LetheBatchJobFailed',
    evalTime: '4m',
    expected: [],
  },
  {
    name: 'watches unsynced for 16 minutes fire LetheDeletionsBlocked',
    series: {
      [`lethe_lifecycle_blocked${labelText({ ...target, gate: 'sync' })}`]: '1x20',
      [`lethe_lifecycle_blocked${labelText({ ...target, gate: 'health' })}`]: '0x20',
      [`lethe_lifecycle_blocked${labelText({ ...target, gate: 'leader' })}`]: '0x20',
    },
    alertname: 'LetheDeletionsBlocked',
    evalTime: '16m',
    expected: [
      {
        labels: { namespace: 'monitoring', severity: 'warning' },
        annotations: {
          summary: 'Lethe in monitoring cannot delete metric groups',
          description:
            'No Lethe pod in monitoring has been able to delete groups for a while. lethe_lifecycle_blocked{gate} says which gate is closed (sync, health, leader) and the "Blocked deletions" log line says why.',
        },
      },
    ],
  },
  {
    name: 'a follower blocked only by not leading does not fire LetheDeletionsBlocked while the leader runs',
    series: {
      [`lethe_lifecycle_blocked${labelText({ ...target, pod: 'lethe-a', gate: 'leader' })}`]: '1x20',
      [`lethe_lifecycle_blocked${labelText({ ...target, pod: 'lethe-a', gate: 'sync' })}`]: '0x20',
      [`lethe_lifecycle_blocked${labelText({ ...target, pod: 'lethe-b', gate: 'leader' })}`]: '0x20',
      [`lethe_lifecycle_blocked${labelText({ ...target, pod: 'lethe-b', gate: 'sync' })}`]: '0x20',
    },
    alertname: 'LetheDeletionsBlocked',
    evalTime: '16m',
    expected: [],
  },
  {
    name: 'a failed write fires LethePersistenceErrors',
    series: { [`lethe_persistence_errors_total${labelText(target)}`]: '0 0 1 1 1' },
    alertname: 'LethePersistenceErrors',
    evalTime: '3m',
    expected: [
      {
        labels: { ...target, severity: 'critical' },
        annotations: {
          summary: 'Lethe monitoring/lethe-6d9f cannot write its store',
          description: 'Lethe failed to write its persistence file (a full or failing volume); pushes are refused with 503 and /-/ready fails until a write succeeds again, which Lethe retries by itself. See the "Failed to write persistence file" log line and lethe_persistence_errors_total{op,code}.',
        },
      },
    ],
  },
  {
    name: 'a push refused for a nearly full heap fires LetheMemoryFull',
    series: {
      [`lethe_limit_rejections_total${labelText({ ...target, limit: 'heap' })}`]: '0 0 3 3 3',
      [`lethe_limit_rejections_total${labelText({ ...target, limit: 'namespace_series' })}`]: '0 0 0 0 0',
    },
    alertname: 'LetheMemoryFull',
    evalTime: '3m',
    expected: [
      {
        labels: { ...target, limit: 'heap', severity: 'critical' },
        annotations: {
          summary: 'Lethe monitoring/lethe-6d9f refuses pushes: its memory is nearly full',
          description:
            'Lethe refused pushes that would add groups or series because its V8 heap holds more than --limits.heap-share of its limit after a full collection (503, LETHE_LIMIT_HEAP); what those jobs reported was not recorded. Raise the memory limit (resources.limits.memory) or delete groups; Lethe takes such pushes again by itself once the heap has room. See the "Refusing pushes that add series" log line.',
        },
      },
    ],
  },
  {
    name: 'other limits do not fire LetheMemoryFull',
    series: { [`lethe_limit_rejections_total${labelText({ ...target, limit: 'namespace_series' })}`]: '0 0 3 3 3' },
    alertname: 'LetheMemoryFull',
    evalTime: '3m',
    expected: [],
  },
  {
    name: 'a heap that stays above 0.85 of the guard\'s line for 15 minutes fires LetheMemoryNearlyFull, with its share of the line',
    series: {
      [`nodejs_heap_size_used_bytes${labelText(target)}`]: heapReadings(40, [950, 900, 920]),
      [`lethe_heap_guard_bytes${labelText(target)}`]: '1000x40',
    },
    alertname: 'LetheMemoryNearlyFull',
    evalTime: '35m',
    expected: [
      {
        labels: { ...target, severity: 'warning' },
        annotations: {
          summary: 'Lethe monitoring/lethe-6d9f will soon refuse pushes: its memory is nearly full',
          description:
            "Lethe holds 90% of the heap its guard allows (lethe_heap_guard_bytes, --limits.heap-share of V8's heap limit); past it, pushes that add groups or series are refused with 503. Raise the memory limit (resources.limits.memory) or let groups go (lifecycle, TTLs).",
        },
      },
    ],
  },
  {
    name: 'a heap above the threshold only between collections does not fire LetheMemoryNearlyFull',
    series: {
      [`nodejs_heap_size_used_bytes${labelText(target)}`]: heapReadings(40, [990, 990, 990, 990, 600]),
      [`lethe_heap_guard_bytes${labelText(target)}`]: '1000x40',
    },
    alertname: 'LetheMemoryNearlyFull',
    evalTime: '35m',
    expected: [],
  },
  {
    name: 'with the guard off (no lethe_heap_guard_bytes) LetheMemoryNearlyFull does not fire',
    series: { [`nodejs_heap_size_used_bytes${labelText(target)}`]: heapReadings(40, [990]) },
    alertname: 'LetheMemoryNearlyFull',
    evalTime: '35m',
    expected: [],
  },
];

/** The page that shows the rules and the additionalRules example. */
const ALERTS_PAGE = join('docs', 'alerts.md');

/** The fenced block between the alerts page's `<!-- name:begin -->` and `<!-- name:end -->`. */
async function docsBlock(name: string): Promise<string> {
  const page = await readFile(join(repoRoot, ALERTS_PAGE), 'utf8');
  const match = new RegExp(`<!-- ${name}:begin -->\\n\`\`\`yaml\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`).exec(page);
  if (match?.[1] === undefined) throw new Error(`${ALERTS_PAGE} has no ${name} block`);
  return match[1];
}

describe("the chart's alert rules", () => {
  let dir: string;
  let rulesFile: string;
  let rulesSpec: unknown;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-alerts-'));
    const rule = (await renderChart('lethe', 'monitoring', ['--set', 'prometheusRule.enabled=true'])).find((o) => o.kind === 'PrometheusRule');
    if (rule === undefined) throw new Error('no PrometheusRule rendered');
    rulesFile = join(dir, 'rules.yml');
    rulesSpec = rule['spec'];
    await writeFile(rulesFile, JSON.stringify(rulesSpec, null, 2));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('promtool check rules accepts them', async () => {
    const checked = await run('promtool', ['check', 'rules', rulesFile]);
    expect({ code: checked.code, out: checked.stdout.trim(), err: checked.stderr }).toEqual({ code: 0, out: expect.stringContaining('SUCCESS: 6 rules found'), err: '' });
  });

  test.each(cases.map((c) => [c.name, c] as const))('promtool test rules: %s', async (_name, c) => {
    const tests = {
      rule_files: [rulesFile],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
          alert_rule_test: [
            {
              eval_time: c.evalTime,
              alertname: c.alertname,
              exp_alerts: c.expected.map((e) => ({ exp_labels: e.labels, exp_annotations: e.annotations })),
            },
          ],
        },
      ],
    };
    const file = join(dir, `${c.alertname}-${cases.indexOf(c)}.test.yml`);
    await writeFile(file, JSON.stringify(tests, null, 2));
    const result = await run('promtool', ['test', 'rules', file]);
    expect({ code: result.code, out: result.stdout + result.stderr }).toEqual({ code: 0, out: expect.stringContaining('SUCCESS') });
  });

  test("the rule file in docs/alerts.md is the chart's rules", async () => {
    expect(yamlDocuments(await docsBlock('alert-rules'))).toEqual([rulesSpec]);
  });

  test("the additionalRules example in docs/alerts.md renders into rules promtool accepts", async () => {
    const valuesFile = join(dir, 'docs-values.yml');
    await writeFile(valuesFile, await docsBlock('alert-values'));
    const rendered = await helm(['template', 'lethe', chartDir, '--namespace', 'monitoring', '-f', valuesFile, '--show-only', 'templates/prometheusrule.yaml']);
    expect({ code: rendered.code, err: helmErrors(rendered.stderr) }).toEqual({ code: 0, err: '' });
    const [rule] = k8sObjects(rendered.stdout);
    const file = join(dir, 'docs-rules.yml');
    await writeFile(file, JSON.stringify(rule?.['spec'], null, 2));
    const checked = await run('promtool', ['check', 'rules', file]);
    expect({ code: checked.code, out: checked.stdout.trim() }).toEqual({ code: 0, out: expect.stringContaining('SUCCESS: 7 rules found') });
  });
});
