/**
 * The reference tables of docs/, generated from their sources so they cannot drift: the flags
 * table (docs/configuration.md) from src/config/schema.ts (flagDocs), the Helm values table
 * (docs/install.md) from the chart's values.yaml (`# --` comments). docs-reference.test.ts
 * compares them with the pages; `UPDATE_DOCS=1` rewrites the pages between the markers instead.
 */
import { loadYaml } from '@kubernetes/client-node';

export interface FlagDoc {
  readonly description: string;
  readonly default: string;
}

/** Text between `<!-- name:begin -->` and `<!-- name:end -->` (exclusive), or undefined. */
export function section(text: string, name: string): string | undefined {
  const begin = `<!-- ${name}:begin -->\n`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) return undefined;
  return text.slice(from + begin.length, to);
}

/** `text` with the part between the `name` markers replaced; throws when `file` has no such markers. */
export function replaceSection(text: string, name: string, content: string, file: string): string {
  const begin = `<!-- ${name}:begin -->\n`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`${file} has no ${name} markers`);
  return text.slice(0, from + begin.length) + content + text.slice(to);
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function flagsTable(docs: Readonly<Record<string, FlagDoc>>): string {
  const rows = Object.entries(docs).map(([name, doc]) => `| \`--${name}\` |${doc.default === '' ? '' : ` \`${doc.default}\``} | ${cell(doc.description)} |`);
  return ['| flag | default | meaning |', '| --- | --- | --- |', ...rows, ''].join('\n');
}

export interface ValueDoc {
  /** Dotted path, e.g. `persistence.size`. */
  readonly key: string;
  readonly description: string;
  readonly default: unknown;
}

/**
 * The documented keys of a values.yaml: each key preceded by a `# -- text` comment (continued by
 * further `#` lines), in file order, with its default from the parsed file.
 */
export function documentedValues(valuesYaml: string): ValueDoc[] {
  const parsed: unknown = loadYaml(valuesYaml);
  const docs: ValueDoc[] = [];
  const stack: { indent: number; key: string }[] = [];
  let pending: string[] | undefined;
  for (const line of valuesYaml.split('\n')) {
    const comment = /^\s*#\s?(.*)$/.exec(line);
    if (comment !== null) {
      const text = comment[1] ?? '';
      if (text.startsWith('-- ')) pending = [text.slice(3).trim()];
      else if (pending !== undefined) pending.push(text.trim());
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_.-]+):(\s|$)/.exec(line);
    if (key === null) {
      if (line.trim() === '') pending = undefined;
      continue;
    }
    const indent = (key[1] ?? '').length;
    while (stack.length > 0 && (stack.at(-1)?.indent ?? -1) >= indent) stack.pop();
    stack.push({ indent, key: key[2] ?? '' });
    if (pending !== undefined) {
      const path = stack.map((s) => s.key);
      docs.push({ key: path.join('.'), description: pending.join(' '), default: valueAt(parsed, path) });
      pending = undefined;
    }
  }
  return docs;
}

export function valueAt(root: unknown, path: readonly string[]): unknown {
  let here: unknown = root;
  for (const key of path) {
    if (typeof here !== 'object' || here === null || !(key in here)) return undefined;
    here = (here as Record<string, unknown>)[key];
  }
  return here;
}

/** Every key path of a parsed YAML whose value is a scalar, a list or an empty map. */
export function leafPaths(value: unknown, prefix: readonly string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) return [[...prefix]];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

export function valuesTable(docs: readonly ValueDoc[]): string {
  const rows = docs.map((d) => `| \`${d.key}\` | \`${cell(JSON.stringify(d.default))}\` | ${cell(d.description)} |`);
  return ['| value | default | meaning |', '| --- | --- | --- |', ...rows, ''].join('\n');
}
