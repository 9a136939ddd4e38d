/** Tracked receipts (as a client worker's `take` hands them over) built from plain records, for the bench judges' tests. */
import type { TrackedReceipts } from '../../bench/worker-protocol.js';

export interface Receipt {
  readonly key: string;
  readonly id: string;
  readonly channel: string;
  readonly seq: number;
  readonly time: number;
}

export function tracked(receipts: readonly Receipt[]): TrackedReceipts {
  return {
    keys: receipts.map((r) => r.key),
    ids: receipts.map((r) => r.id),
    channels: receipts.map((r) => r.channel),
    seqs: Float64Array.from(receipts.map((r) => r.seq)),
    times: Float64Array.from(receipts.map((r) => r.time)),
  };
}
