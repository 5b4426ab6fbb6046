import { describeStoreContract } from '../../harness/store-contract.js';
import { openLocalStore } from '../../harness/stores.js';

// The embedded store, memory only (its persistence has its own tests in local-store.test.ts).
describeStoreContract('LocalGroupStore', (options) => openLocalStore(options));
