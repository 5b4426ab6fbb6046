import { LocalGroupStore } from '../../../src/store/index.js';
import { describeStoreContract } from './contract.js';

// The embedded store, memory only (its persistence has its own tests in local-store.test.ts).
describeStoreContract('LocalGroupStore', (options) => LocalGroupStore.open({ ...options, persistenceFile: '' }));
