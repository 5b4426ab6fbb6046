/**
 * The demo's stage: a local control plane, Lethe (the built dist/main.js, as its pod would run it:
 * the Helm chart's ServiceAccount token, leader election, a persistence file) and a Prometheus
 * that scrapes it as the chart's ServiceMonitor says, with the chart's alert rules.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { loadTestKubeConfig } from '../harness/kube.js';
import { freePort } from '../harness/ports.js';
import { prometheusBinary } from '../harness/prometheus.js';
import { TestProcess, waitForHttp } from '../harness/processes.js';
import { renderChart, repoRoot, serverSideApply, tokenKubeConfig, writeKubeConfig } from '../integration/deploy-support.js';
import { serviceAccountToken } from '../integration/auth-support.js';

export interface Stage {
  readonly dir: string;
  readonly plane: ControlPlane;
  readonly admin: KubeConfig;
  readonly letheUrl: string;
  readonly letheLog: string;
  readonly promUrl: string;
  stop(): Promise<void>;
}

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

export async function startStage(say: (line: string) => void): Promise<Stage> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-demo-'));
  say('Starting a local control plane (etcd, kube-apiserver, kube-controller-manager) ...');
  const plane = await startControlPlane();
  const admin = loadTestKubeConfig(plane.kubeconfigPath);
  const processes: TestProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of processes.reverse()) await p.stop();
    await plane.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    say(`  up in ${(plane.timings.totalMs / 1000).toFixed(1)} s, with the MetricsGroup CRD from crds/.`);

    // The chart's ServiceAccount and RBAC in namespace lethe; Lethe runs with that account's token.
    await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'lethe' } } });
    const objects = await renderChart('lethe', 'lethe', ['--set', 'leaderElection.enabled=true', '--set', 'prometheusRule.enabled=true']);
    for (const object of objects.filter((o) => RBAC_KINDS.has(o.kind))) await serverSideApply(admin, object);
    const token = await serviceAccountToken(admin, 'lethe', { serviceAccount: 'lethe', seconds: 3600 });
    const kubeconfig = await writeKubeConfig(tokenKubeConfig(admin, token, 'lethe'), join(dir, 'lethe.kubeconfig'));

    const lethePort = await freePort();
    const letheUrl = `http://127.0.0.1:${lethePort}`;
    const letheLog = join(dir, 'lethe.log');
    const lethe = new TestProcess({
      name: 'lethe',
      command: process.execPath,
      args: [
        join(repoRoot, 'dist', 'main.js'),
        `--kubeconfig=${kubeconfig}`,
        `--web.listen-address=127.0.0.1:${lethePort}`,
        `--persistence.file=${join(dir, 'lethe.data')}`,
        '--leader-election.enabled=true',
        '--leader-election.lease-name=lethe',
      ],
      env: { ...process.env, POD_NAME: 'lethe-7f9c4-x2x1q', POD_NAMESPACE: 'lethe' },
      logFile: letheLog,
    });
    processes.push(lethe);
    await waitForHttp(lethe, `${letheUrl}/-/ready`, 60_000);
    // Deletions start once every watch has synced and the Lease is held.
    await eventually(
      async () => {
        const text = await (await fetch(`${letheUrl}/metrics`)).text();
        if (!/^lethe_leader 1$/m.test(text) || /^lethe_lifecycle_blocked\{gate="\w+"\} 1$/m.test(text)) throw new Error('gates still closed');
      },
      { timeout: 60_000, interval: 200 },
    );
    say(`Lethe is running on ${letheUrl} with the chart's ServiceAccount (ClusterRole and Lease Role), leading.`);

    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    const promPort = await freePort();
    const promUrl = `http://127.0.0.1:${promPort}`;
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yml')],
      // What the chart's ServiceMonitor makes prometheus-operator generate: honor_labels.
      scrape_configs: [{ job_name: 'lethe', honor_labels: true, static_configs: [{ targets: [`127.0.0.1:${lethePort}`] }] }],
    };
    await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    await writeFile(join(dir, 'rules.yml'), JSON.stringify(rule?.['spec'] ?? { groups: [] }, null, 2));
    const prometheus = new TestProcess({
      name: 'prometheus',
      command: prometheusBinary(),
      args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`, `--web.listen-address=127.0.0.1:${promPort}`],
      logFile: join(dir, 'prometheus.log'),
    });
    processes.push(prometheus);
    await waitForHttp(prometheus, `${promUrl}/-/ready`, 60_000);
    say(`Prometheus is scraping it every second (honor_labels: true) on ${promUrl}, with the chart's alert rules.`);
    return { dir, plane, admin, letheUrl, letheLog, promUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
