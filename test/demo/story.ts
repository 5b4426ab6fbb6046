/**
 * The story `make demo` tells: a CronJob's runs and a MetricsGroup push as jobs would, things are
 * deleted, and after each step Lethe's view, Prometheus' view and Lethe's Events are shown.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { kubectl } from '../integration/deploy-support.js';
import { startStage, type Stage } from './stage.js';

const say = (line = ''): void => void process.stdout.write(`${line}\n`);
const step = (n: number, title: string): void => say(`\n${n}. ${title}`);

interface GroupJson {
  readonly labels: Record<string, string>;
  readonly attribution: { source: string; pod?: string };
  readonly owner: { kind: string; namespace: string; name: string; cronJob?: string } | null;
}

const show = (labels: Record<string, string>): string => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

export async function runDemo(): Promise<void> {
  say('Lethe demo: a Pushgateway that forgets what should be forgotten.');
  const stage = await startStage((line) => say(line));
  try {
    await story(stage);
  } finally {
    await stage.stop();
  }
}

async function story(stage: Stage): Promise<void> {
  const { admin } = stage;
  const core = admin.makeApiClient(CoreV1Api);
  const batch = admin.makeApiClient(BatchV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  const groups = async (): Promise<GroupJson[]> => ((await (await fetch(`${stage.letheUrl}/api/v1/groups`)).json()) as { data: { groups: GroupJson[] } }).data.groups;
  const group = async (labels: Record<string, string>): Promise<GroupJson | undefined> =>
    (await groups()).find((g) => Object.entries(labels).every(([k, v]) => g.labels[k] === v));
  const prom = async (query: string): Promise<string[]> => {
    const answer = (await (await fetch(`${stage.promUrl}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return answer.data.result.map((r) => `${show(r.metric)} ${r.value[1]}`);
  };
  const untilProm = async (query: string, ready: (lines: string[]) => boolean): Promise<string[]> =>
    eventually(async () => {
      const lines = await prom(query);
      if (!ready(lines)) throw new Error(`not yet: ${query}`);
      return lines;
    }, { timeout: 60_000, interval: 250 });
  // Lethe knows pods from its watch only (an unknown address costs it no API request), and the
  // watch may deliver a fresh pod's IP a moment after the pod got it: push again until attributed.
  const pushFrom = async (ip: string, path: string, text: string, labels: Record<string, string>): Promise<string> => {
    const status = await push(stage, ip, path, text);
    await eventually(async () => {
      const g = await group(labels);
      if (g !== undefined && g.attribution.source !== 'none') return;
      await push(stage, ip, path, text);
      throw new Error('not attributed yet');
    }, { timeout: 30_000, interval: 250 });
    return status;
  };
  const ownerText = (g: GroupJson | undefined): string =>
    g?.owner === null || g?.owner === undefined ? 'no owner' : `${g.owner.kind} ${g.owner.namespace}/${g.owner.name}${g.owner.cronJob === undefined ? '' : ` (a run of CronJob ${g.owner.cronJob})`}`;

  // ---- Setting the scene ----
  step(1, 'Namespace team-a gets a CronJob "backup" and a MetricsGroup "reports".');
  for (const name of ['team-a', 'team-b']) await core.createNamespace({ body: { metadata: { name } } });
  const cron = await batch.createNamespacedCronJob({
    namespace: 'team-a',
    body: {
      metadata: { name: 'backup' },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'backup', image: 'backup:1' }] } } } } },
    },
  });
  await custom.createNamespacedCustomObject({
    group: 'lethe.dev',
    version: 'v1alpha1',
    plural: 'metricsgroups',
    namespace: 'team-a',
    body: { apiVersion: 'lethe.dev/v1alpha1', kind: 'MetricsGroup', metadata: { name: 'reports' }, spec: { selector: { matchLabels: { job: 'report' } } } },
  });

  /** Runs the CronJob once, as the cronjob controller would, and gives the run's pod an IP. */
  const run = async (name: string, ip: string): Promise<void> => {
    await batch.createNamespacedJob({
      namespace: 'team-a',
      body: {
        metadata: { name, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'backup', uid: cron.metadata?.uid ?? '', controller: true }] },
        spec: cron.spec?.jobTemplate.spec ?? { template: {} },
      },
    });
    const pod = await eventually(async () => {
      const pods = await core.listNamespacedPod({ namespace: 'team-a', labelSelector: `batch.kubernetes.io/job-name=${name}` });
      const found = pods.items[0];
      if (found === undefined) throw new Error('no pod yet');
      return found;
    }, { timeout: 30_000 });
    await setPodIp(admin, pod, ip);
  };
  const backup = (run: string): string => `# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds ${Math.floor(Date.now() / 1000)}\n# TYPE backup_bytes gauge\nbackup_bytes{run="${run}"} 7340032\n`;

  // ---- Run 1 ----
  step(2, 'Run backup-29120101 of the CronJob starts; its pod (IP 127.77.0.11) pushes its result.');
  await run('backup-29120101', '127.77.0.11');
  say(`   PUT /metrics/job/backup/run/backup-29120101 -> ${await pushFrom('127.77.0.11', 'backup/run/backup-29120101', backup('backup-29120101'), { run: 'backup-29120101' })}`);
  const first = await eventually(async () => {
    const g = await group({ run: 'backup-29120101' });
    if (g?.owner === null || g?.owner === undefined) throw new Error('not owned yet');
    return g;
  });
  say(`   Lethe: attributed by ${first.attribution.source} to pod ${first.attribution.pod ?? '?'}; owner ${ownerText(first)}.`);
  for (const line of await untilProm('backup_last_success_timestamp_seconds', (l) => l.length === 1)) say(`   Prometheus: ${line}`);

  // ---- History clean-up removes run 1; Lethe keeps its result ----
  step(3, 'The run finishes and its Job is deleted (CronJob history clean-up).');
  await batch.deleteNamespacedJob({ name: 'backup-29120101', namespace: 'team-a', propagationPolicy: 'Background' });
  await eventually(async () => (await batch.listNamespacedJob({ namespace: 'team-a' })).items.length === 0, { timeout: 30_000 });
  if (!(await watchFor(5_000, async () => (await group({ run: 'backup-29120101' })) !== undefined))) throw new Error('Lethe deleted the last run before a newer one pushed');
  say("   Lethe KEPT the group: a CronJob's last run stays until a newer run has pushed,");
  say('   so "time since last success" alerts keep working through history clean-up.');

  // ---- Run 2 supersedes run 1 ----
  step(4, 'The next run, backup-29120102, pushes.');
  await run('backup-29120102', '127.77.0.12');
  say(`   PUT /metrics/job/backup/run/backup-29120102 -> ${await pushFrom('127.77.0.12', 'backup/run/backup-29120102', backup('backup-29120102'), { run: 'backup-29120102' })}`);
  await eventually(async () => (await group({ run: 'backup-29120101' })) === undefined, { timeout: 60_000, interval: 250 });
  say('   Lethe FORGOT run backup-29120101: a newer run of the CronJob has pushed (after Prometheus had scraped it once).');
  for (const line of await untilProm('backup_bytes', (l) => l.length === 1 && l[0]?.includes('backup-29120102') === true)) say(`   Prometheus: ${line}`);

  // ---- MetricsGroup ----
  step(5, 'A report pod in team-a pushes job="report"; the MetricsGroup "reports" claims it.');
  await barePod(admin, 'team-a', 'report-generator', '127.77.0.13');
  say(`   PUT /metrics/job/report -> ${await pushFrom('127.77.0.13', 'report', '# TYPE report_rows gauge\nreport_rows 1234\n', { job: 'report' })}`);
  const report = await eventually(async () => {
    const g = await group({ job: 'report' });
    if (g?.owner?.kind !== 'MetricsGroup') throw new Error('not claimed yet');
    return g;
  });
  say(`   Lethe: owner ${ownerText(report)}.`);
  await eventually(async () => (await kubectl(['get', 'metricsgroups', '-n', 'team-a'], stage.plane.kubeconfigPath)).stdout.includes('1 '), { timeout: 30_000 });
  for (const line of (await kubectl(['get', 'metricsgroups', '-n', 'team-a'], stage.plane.kubeconfigPath)).stdout.trimEnd().split('\n')) say(`   $ kubectl get metricsgroups: ${line}`);
  await custom.deleteNamespacedCustomObject({ group: 'lethe.dev', version: 'v1alpha1', plural: 'metricsgroups', namespace: 'team-a', name: 'reports' });
  await eventually(async () => (await group({ job: 'report' })) === undefined, { timeout: 60_000, interval: 250 });
  say('   The MetricsGroup is deleted: Lethe FORGOT job="report" with it.');

  // ---- CronJob deleted ----
  step(6, 'The CronJob "backup" is deleted.');
  await batch.deleteNamespacedCronJob({ name: 'backup', namespace: 'team-a', propagationPolicy: 'Background' });
  await eventually(async () => (await group({ job: 'backup' })) === undefined, { timeout: 60_000, interval: 250 });
  say('   Lethe FORGOT run backup-29120102: its CronJob is gone.');
  await untilProm('backup_bytes', (l) => l.length === 0);
  say('   Prometheus: backup_bytes is stale (an instant query returns nothing).');

  // ---- Namespace deleted ----
  step(7, 'An ad-hoc pod in team-b pushes job="adhoc"; then namespace team-b is deleted.');
  await barePod(admin, 'team-b', 'adhoc', '127.77.0.14');
  say(`   PUT /metrics/job/adhoc -> ${await pushFrom('127.77.0.14', 'adhoc', '# TYPE adhoc_done gauge\nadhoc_done 1\n', { job: 'adhoc' })}`);
  say(`   Lethe: owner ${ownerText(await eventually(async () => {
    const g = await group({ job: 'adhoc' });
    if (g?.owner === null || g?.owner === undefined) throw new Error('not owned yet');
    return g;
  }))}.`);
  await core.deleteNamespace({ name: 'team-b' });
  await eventually(async () => (await group({ job: 'adhoc' })) === undefined, { timeout: 90_000, interval: 250 });
  say('   Lethe FORGOT job="adhoc": its namespace is gone.');

  // ---- Why ----
  step(8, 'Why? The Events Lethe emitted (kubectl get events -A --field-selector source=lethe):');
  const events = await eventually(async () => {
    const out = await kubectl(['get', 'events', '-A', '--field-selector', 'source=lethe', '--sort-by=.lastTimestamp', '-o', 'custom-columns=NAMESPACE:.metadata.namespace,REASON:.reason,OBJECT:.involvedObject.kind,NAME:.involvedObject.name,MESSAGE:.message'], stage.plane.kubeconfigPath);
    if (out.stdout.split('\n').filter((l) => l.trim() !== '').length < 5) throw new Error('not all Events yet');
    return out.stdout.trimEnd();
  }, { timeout: 30_000 });
  for (const line of events.split('\n')) say(`   ${line}`);
  say('\n   The same deletions in Lethe\'s log ("Deleted metric group" lines):');
  for (const line of (await readFile(stage.letheLog, 'utf8')).split('\n')) {
    if (!line.includes('"Deleted metric group"')) continue;
    const entry = JSON.parse(line) as { reason?: string; groupingKey?: string; owner?: { kind?: string; namespace?: string; name?: string } };
    say(`   reason=${entry.reason ?? '?'} groupingKey=${entry.groupingKey ?? '?'} owner=${entry.owner?.kind ?? '-'} ${entry.owner?.namespace ?? ''}/${entry.owner?.name ?? ''}`);
  }
  say('\n   And in Prometheus, sum by (reason) (lethe_groups_deleted_total):');
  for (const line of await untilProm('sum by (reason) (lethe_groups_deleted_total) > 0', (l) => l.length >= 4)) say(`   ${line}`);
  say(`\n   Still stored in Lethe: ${(await groups()).map((g) => show(g.labels)).join(' ') || 'nothing'}.`);
}

/** True when `check` holds throughout `ms` (a demo may wait on purpose). */
async function watchFor(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await check())) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return true;
}

async function setPodIp(kc: KubeConfig, pod: V1Pod, ip: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).patchNamespacedPodStatus(
    { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', body: { status: { podIP: ip, podIPs: [{ ip }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function barePod(kc: KubeConfig, namespace: string, name: string, ip: string): Promise<void> {
  const pod = await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body: { metadata: { name }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } });
  await setPodIp(kc, pod, ip);
}

/** PUTs a text body from `localAddress` (the pod's IP); resolves with the status line. */
function push(stage: Stage, localAddress: string, path: string, body: string): Promise<string> {
  const url = new URL(`${stage.letheUrl}/metrics/job/${path}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', localAddress, headers: { 'content-type': 'text/plain; version=0.0.4' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode ?? 0} ${res.statusMessage ?? ''}`.trim()));
    });
    req.on('error', reject);
    req.end(body);
  });
}
