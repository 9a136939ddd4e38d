/**
 * A channel the application subscribed to, as the client keeps it across connections: its
 * handlers, the callers waiting for its confirmation, its retry and its ordering state.
 */
import { ChannelSequence } from './channel-sequence.js';
import type { SwitchboardError } from './errors.js';
import { RecentIds } from './recent-ids.js';
import type { Timer } from './timers.js';
import type { ChannelGap, EventHandler } from './types.js';

export interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: SwitchboardError) => void;
}

/** A channel the application wants, with its handlers; resubscribed on every new connection. */
export interface ChannelEntry {
  readonly channel: string;
  readonly listeners: Set<EventHandler>;
  /** Confirmed on the current connection. */
  confirmed: boolean;
  waiters: Waiter[];
  /** The `onGap` option of each subscription that gave one, by its listener. */
  readonly gapListeners: Map<EventHandler, (gap: ChannelGap) => void>;
  /** Consecutive transient refusals (`rate_limited`, `internal_error`), for the retry backoff. */
  failures: number;
  retry: Timer | undefined;
  /** Puts the events back in `seq` order; its `lastSeq` is the `since` of every resubscription. */
  readonly sequence: ChannelSequence;
  /** Runs while a missing `seq` holds later events back; then the server is asked for it. */
  gapTimer: Timer | undefined;
  /** The ids delivered lately, to drop duplicates (see `RecentIds`). */
  readonly recent: RecentIds;
  /** A wildcard pattern's concrete channels, each with its own ordering (`patterns.ts`). */
  channels?: Map<string, ChannelEntry>;
  /** For a concrete channel received through a pattern: that pattern's entry. */
  readonly pattern?: ChannelEntry;
}

export function createChannelEntry(channel: string, dedupeWindow: number): ChannelEntry {
  return {
    channel,
    listeners: new Set(),
    gapListeners: new Map(),
    confirmed: false,
    waiters: [],
    failures: 0,
    retry: undefined,
    sequence: new ChannelSequence(),
    gapTimer: undefined,
    recent: new RecentIds(dedupeWindow),
  };
}
