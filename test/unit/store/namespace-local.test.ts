import { LocalGroupStore } from '../../../src/store/index.js';
import { describeNamespaceContract } from './namespace-contract.js';

// The namespace guard and usage of the embedded store; the Redis backend runs the same rows in test/e2e.
describeNamespaceContract('LocalGroupStore', (options) => LocalGroupStore.open({ ...options, persistenceFile: '' }));
