/** A fuzz worker thread: runs the properties the runner sends, one at a time. */

import { parentPort, workerData } from 'node:worker_threads';
import { allProperties } from './properties.js';
import { recordInput, type FromWorker, type ToWorker, type WorkerData } from './worker-protocol.js';

const { slot, heartbeats, input } = workerData as WorkerData;
const probe = {
  tick(data: Uint8Array | string): void {
    recordInput(input, data);
    Atomics.add(heartbeats, slot, 1);
  },
};

parentPort?.on('message', (m: ToWorker) => {
  const property = allProperties.find((p) => p.name === m.name);
  const reply = (r: FromWorker): void => parentPort?.postMessage(r);
  if (property === undefined) {
    reply({ name: m.name, failure: 'no such property' });
    return;
  }
  property.run({ runs: m.runs, seed: m.seed, probe }).then(
    (note) => reply(typeof note === 'string' ? { name: m.name, note } : { name: m.name }),
    (err: unknown) => reply({ name: m.name, failure: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
