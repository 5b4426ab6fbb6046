import { describe, expect, test } from '@jest/globals';
import { decide, type ClusterSnapshot } from '../../../src/lifecycle/index.js';
import { defaultPolicy, mergePolicy, type GroupView, type PolicyOverrides } from '../../../src/model/index.js';
import {
  MIN,
  NS,
  T0,
  attributed,
  cronJob,
  fromJob,
  group,
  job,
  metricsGroup,
  namespace,
  ownedBy,
  ownerRef,
  pushedAt,
  refTo,
  runOf,
  selector,
  snapshot,
  summarize,
  unattributedGroup,
  unscraped,
} from './builders.js';

interface Row {
  groups: GroupView[];
  snap: ClusterSnapshot;
  defaults?: PolicyOverrides;
  now?: number;
  expected: string[];
}

function run(row: Row): string[] {
  const now = row.now ?? T0;
  const plan = decide({ groups: row.groups, snapshot: row.snap, defaults: mergePolicy(defaultPolicy, row.defaults), now });
  return plan.decisions.map((d) => summarize(d, now));
}

const jobOwner = (name: string, cronJobName?: string, resolvedFor = T0 - MIN) =>
  ownerRef('Job', name, { resolvedFor, ...(cronJobName === undefined ? {} : { schedule: refTo('CronJob', cronJobName) }) });

