export type { GroupStore, PushRequest, PushResult, ScrapeFormat } from './group-store.js';
export { LocalGroupStore } from './local-store.js';
export type { LocalStoreOptions, StoreEvents } from './local-store.js';
export { readJournal } from './persistence.js';
