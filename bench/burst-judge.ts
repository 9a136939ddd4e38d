/**
 * Judging a burst: what the clients received against what was put. Pure, so it can be checked
 * without sockets; the burst stage calls it on the receipts the client workers tracked.
 */
import type { TrackedReceipts } from './worker-protocol.js';

const MAX_PROBLEMS = 10;

/** An event as `PutEvents` accepted it. */
export interface PutEvent {
  readonly id: string;
  readonly channel: string;
  /** When the `PutEvents` call that carried it resolved (shared clock, ms). */
  readonly acceptedAt: number;
}

export interface SeqCheck {
  readonly channels: number;
  /** Channels whose received seqs are exactly 1..n (n: events put on it), one event each. */
  readonly exact: number;
  /** The first few departures, e.g. `burst-hot: seq 17 never received`. */
  readonly problems: readonly string[];
}

export interface BurstJudgement {
  /** (client, event) pairs the audience of each event's channel should have received. */
  readonly expected: number;
  /** Expected pairs that arrived (first receipts). */
  readonly delivered: number;
  readonly lost: number;
  /** Receipts of an event the same client had already received. */
  readonly duplicated: number;
  /** Receipts of an event that was not put, on another channel, or at a client not subscribed. */
  readonly unexpected: number;
  /** First receipts whose seq is below one the same client already received on that channel. */
  readonly outOfOrder: number;
  readonly seq: SeqCheck;
  /** First receipt minus `acceptedAt`, ms, every delivered pair. */
  readonly latencies: Float64Array;
  /** The latest first receipt (shared clock, ms); NaN when nothing arrived. */
  readonly lastReceipt: number;
}

/**
 * `audience`: the client keys subscribed to each channel. `receipts`: one per client worker (a
 * client lives in one worker, so each client's receipts are in its arrival order).
 */
export function judgeBurst(
  events: readonly PutEvent[],
  audience: ReadonlyMap<string, readonly string[]>,
  receipts: readonly TrackedReceipts[],
): BurstJudgement {
  const byId = new Map(events.map((event) => [event.id, event]));
  const seen = new Set<string>();
  const highest = new Map<string, number>();
  /** Per channel: the seq each event arrived with, and the event each seq belongs to. */
  const seqOf = new Map<string, Map<string, number>>();
  const idOf = new Map<string, Map<number, string>>();
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  const conflicted = new Set<string>();
  const latencies: number[] = [];
  let lastReceipt = Number.NaN;
  let duplicated = 0;
  let unexpected = 0;
  let outOfOrder = 0;
  for (const r of receipts) {
    for (let i = 0; i < r.ids.length; i++) {
      const key = r.keys[i] as string;
      const id = r.ids[i] as string;
      const channel = r.channels[i] as string;
      const seq = r.seqs[i] as number;
      const event = byId.get(id);
      if (!event || event.channel !== channel || !audience.get(channel)?.includes(key)) {
        unexpected += 1;
        continue;
      }
      const pair = `${key}\u0000${id}`;
      if (seen.has(pair)) {
        duplicated += 1;
        continue;
      }
      seen.add(pair);
      const time = r.times[i] as number;
      latencies.push(time - event.acceptedAt);
      if (Number.isNaN(lastReceipt) || time > lastReceipt) lastReceipt = time;
      const stream = `${key}\u0000${channel}`;
      const top = highest.get(stream) ?? 0;
      if (seq < top) outOfOrder += 1;
      else if (seq > top) highest.set(stream, seq);

      const seqs = seqOf.get(channel) ?? new Map<string, number>();
      seqOf.set(channel, seqs);
      const ids = idOf.get(channel) ?? new Map<number, string>();
      idOf.set(channel, ids);
      const known = seqs.get(id);
      if (known !== undefined && known !== seq) {
        conflicted.add(channel);
        problem(`${channel}: event ${id} arrived with seq ${known} and ${seq}`);
      }
      seqs.set(id, seq);
      const owner = ids.get(seq);
      if (owner !== undefined && owner !== id) {
        conflicted.add(channel);
        problem(`${channel}: seq ${seq} given to events ${owner} and ${id}`);
      }
      ids.set(seq, id);
    }
  }

  let expected = 0;
  const putPerChannel = new Map<string, number>();
  for (const event of events) {
    expected += audience.get(event.channel)?.length ?? 0;
    putPerChannel.set(event.channel, (putPerChannel.get(event.channel) ?? 0) + 1);
  }
  let exact = 0;
  for (const [channel, n] of putPerChannel) {
    const ids = idOf.get(channel) ?? new Map<number, string>();
    let ok = !conflicted.has(channel);
    let missing = 0;
    for (let seq = 1; seq <= n; seq++) {
      if (ids.has(seq)) continue;
      ok = false;
      missing += 1;
      if (missing === 1) problem(`${channel}: seq ${seq} never received (of 1..${n})`);
    }
    const outside = [...ids.keys()].filter((seq) => !(Number.isInteger(seq) && seq >= 1 && seq <= n));
    if (outside.length > 0) {
      ok = false;
      problem(`${channel}: ${outside.length} seqs outside 1..${n}, e.g. ${outside[0]}`);
    }
    if (missing > 1) problem(`${channel}: ${missing} of its ${n} seqs never received`);
    if (ok) exact += 1;
  }
  const delivered = latencies.length;
  return {
    expected,
    delivered,
    lost: expected - delivered,
    duplicated,
    unexpected,
    outOfOrder,
    seq: { channels: putPerChannel.size, exact, problems },
    latencies: Float64Array.from(latencies),
    lastReceipt,
  };
}
