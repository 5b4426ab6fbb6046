/**
 * The chart's RBAC is exactly what Lethe uses. The chart is applied to the real control plane,
 * a token is minted for its ServiceAccount (TokenRequest), and with that token:
 * - a SelfSubjectAccessReview table shows every call Lethe makes allowed and others refused;
 * - a SelfSubjectRulesReview shows no rule beyond those;
 * - Lethe runs in-process in Kubernetes mode and does its whole job (watches, TokenReview,
 *   Lease, MetricsGroup status, deletion and Event) without a single refused request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AuthorizationV1Api, CoordinationV1Api, type KubeConfig, type V1ResourceAttributes } from '@kubernetes/client-node';
import { eventually } from '../harness/eventually.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { installFixtureCrds } from '../harness/owner-crds.js';
import {
  deleteObjects,
  kubectl,
  renderChart,
  serverSideApply,
  tokenKubeConfig,
  writeKubeConfig,
  type K8sObject,
} from './deploy-support.js';
import { serviceAccountToken } from './auth-support.js';
import {
  TIMEOUT,
  body,
  createJob,
  createMetricsGroup,
  deleteJob,
  freshIp,
  hasSeries,
  jobBody,
  podOfJob,
  podToken,
  push,
  readMetricsGroup,
  scrape,
  startTestLethe,
  untilReady,
  waitForEvents,
  waitForGroup,
} from './lifecycle-support.js';

type Row = readonly [verb: string, group: string, resource: string, where: 'cluster' | 'release' | 'other', name?: string];

describe('chart RBAC: exactly what Lethe uses', () => {
  let admin: KubeConfig;
  let asLethe: KubeConfig;
  let tmp: string;
  let kubeconfigPath: string;
  let namespace: string;
  let other: string;
  let objects: K8sObject[];
  const release = randomName('rbac');
  const leaseName = `${release}-lease`;

  beforeAll(async () => {
    admin = loadTestKubeConfig();
    namespace = await createTestNamespace(admin, 'lethe-rbac');
    other = await createTestNamespace(admin, 'lethe-rbac-other');
    objects = await renderChart(release, namespace, ['--set', 'leaderElection.enabled=true', '--set', `leaderElection.leaseName=${leaseName}`]);
    for (const object of objects) await serverSideApply(admin, object);
    const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount');
    if (serviceAccount === undefined) throw new Error('the chart rendered no ServiceAccount');
    const token = await serviceAccountToken(admin, namespace, { serviceAccount: serviceAccount.metadata.name });
    asLethe = tokenKubeConfig(admin, token, 'lethe');
    tmp = await mkdtemp(join(tmpdir(), 'lethe-rbac-'));
    kubeconfigPath = await writeKubeConfig(asLethe, join(tmp, 'lethe.kubeconfig'));
  }, TIMEOUT);

  afterAll(async () => {
    await deleteObjects(admin, objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
    await deleteTestNamespace(admin, namespace);
    await deleteTestNamespace(admin, other);
    await rm(tmp, { recursive: true, force: true });
  }, TIMEOUT);

  async function allowed([verb, group, resource, where, name]: Row): Promise<boolean> {
    const [plural, subresource] = resource.split('/');
    const attributes: V1ResourceAttributes = {
      verb,
      group,
      resource: plural ?? resource,
      ...(subresource === undefined ? {} : { subresource }),
      ...(where === 'cluster' ? {} : { namespace: where === 'release' ? namespace : other }),
      ...(name === undefined ? {} : { name }),
    };
    const review = await asLethe.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } },
    });
    return review.status?.allowed === true;
  }

  // Every API call in src/kube/: the informers' list+watch (all namespaces), the gets that
  // confirm an owner is gone and read a token's pod, TokenReview, Events on owners in any
  // namespace, MetricsGroup status, and the Lease in Lethe's own namespace.
  const used: Row[] = [
    ['list', '', 'namespaces', 'cluster'],
    ['watch', '', 'namespaces', 'cluster'],
    ['get', '', 'namespaces', 'cluster', 'kube-system'],
    ['list', '', 'pods', 'cluster'],
    ['watch', '', 'pods', 'cluster'],
    ['get', '', 'pods', 'other', 'some-pod'],
    ['list', 'batch', 'jobs', 'cluster'],
    ['watch', 'batch', 'jobs', 'cluster'],
    ['get', 'batch', 'jobs', 'other', 'backup'],
    ['list', 'batch', 'cronjobs', 'cluster'],
    ['watch', 'batch', 'cronjobs', 'cluster'],
    ['get', 'batch', 'cronjobs', 'other', 'nightly'],
    ['list', 'lethe.dev', 'metricsgroups', 'cluster'],
    ['watch', 'lethe.dev', 'metricsgroups', 'cluster'],
    ['get', 'lethe.dev', 'metricsgroups', 'other', 'contract'],
    ['patch', 'lethe.dev', 'metricsgroups/status', 'other', 'contract'],
    ['create', 'authentication.k8s.io', 'tokenreviews', 'cluster'],
    ['create', '', 'events', 'other'],
    ['create', '', 'events', 'release'],
    ['create', 'coordination.k8s.io', 'leases', 'release'],
    ['get', 'coordination.k8s.io', 'leases', 'release', leaseName],
    ['update', 'coordination.k8s.io', 'leases', 'release', leaseName],
  ];

  const refused: Row[] = [
    ['delete', '', 'pods', 'other', 'some-pod'],
    ['create', '', 'pods', 'other'],
    ['get', '', 'pods/log', 'other', 'some-pod'],
    ['create', '', 'pods/exec', 'other', 'some-pod'],
    ['patch', '', 'pods/status', 'other', 'some-pod'],
    ['delete', '', 'namespaces', 'cluster', 'kube-system'],
    ['update', 'batch', 'jobs', 'other', 'backup'],
    ['delete', 'batch', 'jobs', 'other', 'backup'],
    ['patch', 'batch', 'cronjobs', 'other', 'nightly'],
    ['create', 'lethe.dev', 'metricsgroups', 'other'],
    ['update', 'lethe.dev', 'metricsgroups', 'other', 'contract'],
    ['patch', 'lethe.dev', 'metricsgroups', 'other', 'contract'],
    ['delete', 'lethe.dev', 'metricsgroups', 'other', 'contract'],
    ['update', 'lethe.dev', 'metricsgroups/status', 'other', 'contract'],
    ['list', '', 'secrets', 'cluster'],
    ['get', '', 'secrets', 'release', 'anything'],
    ['get', '', 'configmaps', 'release', 'anything'],
    ['create', '', 'serviceaccounts/token', 'release', 'default'],
    ['create', 'authorization.k8s.io', 'subjectaccessreviews', 'cluster'],
    ['list', '', 'events', 'other'],
    ['patch', '', 'events', 'other', 'e'],
    ['delete', '', 'events', 'other', 'e'],
    ['get', 'coordination.k8s.io', 'leases', 'release', 'someone-else'],
    ['update', 'coordination.k8s.io', 'leases', 'release', 'someone-else'],
    ['delete', 'coordination.k8s.io', 'leases', 'release', leaseName],
    ['list', 'coordination.k8s.io', 'leases', 'release'],
    ['create', 'coordination.k8s.io', 'leases', 'other'],
    ['get', 'coordination.k8s.io', 'leases', 'other', leaseName],
    ['list', '', 'nodes', 'cluster'],
    ['impersonate', '', 'users', 'cluster', 'admin'],
    ['bind', 'rbac.authorization.k8s.io', 'clusterroles', 'cluster', 'cluster-admin'],
    ['escalate', 'rbac.authorization.k8s.io', 'clusterroles', 'cluster', 'cluster-admin'],
    ['create', 'apiextensions.k8s.io', 'customresourcedefinitions', 'cluster'],
  ];

  const named = (rows: readonly Row[]): [string, Row][] =>
    rows.map((row) => {
      const [verb, group, resource, where, name] = row;
      const scope = where === 'cluster' ? 'cluster-wide' : where === 'release' ? "in Lethe's namespace" : 'in another namespace';
      return [`${verb} ${group === '' ? '' : `${group}/`}${resource}${name === undefined ? '' : ` ${name}`} ${scope}`, row];
    });

  test.each(named(used))('allowed: %s', async (_name, row) => {
    expect(await allowed(row)).toBe(true);
  });

  test.each(named(refused))('refused: %s', async (_name, row) => {
    expect(await allowed(row)).toBe(false);
  });

  test('kubectl auth can-i --list with the token shows those rules and no others', async () => {
    const rulesOf = async (path: string): Promise<string[]> => {
      const listed = await kubectl(['auth', 'can-i', '--list', '--namespace', namespace, '--no-headers'], path);
      expect({ code: listed.code, err: listed.stderr }).toEqual({ code: 0, err: '' });
      return listed.stdout
        .split('\n')
        .map((line) => line.trim().split(/\s+/).join(' '))
        .filter((line) => line !== '');
    };
    // What every ServiceAccount may do anyway (self reviews, discovery, ...), from a token of
    // the namespace's default ServiceAccount, which has no binding.
    const nobody = tokenKubeConfig(admin, await serviceAccountToken(admin, namespace), 'nobody');
    const baseline = new Set(await rulesOf(await writeKubeConfig(nobody, join(tmp, 'nobody.kubeconfig'))));
    const chart = (await rulesOf(kubeconfigPath)).filter((rule) => !baseline.has(rule)).sort();
    expect(chart).toEqual(
      [
        'events [] [] [create]',
        'tokenreviews.authentication.k8s.io [] [] [create]',
        'leases.coordination.k8s.io [] [] [create]',
        `leases.coordination.k8s.io [] [${leaseName}] [get update]`,
        'namespaces [] [] [get list watch]',
        'pods [] [] [get list watch]',
        'cronjobs.batch [] [] [get list watch]',
        'jobs.batch [] [] [get list watch]',
        'metricsgroups.lethe.dev [] [] [get list watch]',
        'metricsgroups.lethe.dev/status [] [] [patch]',
      ].sort(),
    );
  });

  test('Lethe with the chart ServiceAccount does its whole job and is refused nothing', async () => {
    const lethe = await startTestLethe(kubeconfigPath, ['--leader-election.enabled=true', `--leader-election.lease-name=${leaseName}`], { leaseNamespace: namespace });
    try {
      // Synced watches on every kind, healthy, and leading: list, watch and the Lease all work.
      await untilReady(lethe, 60_000);
      const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: leaseName, namespace });
      expect(lease.spec?.holderIdentity).toMatch(/^replica-/);

      // A push with a pod's ServiceAccount token: Lethe's TokenReview, then get on the pod and its Job.
      const job = await createJob(admin, other, jobBody('backup'));
      const pod = await podOfJob(admin, other, job, freshIp());
      await createMetricsGroup(admin, other, 'contract', { selector: { matchLabels: { job: 'contracted' } } });
      const token = await podToken(admin, other, pod);
      expect(await push(lethe.port, `backup/instance/${other}`, body(1), { token })).toBe(200);
      const group = await waitForGroup(lethe, other, (g) => g.owner?.kind === 'Job');
      expect(group.attribution).toMatchObject({ source: 'token', namespace: other, run: { kind: 'Job', name: 'backup' } });

      // A MetricsGroup's status is patched.
      expect(await push(lethe.port, `contracted/instance/${other}`, body(2), { token })).toBe(200);
      const status = await eventually(
        async () => {
          const mg = await readMetricsGroup(admin, other, 'contract');
          if (mg.status?.['groups'] !== 1) throw new Error('status not written yet');
          return mg.status;
        },
        { timeout: 30_000 },
      );
      expect(status).toMatchObject({ groups: 1 });

      // The Job goes: its group is deleted and an Event is created on it.
      await deleteJob(admin, other, 'backup');
      await eventually(async () => !hasSeries(await scrape(lethe.port), 'work_done', { job: 'backup', instance: other }), { timeout: 30_000 });
      expect(await waitForEvents(admin, other)).toEqual([['job-deleted', 'Job/backup', expect.stringContaining(`after Job ${other}/backup was deleted`)]]);
      // The command of docs/operations.md, "Why was my group deleted?", finds it.
      const events = await kubectl(['get', 'events', '--namespace', other, '--field-selector', 'source=lethe', '--output', 'json'], process.env['LETHE_TEST_KUBECONFIG'] ?? '');
      expect(events.code).toBe(0);
      const items = (JSON.parse(events.stdout) as { items: { reason: string; involvedObject: { kind: string; name: string } }[] }).items;
      expect(items.map((e) => [e.reason, `${e.involvedObject.kind}/${e.involvedObject.name}`])).toEqual([['job-deleted', 'Job/backup']]);

      // Not one request was refused along the way.
      const refusals = lethe.logs.filter((l) => JSON.stringify(l).includes('"code":403') || /forbidden/i.test(JSON.stringify(l)));
      expect(refusals).toEqual([]);
      const reportErrors = await lethe.registry.getSingleMetric('lethe_lifecycle_report_errors_total')?.get();
      expect((reportErrors?.values ?? []).reduce((sum, v) => sum + v.value, 0)).toBe(0);
      expect(lethe.loop.gates()).toEqual([]);
    } finally {
      await lethe.stop();
    }
  }, TIMEOUT);
});

describe('chart RBAC with two extra owner kinds: get, list and watch on exactly those', () => {
  let admin: KubeConfig;
  let asLethe: KubeConfig;
  let tmp: string;
  let kubeconfigPath: string;
  let namespace: string;
  let other: string;
  let objects: K8sObject[];
  const release = randomName('rbac-owners');

  beforeAll(async () => {
    admin = loadTestKubeConfig();
    await installFixtureCrds(admin, ['argo-workflows']);
    namespace = await createTestNamespace(admin, 'lethe-rbac-owners');
    other = await createTestNamespace(admin, 'lethe-rbac-owners-other');
    objects = await renderChart(release, namespace, ['--set', 'ownerKinds.runs={workflows.argoproj.io}', '--set', 'ownerKinds.schedules={cronworkflows.argoproj.io}']);
    for (const object of objects) await serverSideApply(admin, object);
    const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount');
    if (serviceAccount === undefined) throw new Error('the chart rendered no ServiceAccount');
    asLethe = tokenKubeConfig(admin, await serviceAccountToken(admin, namespace, { serviceAccount: serviceAccount.metadata.name }), 'lethe');
    tmp = await mkdtemp(join(tmpdir(), 'lethe-rbac-owners-'));
    kubeconfigPath = await writeKubeConfig(asLethe, join(tmp, 'lethe.kubeconfig'));
  }, 300_000);

  afterAll(async () => {
    await deleteObjects(admin, objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'));
    await deleteTestNamespace(admin, namespace);
    await deleteTestNamespace(admin, other);
    await rm(tmp, { recursive: true, force: true });
  }, TIMEOUT);

  async function allowed([verb, group, resource, where, name]: Row): Promise<boolean> {
    const [plural, subresource] = resource.split('/');
    const review = await asLethe.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb,
            group,
            resource: plural ?? resource,
            ...(subresource === undefined ? {} : { subresource }),
            ...(where === 'cluster' ? {} : { namespace: where === 'release' ? namespace : other }),
            ...(name === undefined ? {} : { name }),
          },
        },
      },
    });
    return review.status?.allowed === true;
  }

  const used: Row[] = [
    ['list', 'argoproj.io', 'workflows', 'cluster'],
    ['watch', 'argoproj.io', 'workflows', 'cluster'],
    ['get', 'argoproj.io', 'workflows', 'other', 'etl'],
    ['list', 'argoproj.io', 'cronworkflows', 'cluster'],
    ['watch', 'argoproj.io', 'cronworkflows', 'cluster'],
    ['get', 'argoproj.io', 'cronworkflows', 'other', 'nightly'],
  ];
  const refused: Row[] = [
    ['create', 'argoproj.io', 'workflows', 'other'],
    ['update', 'argoproj.io', 'workflows', 'other', 'etl'],
    ['patch', 'argoproj.io', 'workflows', 'other', 'etl'],
    ['delete', 'argoproj.io', 'workflows', 'other', 'etl'],
    ['deletecollection', 'argoproj.io', 'workflows', 'other'],
    ['update', 'argoproj.io', 'workflows/finalizers', 'other', 'etl'],
    ['patch', 'argoproj.io', 'cronworkflows', 'other', 'nightly'],
    ['list', 'argoproj.io', 'workflowtemplates', 'cluster'],
    ['list', 'argoproj.io', 'workflowtaskresults', 'cluster'],
    ['list', 'tekton.dev', 'pipelineruns', 'cluster'],
    ['list', 'jobset.x-k8s.io', 'jobsets', 'cluster'],
  ];
  const named = (rows: readonly Row[]): [string, Row][] => rows.map((row) => [`${row[0]} ${row[1]}/${row[2]}${row[4] === undefined ? '' : ` ${row[4]}`} ${row[3] === 'cluster' ? 'cluster-wide' : 'in another namespace'}`, row]);

  test.each(named(used))('allowed: %s', async (_name, row) => {
    expect(await allowed(row)).toBe(true);
  });

  test.each(named(refused))('refused: %s', async (_name, row) => {
    expect(await allowed(row)).toBe(false);
  });

  test('kubectl auth can-i --list shows the two rules beside the base ones', async () => {
    const listed = await kubectl(['auth', 'can-i', '--list', '--namespace', other, '--no-headers'], kubeconfigPath);
    expect({ code: listed.code, err: listed.stderr }).toEqual({ code: 0, err: '' });
    const rules = listed.stdout.split('\n').map((line) => line.trim().split(/\s+/).join(' '));
    expect(rules.filter((r) => r.includes('argoproj.io')).sort()).toEqual(['cronworkflows.argoproj.io [] [] [get list watch]', 'workflows.argoproj.io [] [] [get list watch]']);
  });

  test('Lethe with this ServiceAccount watches both kinds and is refused nothing', async () => {
    // One replica: the chart leaves leader election off (and grants no Lease).
    const lethe = await startTestLethe(kubeconfigPath, ['--leader-election.enabled=false', '--lifecycle.run-kinds=workflows.argoproj.io', '--lifecycle.schedule-kinds=cronworkflows.argoproj.io']);
    try {
      const kinds = lethe.kube?.ownerKinds;
      if (kinds === undefined) throw new Error('Lethe did not start in Kubernetes mode');
      await eventually(
        () => {
          const states = kinds.reports().map((r) => [r.name, r.state, r.synced]);
          expect(states).toEqual([
            ['workflows.argoproj.io', 'watching', true],
            ['cronworkflows.argoproj.io', 'watching', true],
          ]);
        },
        { timeout: 30_000 },
      );
      const refusals = lethe.logs.filter((l) => JSON.stringify(l).includes('"code":403') || /forbidden/i.test(JSON.stringify(l)));
      expect(refusals).toEqual([]);
    } finally {
      await lethe.stop();
    }
  }, TIMEOUT);
});