const rows: Record<string, Row> = {
  // Unowned groups: only the default policy applies.
  'an unattributed group is unowned and kept': {
    groups: [group('adhoc', '', unattributedGroup)],
    snap: snapshot(),
    expected: ['adhoc: keep (owner unowned)'],
  },
  'an unattributed group expires by the default ttl': {
    groups: [group('adhoc', '', unattributedGroup, pushedAt(T0 - 61 * MIN))],
    snap: snapshot(),
    defaults: { ttlMs: 60 * MIN },
    expected: ['adhoc: delete ttl-expired on - (owner unowned)'],
  },
  'an unattributed group within the default ttl is looked at again when it runs out': {
    groups: [group('adhoc', '', unattributedGroup)],
    snap: snapshot(),
    defaults: { ttlMs: 60 * MIN },
    expected: ['adhoc: keep (owner unowned) at +3540s'],
  },
  'a group attributed only to a namespace is owned by the namespace': {
    groups: [group('adhoc')],
    snap: snapshot(),
    expected: ['adhoc: keep (owner Namespace/team-a, changed)'],
  },

  // Namespaces.
  'namespace deleted: its groups go': {
    groups: [group('adhoc', '', ownedBy(ownerRef('Namespace', NS)))],
    snap: snapshot({ namespaces: [] }),
    expected: ['adhoc: delete namespace-deleted on Namespace/team-a gone Namespace/team-a (owner Namespace/team-a)'],
  },
  'namespace terminating: its groups go, whatever their owner': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ namespaces: [namespace(NS, (n) => ({ ...n, terminating: true }))], jobs: [job('b-1')] }),
    expected: ['backup: delete namespace-deleted on Namespace/team-a gone Namespace/team-a (owner Job/b-1)'],
  },
  'namespace recreated under the same name is a new namespace: the old groups go': {
    groups: [group('adhoc', '', ownedBy(ownerRef('Namespace', NS)))],
    snap: snapshot({ namespaces: [namespace(NS, (n) => ({ ...n, uid: 'another-uid' }))] }),
    expected: ['adhoc: delete namespace-deleted on Namespace/team-a gone Namespace/team-a (owner Namespace/team-a)'],
  },
  'namespace deletion ignores deletionPolicy Orphan': {
    groups: [group('adhoc', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ namespaces: [], tombstones: [{ ref: ownerRef('MetricsGroup', 'mg'), policy: { deletionPolicy: 'Orphan' } }] }),
    expected: ['adhoc: delete namespace-deleted on Namespace/team-a gone Namespace/team-a (owner MetricsGroup/mg, changed)'],
  },

  'a namespace that never existed (a static token\'s) is not a deleted namespace: the group stays': {
    groups: [group('ci', '', attributed({ source: 'token', namespace: 'never-created', user: 'static:ci' }))],
    snap: snapshot(),
    expected: ['ci: keep (owner unowned)'],
  },
  'a namespace known by UID: gone is deleted': {
    groups: [group('ci', '', attributed({ source: 'token', namespace: NS, namespaceUid: 'ns-uid-a', user: 'static:ci' }))],
    snap: snapshot({ namespaces: [] }),
    expected: ['ci: delete namespace-deleted on Namespace/team-a gone Namespace/team-a (owner Namespace/team-a, changed)'],
  },
  'a namespace whose UID the group never learnt, gone while its Job owner lived there: deleted': {
    groups: [group('backup', '', attributed({ source: 'pod-ip', namespace: NS, run: refTo('Job', 'b-1') }), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ namespaces: [] }),
    expected: ['backup: delete namespace-deleted on Namespace/team-a gone Namespace/team-a (owner Job/b-1)'],
  },

  // Bare Jobs.
  'a push from a bare Job pod is owned by the Job': {
    groups: [group('backup', '', fromJob('b-1'))],
    snap: snapshot({ jobs: [job('b-1')] }),
    expected: ['backup: keep (owner Job/b-1, changed)'],
  },
  'bare Job deleted: its groups go': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot(),
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1)'],
  },
  'bare Job deleted before its pod was ever resolved: the owner comes from the push attribution': {
    groups: [group('backup', '', fromJob('b-1'))],
    snap: snapshot(),
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1, changed)'],
  },
  'bare Job deleted, last push not scraped yet: deletion waits for the scrape, at most max grace after the push': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')), unscraped)],
    snap: snapshot(),
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1) at +240s'],
  },
  'bare Job deleted, last push never scraped and max grace over: deletion is due': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1', undefined, T0 - 10 * MIN)), unscraped, pushedAt(T0 - 10 * MIN))],
    snap: snapshot(),
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1)'],
  },
  'max grace from the MetricsGroup spec bounds the wait': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })), unscraped)],
    snap: snapshot({ tombstones: [{ ref: ownerRef('MetricsGroup', 'mg'), policy: { maxGraceMs: 2 * MIN } }] }),
    expected: ['backup: delete metricsgroup-deleted on MetricsGroup/mg gone MetricsGroup/mg (owner MetricsGroup/mg, changed) at +60s'],
  },
  'bare Job deleted with deletion policy Orphan: the group stays, owned by its namespace': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ tombstones: [{ ref: ownerRef('Job', 'b-1'), policy: { deletionPolicy: 'Orphan' } }] }),
    expected: ['backup: keep orphaned from Job/b-1 (owner Namespace/team-a, changed)'],
  },
  'an orphaned group stays with its namespace until its next push': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(ownerRef('Namespace', NS, { resolvedFor: T0 - MIN })))],
    snap: snapshot({ jobs: [job('b-1')] }),
    expected: ['backup: keep (owner Namespace/team-a)'],
  },
  'Job recreated under the same name is a new owner: the old one is gone': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ jobs: [job('b-1', (j) => ({ ...j, uid: 'b-1-new-uid' }))] }),
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1)'],
  },

  // CronJob runs.
  'CronJob run deleted with no newer run: the last run stays': {
    groups: [group('report', '/run/1', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report')))],
    snap: snapshot({ cronJobs: [cronJob('report')] }),
    expected: ['report run=1: keep (owner Job/r-1)'],
  },
  'CronJob run deleted after a newer run pushed under another key: superseded': {
    groups: [
      group('report', '/run/1', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report')), pushedAt(T0 - 120 * MIN)),
      group('report', '/run/2', fromJob('r-2', 'report'), ownedBy(jobOwner('r-2', 'report'))),
    ],
    snap: snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-2', runOf('report'))] }),
    expected: [
      'report run=1: delete cronjob-run-superseded on CronJob/report gone Job/r-1 (owner Job/r-1)',
      'report run=2: keep (owner Job/r-2)',
    ],
  },
  'CronJob runs pushing the same key: the group follows the newest run': {
    groups: [group('report', '', fromJob('r-2', 'report'), ownedBy(jobOwner('r-1', 'report', T0 - 61 * MIN)))],
    snap: snapshot({ cronJobs: [cronJob('report')], jobs: [job('r-2', runOf('report'))] }),
    expected: ['report: keep (owner Job/r-2, changed)'],
  },
  'an older push of the same run does not supersede': {
    groups: [
      group('report', '/run/1', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report'))),
      group('report', '/run/1b', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report')), pushedAt(T0 - 2 * MIN)),
    ],
    snap: snapshot({ cronJobs: [cronJob('report')] }),
    expected: ['report run=1: keep (owner Job/r-1)', 'report run=1b: keep (owner Job/r-1)'],
  },
  'keepUntilSuperseded off: a CronJob run goes with its Job': {
    groups: [group('report', '/run/1', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report')))],
    snap: snapshot({ cronJobs: [cronJob('report', (c) => ({ ...c, policy: { keepUntilSuperseded: false } }))] }),
    expected: ['report run=1: delete job-deleted on Job/r-1 gone Job/r-1 (owner Job/r-1, changed)'],
  },
  'CronJob deleted: the groups of its runs go, even while a run is still there': {
    groups: [group('report', '', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report')))],
    snap: snapshot({ jobs: [job('r-1', runOf('report'))] }),
    expected: ['report: delete cronjob-deleted on CronJob/report gone CronJob/report (owner Job/r-1)'],
  },
  'CronJob deleted with deletion policy Orphan from its tombstone: orphaned': {
    groups: [group('report', '', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report')))],
    snap: snapshot({ tombstones: [{ ref: ownerRef('CronJob', 'report'), policy: { deletionPolicy: 'Orphan' } }] }),
    expected: ['report: keep orphaned from CronJob/report (owner Namespace/team-a, changed)'],
  },

  // Annotations claiming a grouping key.
  'a Job claiming the key by annotation owns a group pushed from elsewhere in its namespace': {
    groups: [group('backup')],
    snap: snapshot({ jobs: [job('b-1', (j) => ({ ...j, claims: [selector({ job: 'backup' })] }))] }),
    expected: ['backup: keep (owner Job/b-1, changed)'],
  },
  'a claim does not reach into another namespace': {
    groups: [group('backup')],
    snap: snapshot({ jobs: [job('b-1', (j) => ({ ...j, namespace: 'other', claims: [selector({ job: 'backup' })] }))] }),
    expected: ['backup: keep (owner Namespace/team-a, changed)'],
  },
  'a claiming CronJob owns the group of a push from elsewhere': {
    groups: [group('backup')],
    snap: snapshot({ cronJobs: [cronJob('nightly', (c) => ({ ...c, claims: [selector({ job: 'backup' })] }))] }),
    expected: ['backup: keep (owner CronJob/nightly, changed)'],
  },
  'a claiming CronJob keeps run rules for pushes of its own runs': {
    groups: [group('backup', '', fromJob('n-1', 'nightly'))],
    snap: snapshot({ cronJobs: [cronJob('nightly', (c) => ({ ...c, claims: [selector({ job: 'backup' })] }))], jobs: [job('n-1', runOf('nightly'))] }),
    expected: ['backup: keep (owner Job/n-1, changed)'],
  },
  'a claim wins over the controller chain': {
    groups: [group('backup', '', fromJob('other-job'))],
    snap: snapshot({ jobs: [job('other-job'), job('b-1', (j) => ({ ...j, claims: [selector({ job: 'backup' })] }))] }),
    expected: ['backup: keep (owner Job/b-1, changed)'],
  },

  // MetricsGroups.
  'a matching MetricsGroup wins over claims and the chain': {
    groups: [group('backup', '', fromJob('b-1'))],
    snap: snapshot({
      jobs: [job('b-1', (j) => ({ ...j, claims: [selector({ job: 'backup' })] }))],
      metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'backup' }) }))],
    }),
    expected: ['backup: keep (owner MetricsGroup/mg, changed)'],
  },
  'the most specific MetricsGroup wins': {
    groups: [group('backup', '/env/prod')],
    snap: snapshot({
      metricsGroups: [
        metricsGroup('broad', (m) => ({ ...m, selector: selector({ job: 'backup' }) })),
        metricsGroup('narrow', (m) => ({ ...m, selector: selector({ job: 'backup' }, [{ key: 'env', operator: 'In', values: ['prod'] }]) })),
      ],
    }),
    expected: ['backup env=prod: keep (owner MetricsGroup/narrow, changed)'],
  },
  'a MetricsGroup in another namespace does not match': {
    groups: [group('backup')],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, namespace: 'other' }))] }),
    expected: ['backup: keep (owner Namespace/team-a, changed)'],
  },
  'an invalid MetricsGroup still selects its groups, and holds them': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')), pushedAt(T0 - 30 * MIN))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'backup' }), invalid: 'spec.ttl="7 days": not a duration' }))] }),
    defaults: { ttlMs: 10 * MIN },
    expected: ['backup: keep (owner MetricsGroup/mg, changed)'],
  },
  'an invalid MetricsGroup deleted: its groups are orphaned, not deleted': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ tombstones: [{ ref: ownerRef('MetricsGroup', 'mg'), policy: { deletionPolicy: 'Delete' }, invalid: 'spec.keepLast=-1: too small' }] }),
    expected: ['backup: keep orphaned from MetricsGroup/mg (owner Namespace/team-a, changed)'],
  },
  'a MetricsGroup whose selector cannot be read holds every group of its namespace': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, invalid: 'spec.selector=null: expected an object', holdsNamespace: true }))] }),
    expected: ['backup: keep orphaned from Job/b-1 (owner Namespace/team-a, changed)'],
  },
  'a MetricsGroup whose selector cannot be read holds nothing in other namespaces': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, namespace: 'other', invalid: 'spec.selector=null: expected an object', holdsNamespace: true }))] }),
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1)'],
  },

  // Invalid annotations: never more destructive by mistake.
  'a Job whose deletion-policy annotation cannot be read is deleted: its groups are orphaned, not deleted': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ tombstones: [{ ref: ownerRef('Job', 'b-1'), policy: {}, invalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan' }] }),
    expected: ['backup: keep orphaned from Job/b-1 (owner Namespace/team-a, changed)'],
  },
  'an invalid CronJob annotation holds its runs\' groups: no flag ttl, no keepLast': {
    groups: [
      group('report', '/run/1', fromJob('r-1', 'report'), ownedBy(jobOwner('r-1', 'report', T0 - 30 * MIN)), pushedAt(T0 - 30 * MIN)),
      group('report', '/run/2', fromJob('r-2', 'report'), ownedBy(jobOwner('r-2', 'report'))),
    ],
    snap: snapshot({
      cronJobs: [cronJob('report', (c) => ({ ...c, policy: { keepLast: 1 }, invalid: 'lethe.dev/ttl="2 days": expected a duration such as 30m or 24h' }))],
      jobs: [job('r-1', runOf('report')), job('r-2', runOf('report'))],
    }),
    defaults: { ttlMs: 10 * MIN },
    expected: ['report run=1: keep (owner Job/r-1, changed)', 'report run=2: keep (owner Job/r-2, changed)'],
  },
  'an annotation fixed: the hold ends': {
    groups: [
      group(
        'backup',
        '',
        fromJob('b-1'),
        ownedBy(jobOwner('b-1', undefined, T0 - 30 * MIN)),
        ownedBy({ ...jobOwner('b-1', undefined, T0 - 30 * MIN), policy: { source: 'annotations', overrides: {}, invalid: 'lethe.dev/ttl="x": expected a duration' } }),
        pushedAt(T0 - 30 * MIN),
      ),
    ],
    snap: snapshot({ jobs: [job('b-1', (j) => ({ ...j, policy: { ttlMs: 20 * MIN } }))] }),
    expected: ['backup: delete ttl-expired on Job/b-1 (owner Job/b-1, changed)'],
  },

  // The policy stored with the group (level-triggered: a restart decides the same way).
  'a Job gone and forgotten (a restart): the Orphan stored with its group applies': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy({ ...jobOwner('b-1'), policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan' } } }))],
    snap: snapshot(),
    expected: ['backup: keep orphaned from Job/b-1 (owner Namespace/team-a, changed)'],
  },
  'a Job gone and forgotten whose stored policy was invalid: held, orphaned': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy({ ...jobOwner('b-1'), policy: { source: 'annotations', overrides: {}, invalid: 'lethe.dev/deletion-policy="orphan": expected Delete or Orphan' } }))],
    snap: snapshot(),
    expected: ['backup: keep orphaned from Job/b-1 (owner Namespace/team-a, changed)'],
  },
  'a MetricsGroup gone and forgotten: its stored ttl and grace still apply': {
    groups: [group('backup', '', unscraped, ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN, policy: { source: 'metricsgroup', overrides: { maxGraceMs: 2 * MIN } } })))],
    snap: snapshot(),
    expected: ['backup: delete metricsgroup-deleted on MetricsGroup/mg gone MetricsGroup/mg (owner MetricsGroup/mg) at +60s'],
  },
  'a CronJob gone and forgotten while its run is still there: the stored Orphan applies': {
    groups: [group('report', '', fromJob('r-1', 'report'), ownedBy({ ...jobOwner('r-1', 'report'), policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan' } } }))],
    snap: snapshot({ jobs: [job('r-1', runOf('report'))] }),
    expected: ['report: keep orphaned from CronJob/report (owner Namespace/team-a, changed)'],
  },
  'while the objects are there, they win over the stored policy (an annotation removed)': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy({ ...jobOwner('b-1'), policy: { source: 'annotations', overrides: { deletionPolicy: 'Orphan' } } }))],
    snap: snapshot({ jobs: [job('b-1')] }),
    expected: ['backup: keep (owner Job/b-1, changed)'],
  },
  'a stored policy that still holds is not written again': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy({ ...jobOwner('b-1'), policy: { source: 'annotations', overrides: { ttlMs: 60 * MIN } } }))],
    snap: snapshot({ jobs: [job('b-1', (j) => ({ ...j, policy: { ttlMs: 60 * MIN } }))] }),
    expected: ['backup: keep (owner Job/b-1) at +3540s'],
  },
  'a new MetricsGroup adopts a group owned by a Job': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1')))],
    snap: snapshot({ jobs: [job('b-1')], metricsGroups: [metricsGroup('mg')] }),
    expected: ['backup: keep (owner MetricsGroup/mg, changed)'],
  },
  'MetricsGroup deleted (Delete): its groups go': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot(),
    expected: ['backup: delete metricsgroup-deleted on MetricsGroup/mg gone MetricsGroup/mg (owner MetricsGroup/mg)'],
  },
  'MetricsGroup deleted (Orphan): its groups stay with the namespace': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ tombstones: [{ ref: ownerRef('MetricsGroup', 'mg'), policy: { deletionPolicy: 'Orphan' } }] }),
    expected: ['backup: keep orphaned from MetricsGroup/mg (owner Namespace/team-a, changed)'],
  },
  'MetricsGroup recreated under the same name: the old one\'s groups go, not adopted': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, uid: 'mg-new-uid' }))] }),
    expected: ['backup: delete metricsgroup-deleted on MetricsGroup/mg gone MetricsGroup/mg (owner MetricsGroup/mg)'],
  },
  'a MetricsGroup whose selector no longer matches lets its groups go to the next owner': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ jobs: [job('b-1')], metricsGroups: [metricsGroup('mg', (m) => ({ ...m, selector: selector({ job: 'other' }) }))] }),
    expected: ['backup: keep (owner Job/b-1, changed)'],
  },
  'a MetricsGroup ownerRef to a CronJob that is gone: the groups go': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, ownerRef: { group: 'batch', kind: 'CronJob', name: 'nightly' } }))] }),
    expected: ['backup: delete cronjob-deleted on CronJob/nightly gone CronJob/nightly (owner MetricsGroup/mg)'],
  },
  'a MetricsGroup ownerRef to a CronJob that is there: kept': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ cronJobs: [cronJob('nightly')], metricsGroups: [metricsGroup('mg', (m) => ({ ...m, ownerRef: { group: 'batch', kind: 'CronJob', name: 'nightly' } }))] }),
    expected: ['backup: keep (owner MetricsGroup/mg)'],
  },
  'a MetricsGroup ownerRef to a Job that is there: kept': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({ jobs: [job('other'), job('migrate')], metricsGroups: [metricsGroup('mg', (m) => ({ ...m, ownerRef: { group: 'batch', kind: 'Job', name: 'migrate' } }))] }),
    expected: ['backup: keep (owner MetricsGroup/mg)'],
  },
  'a MetricsGroup ownerRef to a Job: one of that name in another namespace does not count': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })))],
    snap: snapshot({
      jobs: [job('migrate', (j) => ({ ...j, namespace: 'team-b' }))],
      metricsGroups: [metricsGroup('mg', (m) => ({ ...m, ownerRef: { group: 'batch', kind: 'Job', name: 'migrate' } }))],
    }),
    expected: ['backup: delete job-deleted on Job/migrate gone Job/migrate (owner MetricsGroup/mg)'],
  },

  // ttl and keepLast, and precedence flag < annotation < MetricsGroup.
  'ttl from a Job annotation': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1', undefined, T0 - 30 * MIN)), pushedAt(T0 - 30 * MIN))],
    snap: snapshot({ jobs: [job('b-1', (j) => ({ ...j, policy: { ttlMs: 20 * MIN } }))] }),
    expected: ['backup: delete ttl-expired on Job/b-1 (owner Job/b-1, changed)'],
  },
  'a Job annotation wins over its CronJob annotation, which wins over the flag': {
    groups: [group('backup', '', fromJob('b-1', 'nightly'), ownedBy(jobOwner('b-1', 'nightly', T0 - 30 * MIN)), pushedAt(T0 - 30 * MIN))],
    snap: snapshot({
      cronJobs: [cronJob('nightly', (c) => ({ ...c, policy: { ttlMs: 10 * MIN } }))],
      jobs: [job('b-1', runOf('nightly'), (j) => ({ ...j, policy: { ttlMs: 40 * MIN } }))],
    }),
    defaults: { ttlMs: 5 * MIN },
    expected: ['backup: keep (owner Job/b-1, changed) at +600s'],
  },
  'a MetricsGroup spec ttl of 0 turns off the flag ttl': {
    groups: [group('backup', '', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - 90 * MIN })), pushedAt(T0 - 90 * MIN))],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, policy: { ttlMs: 0 } }))] }),
    defaults: { ttlMs: 60 * MIN },
    expected: ['backup: keep (owner MetricsGroup/mg, changed)'],
  },
  'keepLast: only the newest N groups of an owner stay': {
    groups: [
      group('scan', '/run/1', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - 3 * MIN })), pushedAt(T0 - 3 * MIN)),
      group('scan', '/run/2', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - 2 * MIN })), pushedAt(T0 - 2 * MIN)),
      group('scan', '/run/3', ownedBy(ownerRef('MetricsGroup', 'mg', { resolvedFor: T0 - MIN })), pushedAt(T0 - MIN)),
    ],
    snap: snapshot({ metricsGroups: [metricsGroup('mg', (m) => ({ ...m, policy: { keepLast: 2 } }))] }),
    expected: [
      'scan run=1: delete keep-last-exceeded on MetricsGroup/mg (owner MetricsGroup/mg, changed)',
      'scan run=2: keep (owner MetricsGroup/mg, changed)',
      'scan run=3: keep (owner MetricsGroup/mg, changed)',
    ],
  },
  'keepLast counts the runs of one CronJob together': {
    groups: [
      group('scan', '/run/1', fromJob('s-1', 'scan'), ownedBy(jobOwner('s-1', 'scan', T0 - 3 * MIN)), pushedAt(T0 - 3 * MIN)),
      group('scan', '/run/2', fromJob('s-2', 'scan'), ownedBy(jobOwner('s-2', 'scan', T0 - 2 * MIN)), pushedAt(T0 - 2 * MIN)),
    ],
    snap: snapshot({ cronJobs: [cronJob('scan', (c) => ({ ...c, policy: { keepLast: 1 } }))], jobs: [job('s-1', runOf('scan')), job('s-2', runOf('scan'))] }),
    expected: ['scan run=1: delete keep-last-exceeded on CronJob/scan (owner Job/s-1, changed)', 'scan run=2: keep (owner Job/s-2, changed)'],
  },
  'keepLast never applies to groups owned only by a namespace': {
    groups: [
      group('a', '', ownedBy(ownerRef('Namespace', NS, { resolvedFor: T0 - 2 * MIN })), pushedAt(T0 - 2 * MIN)),
      group('b', '', ownedBy(ownerRef('Namespace', NS, { resolvedFor: T0 - MIN }))),
    ],
    snap: snapshot(),
    defaults: { keepLast: 1 },
    expected: ['a: keep (owner Namespace/team-a)', 'b: keep (owner Namespace/team-a)'],
  },
  'owner deletion comes before ttl in the chain': {
    groups: [group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1', undefined, T0 - 90 * MIN)), pushedAt(T0 - 90 * MIN))],
    snap: snapshot(),
    defaults: { ttlMs: 60 * MIN },
    expected: ['backup: delete job-deleted on Job/b-1 gone Job/b-1 (owner Job/b-1)'],
  },

  // Owner resolution over time.
  'a stored owner stays while no newer push came, even when the attribution lost its chain': {
    groups: [group('backup', '', ownedBy(jobOwner('b-1')))],
    snap: snapshot({ jobs: [job('b-1')] }),
    expected: ['backup: keep (owner Job/b-1)'],
  },
  'a stored owner without a resolution time (older store) stays': {
    groups: [group('backup', '', ownedBy(ownerRef('Job', 'b-1')))],
    snap: snapshot({ jobs: [job('b-1')] }),
    expected: ['backup: keep (owner Job/b-1)'],
  },
  'a newer push from another pod resolves the owner again': {
    groups: [group('backup', '', attributed({ source: 'pod-ip', namespace: NS, namespaceUid: 'ns-uid-a' }), ownedBy(jobOwner('b-1', undefined, T0 - 5 * MIN)))],
    snap: snapshot({ jobs: [job('b-1')] }),
    expected: ['backup: keep (owner Namespace/team-a, changed)'],
  },
};

