import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Attribution, GroupingKey, OwnerRef, StoredFamily } from '../../model/index.js';
import { mergePushed } from '../push-semantics.js';
import type { StoreChange } from '../store-change.js';
import { entriesSchema, parseEntry, parseFamilyValue, parseGroupValue, parseMillis, parseOwner, parseScrapeMark, type LogEntry } from './codec.js';
import type { Keys } from './keys.js';

/**
 * Reads the whole store from Redis for a resync (feed.ts): a snapshot in chunks, each chunk one
 * MULTI, from a known log position, then the log from that position replayed over it, as one
 * image per group.
 */

export interface Image {
  key: GroupingKey;
  attribution: Attribution;
  lastPushAt: number;
  lastFailureAt: number;
  owner: OwnerRef | undefined;
  generation: number;
  scrapedAt: number | undefined;
  families: Map<string, StoredFamily>;
}

const CHUNK = 200;
/** The HMGETs that open each snapshot chunk's transaction (groups, push, fail, owner, gen, scraped). */
const HEADS = 6;
const hmgetSchema = z.array(z.string().nullable());
const hgetallSchema = z.array(z.string());

/** A snapshot plus the log since it began, as group images; undefined when the log was trimmed meanwhile. */
export async function readSnapshot(client: Redis, keys: Keys): Promise<{ images: Map<string, Image>; lastId: string; n: number } | undefined> {
  const head = entriesSchema.parse(await client.call('XREVRANGE', keys.log, '+', '-', 'COUNT', '1'));
  let lastId = '0-0';
  let n: number;
  const newest = head[0];
  if (newest === undefined) {
    const seq = await client.call('GET', keys.seq);
    n = typeof seq === 'string' ? parseMillis(seq, 'change number') : 0;
  } else {
    lastId = newest[0];
    n = parseEntry(newest[0], newest[1]).n;
  }
  const images = new Map<string, Image>();
  const groupIds = hgetallSchema.parse(await client.call('HKEYS', keys.groups));
  for (let i = 0; i < groupIds.length; i += CHUNK) {
    const chunk = groupIds.slice(i, i + CHUNK);
    const multi = client.multi();
    multi.call('HMGET', keys.groups, ...chunk);
    multi.call('HMGET', keys.push, ...chunk);
    multi.call('HMGET', keys.fail, ...chunk);
    multi.call('HMGET', keys.owner, ...chunk);
    multi.call('HMGET', keys.gen, ...chunk);
    multi.call('HMGET', keys.scraped, ...chunk);
    for (const groupId of chunk) multi.call('HGETALL', keys.fam(groupId));
    const results = await multi.exec();
    if (results === null) throw new Error('snapshot transaction was aborted');
    const values = results.map(([err, value]) => {
      if (err !== null) throw err;
      return value;
    });
    const [groups, push, fail, owner, gen, scraped] = values.slice(0, HEADS).map((v) => hmgetSchema.parse(v));
    chunk.forEach((groupId, j) => {
      const groupText = groups?.[j];
      if (groupText === undefined || groupText === null) return; // deleted meanwhile
      const { key, attribution } = parseGroupValue(groupText);
      const families = new Map<string, StoredFamily>();
      const fam = hgetallSchema.parse(values[HEADS + j]);
      for (let f = 0; f + 1 < fam.length; f += 2) {
        const stored = parseFamilyValue(fam[f + 1] ?? '');
        families.set(stored.family.name, stored);
      }
      const pushText = push?.[j] ?? '0';
      images.set(groupId, {
        key,
        attribution,
        lastPushAt: parseMillis(pushText, 'push time'),
        lastFailureAt: parseMillis(fail?.[j] ?? '0', 'failure time'),
        owner: parseOwner(owner?.[j] ?? ''),
        generation: parseMillis(gen?.[j] ?? '0', 'generation'),
        scrapedAt: parseScrapeMark(scraped?.[j], pushText),
        families,
      });
    });
  }
  // Replay what changed since the snapshot began: applying a change again is harmless, and the
  // result is the state as of the last entry read.
  for (;;) {
    const entries = entriesSchema.parse(await client.call('XRANGE', keys.log, `(${lastId}`, '+', 'COUNT', '1000'));
    for (const [id, fields] of entries) {
      const entry: LogEntry = parseEntry(id, fields);
      if (entry.n !== n + 1) return undefined;
      applyToImages(images, entry.change);
      lastId = id;
      n = entry.n;
    }
    if (entries.length < 1000) return { images, lastId, n };
  }
}

function applyToImages(images: Map<string, Image>, change: StoreChange): void {
  const groupId = change.key.id;
  if (change.op === 'delete') {
    images.delete(groupId);
    return;
  }
  const { meta } = change;
  let image = images.get(groupId);
  if (image === undefined) {
    image = {
      key: change.key,
      attribution: meta.attribution,
      lastPushAt: 0,
      lastFailureAt: 0,
      owner: undefined,
      generation: 0,
      scrapedAt: undefined,
      families: new Map(),
    };
    images.set(groupId, image);
  }
  image.attribution = meta.attribution;
  image.lastPushAt = meta.lastPushAt;
  image.lastFailureAt = meta.lastFailureAt;
  image.owner = meta.owner;
  image.generation = meta.generation ?? image.generation;
  image.scrapedAt = meta.scrapedAt;
  if (change.op === 'push') {
    image.families = mergePushed(
      change.method,
      image.families,
      change.families.map((stored) => [stored.family.name, stored] as const),
    ).next;
  }
}
