import { describe, expect, test } from '@jest/globals';
import { ConfigError } from '../../../src/errors.js';
import { loadConfig, type Config } from '../../../src/config/index.js';

function load(argv: string[], env: Record<string, string> = {}): Config {
  const result = loadConfig(argv, env);
  if (result.kind !== 'config') throw new Error(`expected a config, got ${result.kind}`);
  return result.config;
}

describe('--lifecycle.run-kinds and --lifecycle.schedule-kinds', () => {
  test('are empty by default: only Jobs and CronJobs are owners', () => {
    expect(load([]).lifecycle).toMatchObject({ runKinds: [], scheduleKinds: [] });
  });

  test('take <resource>.<group> items, split at the first dot', () => {
    const c = load([
      '--lifecycle.run-kinds=workflows.argoproj.io, pipelineruns.tekton.dev,jobsets.jobset.x-k8s.io,',
      '--lifecycle.schedule-kinds=cronworkflows.argoproj.io',
    ]);
    expect(c.lifecycle.runKinds).toEqual([
      { resource: 'workflows', group: 'argoproj.io', name: 'workflows.argoproj.io' },
      { resource: 'pipelineruns', group: 'tekton.dev', name: 'pipelineruns.tekton.dev' },
      { resource: 'jobsets', group: 'jobset.x-k8s.io', name: 'jobsets.jobset.x-k8s.io' },
    ]);
    expect(c.lifecycle.scheduleKinds).toEqual([{ resource: 'cronworkflows', group: 'argoproj.io', name: 'cronworkflows.argoproj.io' }]);
  });

  test('come from the environment too', () => {
    const c = load([], { LETHE_LIFECYCLE_RUN_KINDS: 'rayjobs.ray.io', LETHE_LIFECYCLE_SCHEDULE_KINDS: 'scheduledsparkapplications.sparkoperator.k8s.io' });
    expect(c.lifecycle.runKinds.map((k) => k.name)).toEqual(['rayjobs.ray.io']);
    expect(c.lifecycle.scheduleKinds.map((k) => k.name)).toEqual(['scheduledsparkapplications.sparkoperator.k8s.io']);
  });

  test.each([
    ['a kind name', ['--lifecycle.run-kinds=Workflow'], /--lifecycle.run-kinds="Workflow": "Workflow" has no API group: name the resource with its group, e.g. workflows.argoproj.io/],
    ['upper case', ['--lifecycle.run-kinds=Workflows.argoproj.io'], /"Workflows.argoproj.io" is not <resource>.<group>: the plural resource and its API group in lower case/],
    ['a core resource', ['--lifecycle.run-kinds=pods'], /"pods" has no API group/],
    ['a version', ['--lifecycle.run-kinds=workflows.v1alpha1.argoproj.io'], /"workflows.v1alpha1.argoproj.io" names a version: leave it out \(workflows.argoproj.io\)/],
    ['Jobs', ['--lifecycle.run-kinds=jobs.batch'], /"jobs.batch" is built in: Jobs are always runs; leave it out/],
    ['CronJobs', ['--lifecycle.schedule-kinds=cronjobs.batch'], /--lifecycle.schedule-kinds="cronjobs.batch": "cronjobs.batch" is built in: CronJobs are always schedules/],
    ["Lethe's own kind", ['--lifecycle.run-kinds=metricsgroups.lethe.dev'], /"metricsgroups.lethe.dev" is Lethe's own kind/],
    ['a slash', ['--lifecycle.run-kinds=argoproj.io/workflows'], /"argoproj.io\/workflows" is not <resource>.<group>/],
    ['a repeated item', ['--lifecycle.run-kinds=workflows.argoproj.io,workflows.argoproj.io'], /"workflows.argoproj.io" is listed twice/],
    ['a kind in both lists', ['--lifecycle.run-kinds=cronworkflows.argoproj.io', '--lifecycle.schedule-kinds=cronworkflows.argoproj.io'], /--lifecycle.schedule-kinds: "cronworkflows.argoproj.io" is also in --lifecycle.run-kinds; a kind is either a run or a schedule/],
  ])('refuse %s with a ConfigError naming the value', (_name, argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(message);
  });

  test('every bad item is named at once', () => {
    expect(() => loadConfig(['--lifecycle.run-kinds=Workflow,workflows.argoproj.io,jobs.batch'], {})).toThrow(/"Workflow" has no API group[\s\S]*"jobs.batch" is built in/);
  });

  test('the status page shows the flags as given', () => {
    expect(load(['--lifecycle.run-kinds=workflows.argoproj.io']).flags['lifecycle.run-kinds']).toBe('workflows.argoproj.io');
  });
});
