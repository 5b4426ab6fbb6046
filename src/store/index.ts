export type { GroupStore, PushRequest, PushResult, ScrapeFormat } from './group-store.js';
export { LocalGroupStore } from './local-store.js';
export type { ChangeMeta, LocalStoreOptions, StoreChange, StoreEvents } from './local-store.js';
export { readJournal } from './persistence.js';
