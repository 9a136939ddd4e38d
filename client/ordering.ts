/**
 * Ordering and recovery of each channel's events.
 *
 * Per channel: an event without `seq` (a server without history) is delivered at once. One with
 * `seq` goes through the channel's `ChannelSequence`: at or below `lastSeq` it is stale and
 * dropped; the next number is delivered with whatever held events follow on; anything further is
 * held. Held events wait `gapTimeoutMs` for the missing number, then a subscribe with `since`
 * asks the server to replay it. A `subscribed` reply with `seq` S settles everything up to S: the
 * server replays before it answers, so a number up to S still missing does not exist (allocated,
 * never stored) and is stepped over. A reply with `next` N (the server's replay budget ran out)
 * settles only up to N, and the same request is sent again with `since` N until a reply comes
 * without `next`. Every released event is finally deduplicated by id, which drops a redelivery
 * that came back under a new number.
 */
import type { EventMessage } from '../core/protocol.js';
import type { ChannelEntry } from './channel-entry.js';
import { sequenceNumber } from './channel-sequence.js';
import { type Emitter, rethrowLater } from './emitter.js';
import type { Link } from './link.js';
import type { Requests, SubscribeRequest } from './requests.js';
import type { ChannelGap, ClientEvents } from './types.js';

/** What ordering needs from the channels it serves. */
export interface OrderingHost {
  /** Whether `entry` is still its channel's entry: not unsubscribed since, and the client not closed. */
  isCurrent(entry: ChannelEntry): boolean;
  /** The current link, when it is open. */
  currentLink(): Link | undefined;
  /** Sends a subscribe with `since` for `entry` on `link`, to have what is missing replayed. */
  resubscribe(link: Link, entry: ChannelEntry, repair: boolean): void;
}

export class Ordering {
  readonly #gapTimeoutMs: number;
  readonly #events: Emitter<ClientEvents>;
  readonly #requests: Requests;
  readonly #host: OrderingHost;

  constructor(gapTimeoutMs: number, events: Emitter<ClientEvents>, requests: Requests, host: OrderingHost) {
    this.#gapTimeoutMs = gapTimeoutMs;
    this.#events = events;
    this.#requests = requests;
    this.#host = host;
  }

  /** An event of `entry`'s channel arrived. */
  onEvent(entry: ChannelEntry, event: EventMessage): void {
    const seq = sequenceNumber(event.seq);
    if (seq === undefined) {
      this.#deliver(entry, [event]);
      return;
    }
    this.#deliver(entry, entry.sequence.accept(seq, event));
    this.settle(entry);
  }

  /** Calls the handlers with each event not delivered before (by id). */
  #deliver(entry: ChannelEntry, events: readonly EventMessage[]): void {
    for (const event of events) {
      // A handler may unsubscribe the channel's last listener mid-way.
      if (!this.#host.isCurrent(entry)) return;
      if (!entry.recent.remember(event.id)) continue;
      for (const listener of [...entry.listeners]) {
        try {
          listener(event);
        } catch (error) {
          // One failing handler must not starve the others or break the client.
          rethrowLater(error);
        }
      }
    }
  }

