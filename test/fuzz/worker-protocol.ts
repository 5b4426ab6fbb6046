/**
 * What the fuzz runner and its worker threads say to each other, and the shared memory through
 * which a worker shows it is alive: a heartbeat counter per worker, and the latest input.
 */

/** The latest input a worker fed to the code under test, kept for a hang report (truncated). */
export const INPUT_SLOT_BYTES = 64 * 1024;

export interface WorkerData {
  readonly slot: number;
  readonly heartbeats: Int32Array;
  /** 4 bytes of length, then up to INPUT_SLOT_BYTES bytes. */
  readonly input: SharedArrayBuffer;
}

export interface ToWorker {
  readonly name: string;
  readonly runs: number;
  readonly seed: number;
}

export interface FromWorker {
  readonly name: string;
  readonly note?: string;
  readonly failure?: string;
}

const encoder = new TextEncoder();

/** Records an input into a worker's slot. */
export function recordInput(slot: SharedArrayBuffer, input: Uint8Array | string): void {
  const bytes = typeof input === 'string' ? encoder.encode(input.length > INPUT_SLOT_BYTES ? input.slice(0, INPUT_SLOT_BYTES) : input) : input;
  const view = new DataView(slot);
  const n = Math.min(bytes.length, INPUT_SLOT_BYTES);
  view.setUint32(0, bytes.length);
  new Uint8Array(slot, 4, n).set(bytes.subarray(0, n));
}

/** A recorded input, for a report: its length, then the first 2 KiB as an escaped string. */
export function describeInput(slot: SharedArrayBuffer): string {
  const length = new DataView(slot).getUint32(0);
  const shown = new Uint8Array(slot, 4, Math.min(length, 2048, INPUT_SLOT_BYTES));
  return `${length} bytes: ${JSON.stringify(Buffer.from(shown).toString('latin1'))}${length > shown.length ? ' …' : ''}`;
}
