/**
 * The extra owner kinds of --lifecycle.run-kinds and --lifecycle.schedule-kinds: each item is a
 * resource and its API group as kubectl and RBAC name them (`workflows.argoproj.io`). Lethe finds
 * the version, kind and scope through discovery; Jobs and CronJobs are always there.
 */

/** One configured owner kind, by resource and API group. */
export interface OwnerKindName {
  /** Plural resource name, e.g. `workflows`. */
  readonly resource: string;
  /** API group, e.g. `argoproj.io`. */
  readonly group: string;
  /** `resource.group`, as configured. */
  readonly name: string;
}

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const RESOURCE_GROUP = new RegExp(`^(${LABEL})\\.(${LABEL}(\\.${LABEL})*)$`);
/** The second segment looks like a version (`v1`, `v1alpha1`, `v2beta3`). */
const VERSION = /^v\d+((alpha|beta)\d+)?$/;

/** Kinds that are always watched, or are Lethe's own: listing them is a mistake worth naming. */
const BUILT_IN: Readonly<Record<string, string>> = {
  'jobs.batch': 'is built in: Jobs are always runs',
  'cronjobs.batch': 'is built in: CronJobs are always schedules',
  'metricsgroups.lethe.dev': "is Lethe's own kind, not a run or a schedule",
};

/**
 * Parses one item; returns the reason it is unusable as a string. The reason names the item and
 * says what to write instead, so a ConfigError built from it is enough to fix the flag.
 */
export function parseOwnerKindName(text: string): OwnerKindName | string {
  const quoted = JSON.stringify(text);
  const builtIn = BUILT_IN[text];
  if (builtIn !== undefined) return `${quoted} ${builtIn}; leave it out`;
  if (!text.includes('.')) return `${quoted} has no API group: name the resource with its group, e.g. workflows.argoproj.io`;
  const match = RESOURCE_GROUP.exec(text);
  if (match === null) {
    return `${quoted} is not <resource>.<group>: the plural resource and its API group in lower case, as kubectl names them, e.g. workflows.argoproj.io`;
  }
  const resource = match[1] ?? '';
  const group = match[3] ?? '';
  const [first, ...rest] = group.split('.');
  if (first !== undefined && VERSION.test(first) && rest.length > 0) {
    return `${quoted} names a version: leave it out (${resource}.${rest.join('.')}); Lethe finds the version through discovery`;
  }
  return { resource, group, name: `${resource}.${group}` };
}

/** Parses a whole list; problems come back one per bad item (and per repeated item). */
export function parseOwnerKindList(items: readonly string[]): { kinds: OwnerKindName[]; problems: string[] } {
  const kinds: OwnerKindName[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const parsed = parseOwnerKindName(item);
    if (typeof parsed === 'string') {
      problems.push(parsed);
      continue;
    }
    if (seen.has(parsed.name)) {
      problems.push(`${JSON.stringify(item)} is listed twice`);
      continue;
    }
    seen.add(parsed.name);
    kinds.push(parsed);
  }
  return { kinds, problems };
}