  /** A subscribe reply (or its timeout, or a refusal) will come and settle what is held. */
  #replyComing(entry: ChannelEntry): boolean {
    return entry.retry !== undefined || this.#requests.subscribing(entry);
  }

  /** Decides what to do about held events: nothing, wait for a reply, arm the gap timer, or release. */
  settle(entry: ChannelEntry): void {
    if (!this.#host.isCurrent(entry)) return;
    if (entry.sequence.heldCount === 0 || this.#replyComing(entry)) {
      clearTimeout(entry.gapTimer);
      entry.gapTimer = undefined;
      return;
    }
    if (entry.sequence.lastSeq === undefined) {
      // Held for want of a baseline, which no reply is coming to give: go from what arrived.
      // Offline, the resubscription on the next connection gives one.
      if (this.#host.currentLink() !== undefined) this.#deliver(entry, entry.sequence.release().events);
      return;
    }
    if (entry.gapTimer === undefined) {
      entry.gapTimer = setTimeout(() => this.#gapTimedOut(entry), this.#gapTimeoutMs);
    }
  }

  #gapTimedOut(entry: ChannelEntry): void {
    entry.gapTimer = undefined;
    if (!this.#host.isCurrent(entry) || this.#replyComing(entry)) return;
    const link = this.#host.currentLink();
    // Offline: the resubscription on the next connection carries `since` and settles the gap.
    if (link === undefined) return;
    // On a channel not confirmed here (its resubscription timed out), this is the resubscription.
    this.#host.resubscribe(link, entry, entry.confirmed);
  }

  /**
   * A `subscribed` reply carrying the channel's sequence `seq` (undefined from an older server), and
   * `next` when the replay stopped early.
   */
  resumed(
    request: SubscribeRequest,
    seq: number | undefined,
    notRetained: boolean,
    next: number | undefined,
  ): void {
    const { entry, since } = request;
    const { sequence } = entry;
    const lastSeq = sequence.lastSeq;
    if (seq === undefined) {
      // A server without history says nothing about what exists: go from what arrived.
      this.#releaseUnconfirmed(entry);
    } else if (since !== undefined && lastSeq !== undefined && seq < since) {
      // Behind a number delivered before asking (live events that overtook the reply may be
      // ahead of it; those are not): the server lost its sequence (DynamoDB Local runs in memory,
      // so restarting the local stack does this). Waiting for it to catch up would drop every
      // event until it does.
      sequence.reset(seq);
      this.#gap(entry, { channel: entry.channel, reason: 'reset', lastSeq, seq });
    } else {
      // A `next` that does not move forward from `since`, or reaches `seq`, leaves nothing to continue.
      const partial = next !== undefined && since !== undefined && since < next && next < seq;
      const released = sequence.release(partial ? next : seq);
      if (notRetained && lastSeq !== undefined) {
        // The replay resumed at the oldest event retained: the break ends just before it.
        const upTo = released.skippedTo ?? (partial ? next : seq);
        this.#gap(entry, { channel: entry.channel, reason: 'not_retained', lastSeq, seq: upTo });
      }
      this.#deliver(entry, released.events);
      if (partial && (sequence.lastSeq ?? 0) < seq) {
        // The held events past `next` wait for the rest of the replay, not for the gap timer.
        if (this.#host.isCurrent(entry) && !request.link.ended)
          this.#host.resubscribe(request.link, entry, request.repair);
      }
      // Events received before asking may be ahead of `seq`: the server answers with the last
      // number it has settled, and numbers above it belong to events still being stored (their
      // publish posts them live). Held events then wait, and the gap timer asks again; a number
      // that is never stored is reported lost by the server within about a minute.
    }
    this.settle(entry);
  }

  /** The request for a missing `seq` was refused or went unanswered: step over it. */
  repairFailed(entry: ChannelEntry): void {
    if (!this.#host.isCurrent(entry)) return;
    this.#releaseUnconfirmed(entry);
    this.settle(entry);
  }

  /** Releases what is held up to `upTo` (all of it by default); a missing `seq` stepped over is a gap. */
  #releaseUnconfirmed(entry: ChannelEntry, upTo?: number): void {
    const lastSeq = entry.sequence.lastSeq;
    const { events, skippedTo } = entry.sequence.release(upTo);
    if (lastSeq !== undefined && skippedTo !== undefined) {
      this.#gap(entry, { channel: entry.channel, reason: 'unconfirmed', lastSeq, seq: skippedTo });
    }
    this.#deliver(entry, events);
  }

  #gap(entry: ChannelEntry, gap: ChannelGap): void {
    this.#events.emit('gap', gap);
    for (const onGap of [...entry.gapListeners.values()]) {
      try {
        onGap(gap);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }
}
