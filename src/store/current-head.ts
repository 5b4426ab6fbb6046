/**
 * The head of a group record (persistence.ts) in the form this version writes, recognised by
 * hand. Start-up checks one head per group while its code is still cold, and the zod schema cost
 * about 9 µs a head then (90 ms of a restart with 10,000 groups); this check costs a tenth. It
 * is strict, a subset of the schema: a head it accepts is one the schema accepts and returns
 * unchanged (no older form to convert, no field it does not know). Everything else, older forms
 * included, goes to the schema, which has the last word (test/unit/store/current-head.test.ts
 * holds the two together).
 */

type Check = (value: unknown) => boolean;

const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number';
const bool: Check = (v) => typeof v === 'boolean';
const oneOf =
  (...values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v);

/** An object with these fields and no other (a name ending in `?`: the field may be absent). */
function exact(fields: Readonly<Record<string, Check>>): Check {
  const checks = new Map<string, Check>();
  const optional = new Set<string>();
  for (const [name, check] of Object.entries(fields)) {
    const field = name.endsWith('?') ? name.slice(0, -1) : name;
    checks.set(field, check);
    if (field !== name) optional.add(field);
  }
  // Keys are unique, so every required field is present when this many of them were seen.
  const required = checks.size - optional.size;
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    // Object.keys, not entries: no pair made per field (this runs once per group at start-up).
    let present = 0;
    for (const name of Object.keys(v)) {
      const check = checks.get(name);
      if (check === undefined || !check((v as Record<string, unknown>)[name])) return false;
      if (!optional.has(name)) present++;
    }
    return present === required;
  };
}

const ref = exact({ group: str, kind: str, name: str, uid: str });
const pair: Check = (v) => Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string';

const attribution = exact({
  source: oneOf('token', 'pod-ip', 'url-label', 'none'),
  'namespace?': str,
  'pod?': str,
  'podUid?': str,
  'user?': str,
  'namespaceUid?': str,
  'run?': ref,
  'schedule?': ref,
  'scheduleKey?': str,
  'chainIncomplete?': bool,
});

const policy = exact({
  source: oneOf('annotations', 'metricsgroup'),
  overrides: exact({
    'ttlMs?': num,
    'keepLast?': num,
    'maxGraceMs?': num,
    'deletionPolicy?': oneOf('Delete', 'Orphan'),
    'keepUntilSuperseded?': bool,
    'overdueAfterMs?': num,
  }),
  'invalid?': str,
});

const owner = exact({
  group: str,
  kind: str,
  namespace: str,
  name: str,
  uid: str,
  'schedule?': ref,
  'scheduleKey?': str,
  'resolvedFor?': num,
  'policy?': policy,
});

/** True when `value` is a group record's head as this version writes it (then the schema would return it as it is). */
export const isCurrentHead: Check = exact({
  t: (v) => v === 'g',
  k: (v) => Array.isArray(v) && v.every(pair),
  n: num,
  push: num,
  fail: num,
  attr: attribution,
  'owner?': owner,
});
