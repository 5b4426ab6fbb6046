import { LocalGroupStore, type LocalStoreOptions } from '../../src/store/index.js';
import { FakeClock } from './builders.js';

/**
 * The file store as tests open it: in memory (no persistence file), consistency check on, a
 * FakeClock, no own metric names, room for 1,000 groups; `extra` changes any of it.
 */
export function localStoreOptions(extra: Partial<LocalStoreOptions> = {}): LocalStoreOptions {
  return { clock: new FakeClock(), ownType: () => undefined, consistencyCheck: true, maxGroups: 1000, persistenceFile: '', ...extra };
}

export function openLocalStore(extra: Partial<LocalStoreOptions> = {}): Promise<LocalGroupStore> {
  return LocalGroupStore.open(localStoreOptions(extra));
}
