/**
 * The configuration reference in docs/ cannot drift from the code: the flags table
 * (docs/configuration.md) is flagDocs, the Helm values table (docs/install.md) is values.yaml,
 * the chart's schema names the same values and exactly the flags the chart leaves to the user,
 * and every annotation (docs/lifecycle.md) and MetricsGroup field (docs/metricsgroup.md) is
 * documented. Run with UPDATE_DOCS=1 to rewrite the generated tables in their pages.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { loadYaml } from '@kubernetes/client-node';
import { flagDocs } from '../../../src/config/index.js';
import { ANNOTATION } from '../../../src/kube/index.js';
import { documentedValues, flagsTable, leafPaths, replaceSection, section, valueAt, valuesTable } from './reference-docs.js';

const root = join(import.meta.dirname, '..', '..', '..');
/** The pages that hold generated tables or documented fields, relative to the repository. */
const DOCS = {
  flags: join('docs', 'configuration.md'),
  helmValues: join('docs', 'install.md'),
  lifecycle: join('docs', 'lifecycle.md'),
  metricsGroup: join('docs', 'metricsgroup.md'),
} as const;
const read = (page: string): string => readFileSync(join(root, page), 'utf8');
const chart = join(root, 'deploy', 'helm', 'lethe');
const valuesYaml = readFileSync(join(chart, 'values.yaml'), 'utf8');
const values: unknown = loadYaml(valuesYaml);
const schema: unknown = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
const update = process.env['UPDATE_DOCS'] === '1';

/** Flags the chart sets itself (from its own values), so `flags` may not. */
const CHART_FLAGS = [
  'web.listen-address',
  'persistence.file',
  'kubeconfig',
  'leader-election.enabled',
  'leader-election.lease-name',
  'leader-election.namespace',
  'leader-election.identity',
  'auth.mode',
  'auth.static-file',
  'web.tls.cert-file',
  'web.tls.key-file',
  'lifecycle.run-kinds',
  'lifecycle.schedule-kinds',
  'web.config.file',
];

/** The `name` block of `page` is `content`; with UPDATE_DOCS=1 it is made so. */
function generated(page: string, name: string, content: string): void {
  const text = read(page);
  if (update) {
    writeFileSync(join(root, page), replaceSection(text, name, content, page));
    return;
  }
  expect(section(text, name)).toBe(content);
}

interface SchemaNode {
  readonly type?: string | string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly description?: string;
  readonly additionalProperties?: boolean | SchemaNode;
}

function schemaAt(path: readonly string[]): SchemaNode | undefined {
  let node = schema as SchemaNode | undefined;
  for (const key of path) node = node?.properties?.[key];
  return node;
}

/**
 * Paths of the properties the schema declares, down to the documented values: an object value
 * such as `resources` or `flags` is one value, whatever the schema says of its inside.
 */
function schemaPaths(node: SchemaNode, documented: ReadonlySet<string>, prefix: readonly string[] = []): string[][] {
  const properties = node.properties;
  if (properties === undefined || documented.has(prefix.join('.'))) return [[...prefix]];
  return Object.entries(properties).flatMap(([k, v]) => schemaPaths(v, documented, [...prefix, k]));
}

describe('reference docs', () => {
  test('the flags table is generated from src/config/schema.ts', () => {
    generated(DOCS.flags, 'flags', flagsTable(flagDocs));
  });

  test('the Helm values table is generated from values.yaml', () => {
    generated(DOCS.helmValues, 'helm-values', valuesTable(documentedValues(valuesYaml)));
  });

  test('every value in values.yaml is documented, on itself or on a parent', () => {
    const documented = documentedValues(valuesYaml).map((d) => d.key);
    const undocumented = leafPaths(values)
      .map((p) => p.join('.'))
      .filter((leaf) => !documented.some((d) => leaf === d || leaf.startsWith(`${d}.`)));
    expect(undocumented).toEqual([]);
  });

  test('values.yaml and values.schema.json declare the same values', () => {
    const inValues = documentedValues(valuesYaml).map((d) => d.key).sort();
    const inSchema = schemaPaths(schema as SchemaNode, new Set(inValues)).map((p) => p.join('.')).sort();
    expect(inSchema).toEqual(inValues);
  });

  test("the schema's flags are Lethe's flags minus those the chart sets, with Lethe's descriptions and types", () => {
    const flags = schemaAt(['flags']);
    expect(flags?.additionalProperties).toBe(false);
    const expected = Object.keys(flagDocs).filter((f) => !CHART_FLAGS.includes(f)).sort();
    expect(Object.keys(flags?.properties ?? {}).sort()).toEqual(expected);
    for (const [name, doc] of Object.entries(flagDocs)) {
      const property = flags?.properties?.[name];
      if (property === undefined) continue;
      expect({ name, description: property.description }).toEqual({ name, description: doc.description });
      if ('boolean' in doc && doc.boolean === true) expect({ name, type: property.type }).toEqual({ name, type: 'boolean' });
    }
    // The chart's own flags exist in Lethe (a renamed flag would break the Deployment).
    for (const name of CHART_FLAGS) expect({ name, known: name in flagDocs }).toEqual({ name, known: true });
  });

  test('the defaults in values.yaml are what the values table shows', () => {
    for (const doc of documentedValues(valuesYaml)) expect(doc.default).toEqual(valueAt(values, doc.key.split('.')));
  });

  test('every lethe.dev annotation is in the annotations table', () => {
    const page = read(DOCS.lifecycle);
    const from = page.indexOf('\n## Annotations on Jobs and CronJobs\n');
    expect(from).toBeGreaterThan(-1);
    const next = page.indexOf('\n## ', from + 1);
    const table = page.slice(from, next === -1 ? undefined : next);
    for (const annotation of Object.values(ANNOTATION)) expect({ annotation, documented: table.includes(`| \`${annotation}\` |`) }).toEqual({ annotation, documented: true });
  });

  test('every MetricsGroup spec field of the CRD is documented', () => {
    const text = read(DOCS.metricsGroup);
    const crd = loadYaml(readFileSync(join(root, 'crds', 'metricsgroups.lethe.dev.yaml'), 'utf8'));
    const spec = valueAt(crd, ['spec', 'versions']) as { schema: { openAPIV3Schema: SchemaNode } }[];
    const fields = spec[0]?.schema.openAPIV3Schema.properties?.['spec']?.properties ?? {};
    expect(Object.keys(fields).length).toBeGreaterThan(0);
    for (const [field, node] of Object.entries(fields)) {
      expect({ field, documented: text.includes(`\`${field}\``) || text.includes(`\`${field}.`) }).toEqual({ field, documented: true });
      for (const child of Object.keys(node.properties ?? {})) {
        const shown = text.includes(`\`${field}.${child}\``) || new RegExp(`\\b${child}:`).test(text);
        expect({ field: `${field}.${child}`, documented: shown }).toEqual({ field: `${field}.${child}`, documented: true });
      }
    }
  });
});
