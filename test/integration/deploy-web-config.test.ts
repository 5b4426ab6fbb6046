/**
 * The chart's webConfig and ServiceMonitor scrape values: a Pushgateway's web-config Secret is
 * mounted whole and handed to --web.config.file, probes and the ServiceMonitor follow it
 * (HTTPS, or TCP when client certificates are required), the ServiceMonitor carries the
 * protocol and native-histogram fields, and the API server and the real ServiceMonitor CRD
 * (prometheus-operator v0.93) accept what is rendered.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { KubeConfig, V1Deployment } from '@kubernetes/client-node';
import { loadConfig } from '../../src/config/index.js';
import { createTestNamespace, deleteTestNamespace, loadTestKubeConfig, randomName } from '../harness/kube.js';
import { applyCrds, chartDir, helm, helmErrors, renderChart, repoRoot, serverSideApply, type K8sObject } from './deploy-support.js';

const TIMEOUT = 120_000;

const WEB_VALUES = [
  '--set', 'webConfig.existingSecret=pushgateway-web-config',
  '--set', 'webConfig.https=true',
  '--set', 'serviceMonitor.enabled=true',
  '--set', 'serviceMonitor.basicAuth.username.name=lethe-scrape',
  '--set', 'serviceMonitor.basicAuth.username.key=user',
  '--set', 'serviceMonitor.basicAuth.password.name=lethe-scrape',
  '--set', 'serviceMonitor.basicAuth.password.key=password',
  '--set', 'serviceMonitor.tlsConfig.ca.secret.name=pushgateway-web-config',
  '--set', 'serviceMonitor.tlsConfig.ca.secret.key=ca.crt',
  '--set', 'serviceMonitor.scrapeProtocols={OpenMetricsText1.0.0,PrometheusProto,PrometheusText0.0.4}',
  '--set', 'serviceMonitor.fallbackScrapeProtocol=PrometheusText0.0.4',
  '--set', 'serviceMonitor.scrapeNativeHistograms=true',
  '--set', 'serviceMonitor.scrapeClassicHistograms=false',
  '--set', 'serviceMonitor.nativeHistogramBucketLimit=160',
  '--set-string', 'serviceMonitor.nativeHistogramMinBucketFactor=1.1',
] as const;

const one = (objects: readonly K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};

describe('Helm chart: webConfig and the ServiceMonitor scrape settings', () => {
  let kc: KubeConfig;

  beforeAll(async () => {
    kc = loadTestKubeConfig();
    await applyCrds(kc, join(repoRoot, 'test', 'fixtures', 'crds'));
  }, TIMEOUT);

  test('the defaults render no web configuration and no scrape settings', async () => {
    const objects = await renderChart('lethe', 'lethe', ['--set', 'serviceMonitor.enabled=true']);
    const container = (one(objects, 'Deployment') as V1Deployment).spec?.template.spec?.containers[0];
    expect((container?.args ?? []).filter((a) => a.startsWith('--web.config'))).toEqual([]);
    const spec = one(objects, 'ServiceMonitor')['spec'];
    for (const field of ['scrapeProtocols', 'fallbackScrapeProtocol', 'scrapeNativeHistograms', 'scrapeClassicHistograms', 'nativeHistogramBucketLimit', 'nativeHistogramMinBucketFactor']) {
      expect(spec).not.toHaveProperty(field);
    }
  });

  test('webConfig: the Secret mounted whole, --web.config.file that Lethe accepts, HTTPS probes and scrape', async () => {
    const objects = await renderChart('lethe', 'lethe', [...WEB_VALUES]);
    const pod = (one(objects, 'Deployment') as V1Deployment).spec?.template.spec;
    const container = pod?.containers[0];
    const loaded = loadConfig(container?.args ?? [], {});
    if (loaded.kind !== 'config') throw new Error('expected a config');
    expect(loaded.config.web.configFile).toBe('/etc/lethe/web-config/web-config.yml');
    expect(loaded.config.web.tls).toBeUndefined();
    // A whole-Secret mount (no subPath): the file and the certificates it names change together.
    expect(container?.volumeMounts).toEqual(expect.arrayContaining([{ name: 'web-config', mountPath: '/etc/lethe/web-config', readOnly: true }]));
    expect(pod?.volumes).toEqual(expect.arrayContaining([{ name: 'web-config', secret: { secretName: 'pushgateway-web-config', defaultMode: 0o440 } }]));
    for (const probe of [container?.startupProbe, container?.livenessProbe, container?.readinessProbe]) expect(probe?.httpGet?.scheme).toBe('HTTPS');
    expect(one(objects, 'ServiceMonitor')['spec']).toMatchObject({
      scrapeProtocols: ['OpenMetricsText1.0.0', 'PrometheusProto', 'PrometheusText0.0.4'],
      fallbackScrapeProtocol: 'PrometheusText0.0.4',
      scrapeNativeHistograms: true,
      scrapeClassicHistograms: false,
      nativeHistogramBucketLimit: 160,
      nativeHistogramMinBucketFactor: '1.1',
      endpoints: [
        {
          scheme: 'https',
          honorLabels: true,
          basicAuth: { username: { name: 'lethe-scrape', key: 'user' }, password: { name: 'lethe-scrape', key: 'password' } },
          tlsConfig: { ca: { secret: { name: 'pushgateway-web-config', key: 'ca.crt' } } },
        },
      ],
    });
  });

  test('tcpProbes: probes that need no client certificate', async () => {
    const objects = await renderChart('lethe', 'lethe', ['--set', 'webConfig.existingSecret=w', '--set', 'webConfig.tcpProbes=true']);
    const container = (one(objects, 'Deployment') as V1Deployment).spec?.template.spec?.containers[0];
    for (const probe of [container?.startupProbe, container?.livenessProbe, container?.readinessProbe]) {
      expect([probe?.tcpSocket?.port, probe?.httpGet]).toEqual(['http', undefined]);
    }
  });

  test.each([
    ['webConfig together with tls.secretName', ['--set', 'webConfig.existingSecret=w', '--set', 'tls.secretName=t'], /tls.secretName and webConfig.existingSecret both configure TLS/],
    ['a scrape protocol Prometheus does not know', ['--set', 'serviceMonitor.enabled=true', '--set', 'serviceMonitor.scrapeProtocols={OpenMetricsText2.0.0}'], /scrapeProtocols\/0': value must be one of/],
    ['a fallback protocol Prometheus does not know', ['--set', 'serviceMonitor.fallbackScrapeProtocol=JSON'], /fallbackScrapeProtocol/],
    ['--web.config.file as a flag (the chart sets it)', ['--set', 'flags.web\\.config\\.file=/x'], /additional properties 'web.config.file' not allowed/],
  ])('refuses %s with a clear message', async (_name, args, message) => {
    const result = await helm(['template', 'lethe', chartDir, ...args]);
    expect(result.code).not.toBe(0);
    expect(helmErrors(result.stderr)).toMatch(message);
  });

  test('the API server and the real ServiceMonitor CRD accept the rendered Deployment and ServiceMonitor', async () => {
    const namespace = await createTestNamespace(kc, 'lethe-web-chart');
    try {
      const objects = await renderChart(randomName('web'), namespace, [...WEB_VALUES]);
      for (const object of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'ServiceMonitor')) {
        const applied = await serverSideApply(kc, object);
        expect({ kind: applied.kind, name: applied.metadata.name }).toEqual({ kind: object.kind, name: object.metadata.name });
        if (object.kind === 'ServiceMonitor') expect(applied['spec']).toMatchObject({ scrapeProtocols: ['OpenMetricsText1.0.0', 'PrometheusProto', 'PrometheusText0.0.4'], nativeHistogramMinBucketFactor: '1.1' });
      }
    } finally {
      await deleteTestNamespace(kc, namespace);
    }
  }, TIMEOUT);
});
