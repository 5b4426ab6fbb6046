import { afterAll, beforeAll } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNamespaceContract } from '../../harness/namespace-contract.js';
import { describeStoreContract } from '../../harness/store-contract.js';
import { openLocalStore } from '../../harness/stores.js';

// The embedded store with a persistence file: every write goes through the journal and the
// read barrier, and must behave exactly as the memory-only store does.
let dir = '';
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lethe-file-contract-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const fresh = (): string => join(dir, `store-${++files}.data`);

describeStoreContract('LocalGroupStore with a persistence file', (options) => openLocalStore({ ...options, persistenceFile: fresh() }));
describeNamespaceContract('LocalGroupStore with a persistence file', (options) => openLocalStore({ ...options, persistenceFile: fresh() }));
