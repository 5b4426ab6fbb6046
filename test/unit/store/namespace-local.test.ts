import { describeNamespaceContract } from '../../harness/namespace-contract.js';
import { openLocalStore } from '../../harness/stores.js';

// The namespace guard and usage of the embedded store; the Redis backend runs the same rows in test/e2e.
describeNamespaceContract('LocalGroupStore', (options) => openLocalStore(options));
