import type { ClusterSnapshot, CronJobInfo, JobInfo, MetricsGroupInfo } from './cluster-view.js';

/** PURE: look-ups over one cluster snapshot (by namespace, by name), built once per pass. */

/** Per-namespace indexes over one snapshot, built once per pass. */
export class SnapshotIndex {
  /** MetricsGroups whose selector can be read (an invalid spec still selects, and holds what it selects). */
  readonly metricsGroups = new Map<string, MetricsGroupInfo[]>();
  /** Namespaces with a MetricsGroup whose selector cannot be read: every group there is held. */
  readonly heldNamespaces = new Map<string, MetricsGroupInfo>();
  readonly claimingJobs = new Map<string, JobInfo[]>();
  readonly claimingCronJobs = new Map<string, CronJobInfo[]>();
  private jobsByName: Map<string, JobInfo> | undefined;
  private cronJobsByName: Map<string, CronJobInfo> | undefined;

  constructor(readonly snapshot: ClusterSnapshot) {
    const add = <T>(map: Map<string, T[]>, ns: string, item: T): void => {
      const list = map.get(ns);
      if (list === undefined) map.set(ns, [item]);
      else list.push(item);
    };
    for (const mg of snapshot.metricsGroups.values()) {
      if (mg.holdsNamespace === true) {
        if (!this.heldNamespaces.has(mg.namespace)) this.heldNamespaces.set(mg.namespace, mg);
      } else add(this.metricsGroups, mg.namespace, mg);
    }
    for (const job of snapshot.jobs.values()) if (job.claims.length > 0) add(this.claimingJobs, job.namespace, job);
    for (const cj of snapshot.cronJobs.values()) if (cj.claims.length > 0) add(this.claimingCronJobs, cj.namespace, cj);
  }

  /** The Job named so in `ns` (the first one, should the cache briefly hold two). */
  jobNamed(ns: string, name: string): JobInfo | undefined {
    this.jobsByName ??= byName(this.snapshot.jobs.values());
    return this.jobsByName.get(`${ns}/${name}`);
  }

  cronJobNamed(ns: string, name: string): CronJobInfo | undefined {
    this.cronJobsByName ??= byName(this.snapshot.cronJobs.values());
    return this.cronJobsByName.get(`${ns}/${name}`);
  }
}

/** Objects by `namespace/name`, the first one winning; built only when a MetricsGroup's spec.ownerRef asks. */
function byName<T extends { namespace: string; name: string }>(objects: Iterable<T>): Map<string, T> {
  const map = new Map<string, T>();
  for (const o of objects) {
    const id = `${o.namespace}/${o.name}`;
    if (!map.has(id)) map.set(id, o);
  }
  return map;
}