describe('decide', () => {
  test.each(Object.entries(rows))('%s', (_name, row) => {
    expect(run(row)).toEqual(row.expected);
  });
});

/**
 * Every combination of the policies that apply to one CronJob run whose Job is gone or not:
 * deletion policy × keepUntilSuperseded × a newer run × ttl (none, running, expired) × keepLast
 * (none, within, exceeded) × scraped or not. The expected outcome follows the chain's order.
 */
describe('decide: every combination of policies for a CronJob run', () => {
  const combos: [boolean, 'Delete' | 'Orphan', boolean, boolean, 'none' | 'running' | 'expired', 'none' | 'within' | 'exceeded', boolean][] = [];
  for (const jobPresent of [true, false])
    for (const deletionPolicy of ['Delete', 'Orphan'] as const)
      for (const keepUntilSuperseded of [true, false])
        for (const newerRun of [true, false])
          for (const ttl of ['none', 'running', 'expired'] as const)
            for (const keepLast of ['none', 'within', 'exceeded'] as const)
              for (const scraped of [true, false]) combos.push([jobPresent, deletionPolicy, keepUntilSuperseded, newerRun, ttl, keepLast, scraped]);

  test.each(combos)(
    'Job present %p, %s, keepUntilSuperseded %p, newer run %p, ttl %s, keepLast %s, scraped %p',
    (jobPresent, deletionPolicy, keepUntilSuperseded, newerRun, ttl, keepLast, scraped) => {
      const at = T0 - 30 * MIN;
      const policy: PolicyOverrides = {
        deletionPolicy,
        keepUntilSuperseded,
        ttlMs: ttl === 'none' ? 0 : ttl === 'running' ? 60 * MIN : 20 * MIN,
        keepLast: keepLast === 'none' ? 0 : keepLast === 'within' ? 2 : 1,
      };
      const mine = group('scan', '/run/1', fromJob('s-1', 'scan'), ownedBy(jobOwner('s-1', 'scan', at)), pushedAt(at), ...(scraped ? [] : [unscraped]));
      const newer = group('scan', '/run/2', fromJob('s-2', 'scan'), ownedBy(jobOwner('s-2', 'scan', T0 - MIN)), pushedAt(T0 - MIN));
      const jobs = [...(jobPresent ? [job('s-1', runOf('scan'))] : []), job('s-2', runOf('scan'))];
      const groups = newerRun ? [mine, newer] : [mine];
      const plan = decide({
        groups,
        snapshot: snapshot({ cronJobs: [cronJob('scan', (c) => ({ ...c, policy }))], jobs }),
        defaults: defaultPolicy,
        now: T0,
      });
      const d = plan.decisions[0]!;

      let expected: string;
      if (!jobPresent && (!keepUntilSuperseded || newerRun)) {
        expected = deletionPolicy === 'Orphan' ? 'orphan' : keepUntilSuperseded ? 'cronjob-run-superseded' : 'job-deleted';
      } else if (ttl === 'expired') expected = 'ttl-expired';
      else if (keepLast === 'exceeded' && newerRun) expected = 'keep-last-exceeded';
      else expected = 'keep';

      const actual = d.action === 'delete' ? d.reason : d.orphanedFrom !== undefined ? 'orphan' : 'keep';
      expect(actual).toBe(expected);
      if (d.action === 'delete') {
        // Grace: the push at T0-30m is past max grace (5m), so even unscraped it is due now.
        expect(d.notBefore).toBeUndefined();
      } else if (ttl === 'running' && expected === 'keep') {
        expect(d.notBefore).toBe(at + 60 * MIN);
      }
    },
  );
});

describe('decide: insight for people', () => {
  test('policy source, owner alive, next deletion', () => {
    const groups = [
      group('backup', '', fromJob('b-1'), ownedBy(jobOwner('b-1'))),
      group('gone', '', fromJob('g-1'), ownedBy(jobOwner('g-1')), unscraped),
      group('plain', '', unattributedGroup),
    ];
    const plan = decide({
      groups,
      snapshot: snapshot({ jobs: [job('b-1', (j) => ({ ...j, policy: { ttlMs: 60 * MIN } }))] }),
      defaults: defaultPolicy,
      now: T0,
    });
    const [backup, gone, plain] = groups.map((g) => plan.insights.get(g.key.id));
    expect(backup).toMatchObject({ policySource: 'annotations', ownerAlive: true, nextDeletion: { reason: 'ttl-expired', at: T0 + 59 * MIN } });
    expect(gone).toMatchObject({ policySource: 'flags', ownerAlive: false, nextDeletion: { reason: 'job-deleted', at: T0 + 4 * MIN } });
    expect(plain).toEqual({ policy: defaultPolicy, policySource: 'flags' });
  });
});
