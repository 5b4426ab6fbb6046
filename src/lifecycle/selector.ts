import type { GroupingKey } from '../model/index.js';
import type { GroupSelector, SelectorRequirement } from './cluster-snapshot.js';

/** Kubernetes `LabelSelector` semantics over a grouping key's labels. Pure. */

function requirementHolds(req: SelectorRequirement, value: string | undefined): boolean {
  switch (req.operator) {
    case 'In':
      return value !== undefined && req.values.includes(value);
    case 'NotIn':
      return value === undefined || !req.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    default: {
      const never: never = req.operator;
      return never;
    }
  }
}

/** The value of a key's label (a key has a handful: a walk beats building a map per match). */
function labelOf(key: GroupingKey, name: string): string | undefined {
  for (const l of key.labels) if (l.name === name) return l.value;
  return undefined;
}

/** True when every label and every requirement of the selector holds (an empty selector matches all). */
export function matchesSelector(selector: GroupSelector, key: GroupingKey): boolean {
  for (const name of Object.keys(selector.matchLabels)) {
    if (labelOf(key, name) !== selector.matchLabels[name]) return false;
  }
  return selector.matchExpressions.every((req) => requirementHolds(req, labelOf(key, req.key)));
}

/** How much a selector says: more terms win when several match the same group. */
export function specificity(selector: GroupSelector): number {
  return Object.keys(selector.matchLabels).length + selector.matchExpressions.length;
}
