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

/** True when every label and every requirement of the selector holds (an empty selector matches all). */
export function matchesSelector(selector: GroupSelector, key: GroupingKey): boolean {
  const labels = new Map(key.labels.map((l) => [l.name, l.value]));
  for (const [name, value] of Object.entries(selector.matchLabels)) {
    if (labels.get(name) !== value) return false;
  }
  return selector.matchExpressions.every((req) => requirementHolds(req, labels.get(req.key)));
}

/** How much a selector says: more terms win when several match the same group. */
export function specificity(selector: GroupSelector): number {
  return Object.keys(selector.matchLabels).length + selector.matchExpressions.length;
}
