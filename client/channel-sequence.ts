import type { EventMessage } from '../core/protocol.js';

/** A valid `seq` (or `since`): a non-negative safe integer; anything else counts as absent. */
export function sequenceNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** What `release` let go: the events in `seq` order, and the highest missing `seq` it stepped over. */
export interface Released {
  readonly events: readonly EventMessage[];
  /** The highest `seq` that was missing and is now given up on; absent when nothing was. */
  readonly skippedTo?: number;
}

/**
 * One channel's events put back in `seq` order. Pure bookkeeping, no timers and no I/O: the client
 * decides when to wait, when to ask the server again, and when to give up on a missing number.
 *
 * - `lastSeq` is the last number delivered (or the baseline the server gave); events at or below it
 *   are stale (replays, redeliveries) and dropped.
 * - An event right after `lastSeq` is released at once, with every held one that then follows on.
 * - Any other event is held until the numbers before it arrive, or until `release` gives up on them.
 * - Before a baseline exists (the first subscription, nothing received yet) every event is held: the
 *   `subscribed` reply says where the channel stands.
 *
 * Duplicates carrying a new `seq` (an event redelivered by a retry) are not this class's business:
 * they occupy their number like any event, and the client drops them by id when they are released.
 */
export class ChannelSequence {
  #last: number | undefined;
  readonly #held = new Map<number, EventMessage>();

  /** The last `seq` delivered, or the baseline; undefined until the channel has one. */
  get lastSeq(): number | undefined {
    return this.#last;
  }

  /** How many events are held back. */
  get heldCount(): number {
    return this.#held.size;
  }

  /** The highest `seq` seen, delivered or held. */
  get highestSeen(): number | undefined {
    let highest = this.#last;
    for (const seq of this.#held.keys()) if (highest === undefined || seq > highest) highest = seq;
    return highest;
  }

  /** Takes an event numbered `seq`; returns the events that are now in order (often just this one). */
  accept(seq: number, event: EventMessage): EventMessage[] {
    if (this.#last !== undefined && seq <= this.#last) return [];
    if (this.#held.has(seq)) return [];
    this.#held.set(seq, event);
    if (this.#last === undefined) return [];
    const events: EventMessage[] = [];
    this.#drain(events);
    return events;
  }

  /**
   * Gives up waiting for the numbers up to `upTo` (all that are held, when undefined): releases the
   * held events up to there in order, stepping over the missing numbers, makes `upTo` the baseline
   * when it is higher, then releases whatever follows on. Stepping over numbers before the first
   * baseline is not a skip: nothing was expected there.
   */
  release(upTo?: number): Released {
    const events: EventMessage[] = [];
    const baselined = this.#last !== undefined;
    let skippedTo: number | undefined;
    const due = [...this.#held.keys()]
      .filter((seq) => upTo === undefined || seq <= upTo)
      .sort((a, b) => a - b);
    for (const seq of due) {
      if (baselined && this.#last !== undefined && seq > this.#last + 1) skippedTo = seq - 1;
      events.push(this.#held.get(seq) as EventMessage);
      this.#held.delete(seq);
      this.#last = seq;
    }
    if (upTo !== undefined && (this.#last === undefined || upTo > this.#last)) {
      if (baselined && this.#last !== undefined) skippedTo = upTo;
      this.#last = upTo;
    }
    this.#drain(events);
    return skippedTo === undefined ? { events } : { events, skippedTo };
  }

  /** Starts over from `seq`, forgetting everything held: the server's numbering was reset. */
  reset(seq: number): void {
    this.#held.clear();
    this.#last = seq;
  }

  #drain(into: EventMessage[]): void {
    while (this.#last !== undefined) {
      const next = this.#held.get(this.#last + 1);
      if (next === undefined) return;
      this.#held.delete(this.#last + 1);
      this.#last += 1;
      into.push(next);
    }
  }
}
