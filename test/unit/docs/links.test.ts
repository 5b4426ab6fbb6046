/**
 * The documentation holds together: every relative link in README.md and docs/ names a file of
 * the repository and, with a `#fragment`, a heading of that file (anchors made as a git forge
 * makes them); every page of docs/ starts with its title and one line saying what it covers,
 * and README links to every page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, test } from '@jest/globals';

const root = join(import.meta.dirname, '..', '..', '..');
const docs = readdirSync(join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => join('docs', f));
const pages = ['README.md', ...docs];
const read = (page: string): string => readFileSync(join(root, page), 'utf8');

/** Lines outside fenced code blocks (``` or ~~~), with their line numbers. */
function prose(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence === undefined) out.push({ line: i + 1, text: line });
  });
  return out;
}

/** A heading's anchor as GitHub and GitLab make it: lower case, punctuation dropped, spaces to `-`. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim();
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings; a repeated heading gets `-1`, `-2`, … */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of prose(read(page))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

interface Link {
  readonly page: string;
  readonly line: number;
  readonly target: string;
}

/** Inline links and images outside code: `[text](target)` and `![alt](target)`. */
function links(page: string): Link[] {
  const lines = prose(read(page));
  // Code spans may wrap; blank them out (keeping line breaks) so that no link is seen inside one.
  const text = lines.map((l) => l.text).join('\n').replace(/(`+)[\s\S]*?\1/g, (span) => span.replace(/[^\n]/g, ' '));
  const out: Link[] = [];
  for (const match of text.matchAll(/\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const index = text.slice(0, match.index).split('\n').length - 1;
    out.push({ page, line: lines[index]?.line ?? 0, target: match[1] ?? '' });
  }
  return out;
}

/** Why a relative link does not resolve, or undefined when it does (absolute URLs are not checked). */
function broken(link: Link): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith('//')) return undefined;
  const [path = '', fragment] = link.target.split('#', 2);
  const file = path === '' ? link.page : normalize(join(dirname(link.page), decodeURIComponent(path)));
  if (file.startsWith('..') || relative(root, join(root, file)).startsWith('..')) return `${file} is outside the repository`;
  if (!existsSync(join(root, file))) return `${file} does not exist`;
  if (fragment === undefined || fragment === '') return undefined;
  if (!file.endsWith('.md')) return `#${fragment} on a file that is not markdown`;
  return anchors(file).has(decodeURIComponent(fragment)) ? undefined : `${file} has no heading #${fragment}`;
}

describe('documentation', () => {
  test('anchors are made as a git forge makes them', () => {
    expect(slug('A real node (`make test-node`)')).toBe('a-real-node-make-test-node');
    expect(slug('Why was my group deleted?')).toBe('why-was-my-group-deleted');
    expect(slug("Lethe's own metrics")).toBe('lethes-own-metrics');
    expect(slug('Kubernetes: policies, missing pieces, permissions')).toBe('kubernetes-policies-missing-pieces-permissions');
    expect(slug('MultiKueue and `spec.managedBy`')).toBe('multikueue-and-specmanagedby');
  });

  test('the checker sees links, and not those inside code', () => {
    expect(links('README.md').length).toBeGreaterThan(10);
    const inCode = pages.flatMap(links).filter((l) => l.target.includes('`'));
    expect(inCode).toEqual([]);
  });

  test.each(pages)('every relative link of %s resolves, anchors included', (page) => {
    const problems = links(page)
      .map((l) => ({ at: `${l.page}:${l.line}`, target: l.target, problem: broken(l) }))
      .filter((p) => p.problem !== undefined);
    expect(problems).toEqual([]);
  });

  test.each(docs)('%s starts with its title and one line saying what it covers', (page) => {
    const [title = '', blank, line = ''] = read(page).split('\n');
    expect({ page, title: /^# \S/.test(title), blank, line: /^(?!```|[-*] |\d+\. )[^\s#|>]/.test(line) }).toEqual({ page, title: true, blank: '', line: true });
  });

  test('README links every page of docs/', () => {
    const linked = new Set(links('README.md').map((l) => normalize(l.target.split('#')[0] ?? '')));
    expect(docs.filter((d) => !linked.has(d))).toEqual([]);
  });
});
