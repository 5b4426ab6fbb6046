/**
 * The chart's authentication and TLS values: the flags it sets are ones Lethe accepts, the
 * Secrets are mounted so that changes reach Lethe (no subPath), probes and the ServiceMonitor
 * speak HTTPS, Prometheus gets its credentials, and the real ServiceMonitor CRD accepts it all.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/index.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { applyCrds, chartDir, helm, helmErrors, renderChart, repoRoot, serverSideApply, type K8sObject } from './deploy-support.js';

const TIMEOUT = 120_000;

const AUTH_VALUES = [
  '--set', 'auth.mode=kubernetes+static',
  '--set', 'auth.staticSecret.name=lethe-auth',
  '--set', 'tls.secretName=lethe-tls',
  '--set', 'flags.auth\\.read=authenticated',
  '--set', 'flags.auth\\.token-audience=lethe',
  '--set', 'flags.limits\\.namespace-groups=500',
  '--set', 'serviceMonitor.enabled=true',
  '--set', 'serviceMonitor.authorization.type=Bearer',
  '--set', 'serviceMonitor.authorization.credentials.name=lethe-scrape',
  '--set', 'serviceMonitor.authorization.credentials.key=token',
  '--set', 'serviceMonitor.tlsConfig.serverName=lethe.monitoring.svc',
  '--set', 'serviceMonitor.tlsConfig.ca.secret.name=lethe-tls',
  '--set', 'serviceMonitor.tlsConfig.ca.secret.key=ca.crt',
] as const;

const one = (objects: readonly K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};

describe('Helm chart: authentication and TLS', () => {
  let kc: KubeConfig;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    await applyCrds(kc, join(repoRoot, 'test', 'fixtures', 'crds'));
  }, TIMEOUT);

  test('the defaults add no authentication flag, mount or scheme', async () => {
    const objects = await renderChart('lethe', 'lethe', ['--set', 'serviceMonitor.enabled=true']);
    const container = (one(objects, 'Deployment') as V1Deployment).spec?.template.spec?.containers[0];
    expect((container?.args ?? []).filter((a) => a.startsWith('--auth') || a.startsWith('--web.tls'))).toEqual([]);
    expect(container?.readinessProbe?.httpGet?.scheme).toBeUndefined();
    expect(one(objects, 'ServiceMonitor')['spec']).not.toHaveProperty('endpoints.0.scheme');
  });

  test('auth and TLS values render as flags Lethe accepts, Secret mounts, HTTPS probes and an authenticated ServiceMonitor', async () => {
    const objects = await renderChart('lethe', 'lethe', [...AUTH_VALUES]);
    const deployment = one(objects, 'Deployment') as V1Deployment;
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    const loaded = loadConfig(container?.args ?? [], {});
    if (loaded.kind !== 'config') throw new Error('expected a config');
    expect(loaded.config.auth).toEqual({
      enabled: true,
      kubernetes: true,
      staticFile: '/etc/lethe/auth/auth.json',
      tokenAudiences: ['lethe'],
      cacheTtlMs: 60_000,
      kubernetesAdmins: [],
      read: 'authenticated',
    });
    expect(loaded.config.web.tls).toEqual({ certFile: '/etc/lethe/tls/tls.crt', keyFile: '/etc/lethe/tls/tls.key' });
    expect(loaded.config.limits.namespaceGroups).toBe(500);

    // Whole-Secret mounts: a subPath mount would never see the Secret change.
    expect(container?.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'auth', mountPath: '/etc/lethe/auth', readOnly: true },
        { name: 'tls', mountPath: '/etc/lethe/tls', readOnly: true },
      ]),
    );
    expect(pod?.volumes).toEqual(
      expect.arrayContaining([
        { name: 'auth', secret: { secretName: 'lethe-auth', defaultMode: 0o440 } },
        { name: 'tls', secret: { secretName: 'lethe-tls', defaultMode: 0o440 } },
      ]),
    );
    for (const probe of [container?.startupProbe, container?.livenessProbe, container?.readinessProbe]) expect(probe?.httpGet?.scheme).toBe('HTTPS');
    expect(one(objects, 'ServiceMonitor')['spec']).toMatchObject({
      endpoints: [
        {
          scheme: 'https',
          honorLabels: true,
          authorization: { type: 'Bearer', credentials: { name: 'lethe-scrape', key: 'token' } },
          tlsConfig: { serverName: 'lethe.monitoring.svc', ca: { secret: { name: 'lethe-tls', key: 'ca.crt' } } },
        },
      ],
    });
  });

  test.each([
    ['static mode without its Secret', ['--set', 'auth.mode=static'], /auth.mode static and kubernetes\+static need auth.staticSecret.name/],
    ['an unknown mode', ['--set', 'auth.mode=oidc'], /\/auth\/mode': value must be one of 'none', 'kubernetes', 'static', 'kubernetes\+static'/],
    ['auth.mode as a flag (the chart sets it)', ['--set', 'flags.auth\\.mode=static'], /additional properties 'auth.mode' not allowed/],
    ['an unknown read mode', ['--set', 'flags.auth\\.read=everyone'], /\/flags\/auth.read': value must be one of/],
  ])('refuses %s with a clear message', async (_name, args, message) => {
    const result = await helm(['template', 'lethe', chartDir, ...args]);
    expect(result.code).not.toBe(0);
    expect(helmErrors(result.stderr)).toMatch(message);
  });

  test('the API server and the real ServiceMonitor CRD accept the rendered Deployment and ServiceMonitor', async () => {
    const namespace = await createTestNamespace(kc, 'lethe-auth-chart');
    try {
      const objects = await renderChart(randomName('auth'), namespace, [...AUTH_VALUES]);
      for (const object of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'ServiceMonitor')) {
        const applied = await serverSideApply(kc, object);
        expect({ kind: applied.kind, name: applied.metadata.name }).toEqual({ kind: object.kind, name: object.metadata.name });
      }
    } finally {
      await deleteTestNamespace(kc, namespace);
    }
  }, TIMEOUT);
});
