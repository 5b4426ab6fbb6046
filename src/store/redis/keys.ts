/**
 * The Redis layout of the store. Every key starts with the configured prefix (default `lethe:`),
 * so several installations can share one Redis. Groups are identified by the canonical grouping
 * key id (`GroupingKey.id`).
 *
 *   <p>format                 string  layout version; start-up refuses any other
 *   <p>epoch                  string  random id written once; a new one means Redis lost the data
 *   <p>groups                 hash    groupId → JSON {k: [[name, value]…], attr}   (the group exists)
 *   <p>push, <p>fail         hash    groupId → Unix ms of the last push / failed push
 *   <p>owner                  hash    groupId → JSON OwnerRef
 *   <p>gen                    hash    groupId → push generation: the change number (seq) of the group's
 *                                     last push, accepted or refused; missing (data written before
 *                                     generations) counts as 0. Deletions compare it (compare-and-delete).
 *   <p>scraped                hash    groupId → "<push ms> <scraped at ms>": a scrape confirmed the push
 *                                     of that time; stale once the group's push time differs
 *   <p>fam:<groupId>          hash    family name → "<pushed at ms> <base64 delimited protobuf>"
 *   <p>idx:<groupId>          hash    family name → "<type> <series hashes, 32 hex each>"
 *   <p>nt:<name>              hash    type → number of groups with a family of that name and type
 *   <p>series                 hash    series hash → groupId that holds the series
 *   <p>seq                    string  number of the last change
 *   <p>log                    stream  every change, in order (n = seq); local views follow it
 *   <p>lease                  string  holder of the Redis lease (with a TTL)
 *
 * The consistency index (idx, nt, series) lives in Redis so that the check and the write are one
 * atomic script: two replicas taking conflicting pushes at the same moment cannot both win.
 */

export const FORMAT = 'lethe-redis 1';

export interface Keys {
  readonly prefix: string;
  readonly format: string;
  readonly epoch: string;
  readonly groups: string;
  readonly push: string;
  readonly fail: string;
  readonly owner: string;
  readonly gen: string;
  readonly scraped: string;
  readonly seq: string;
  readonly log: string;
  readonly lease: string;
  fam(groupId: string): string;
}

export function keysOf(prefix: string): Keys {
  return {
    prefix,
    format: `${prefix}format`,
    epoch: `${prefix}epoch`,
    groups: `${prefix}groups`,
    push: `${prefix}push`,
    fail: `${prefix}fail`,
    owner: `${prefix}owner`,
    gen: `${prefix}gen`,
    scraped: `${prefix}scraped`,
    seq: `${prefix}seq`,
    log: `${prefix}log`,
    lease: `${prefix}lease`,
    fam: (groupId) => `${prefix}fam:${groupId}`,
  };
}
