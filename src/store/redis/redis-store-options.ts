import type { Leadership } from '../../leadership/index.js';
import type { Clock } from '../../model/index.js';
import type { OwnTypeLookup } from '../consistency.js';
import type { StoreEvents } from '../local-store-options.js';
import type { FeedEvents } from './feed.js';

export interface RedisStoreEvents extends StoreEvents, FeedEvents {
  readonly onConnection?: (connected: boolean, err: unknown) => void;
}

export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Connect and command timeout (ms); a push that Redis has not answered by then gets 503. */
  readonly timeoutMs: number;
  /** With > 0, a write is acknowledged only after that many Redis replicas have it (WAIT). */
  readonly minReplicas: number;
  readonly clock: Clock;
  readonly ownType: OwnTypeLookup;
  readonly consistencyCheck: boolean;
  readonly maxGroups: number;
  /** Pushed groups are served on /metrics while this replica leads; absent: always (a single replica). */
  readonly leadership?: Leadership;
  /** Entries kept in the change log (approximately); a replica further behind resyncs. */
  readonly logLength?: number;
  readonly events?: RedisStoreEvents;
}
