/**
 * The client's public types: the `Client` interface, its events and what `subscribe` takes and
 * returns. Kept apart from the implementation so the contract a user codes against reads on its own.
 */
import type {
  EventMessage,
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresenceMember,
  UserInfo,
} from '../core/protocol.js';
import type { Unlisten } from './emitter.js';
import type { SwitchboardError } from './errors.js';

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The events of `client.on(...)`, with their payloads. */
export interface ClientEvents {
  /** The first connection attempt starts (emitted once, just after `createClient`). */
  readonly connecting: undefined;
  /** A connection opened; every subscription has been re-sent on it. */
  readonly open: { readonly reconnected: boolean };
  /** A connection failed or dropped; retry number `attempt` starts in `delayMs`. */
  readonly reconnecting: {
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: SwitchboardError;
  };
  /** The client stopped for good: `error` is absent when `close()` was called. */
  readonly closed: { readonly error?: SwitchboardError };
  /**
   * A failure no awaited call reports: every subscription failure (also rejected through the
   * subscription), an unsubscribe failure, an `error` reply matching no request (e.g. `rate_limited`),
   * a failed handover, or a refused request for missed events (followed by a `gap`).
   */
  readonly error: SwitchboardError;
  /**
   * Events of a channel may have been missed for good: reload whatever the application built from
   * them from its own source of truth. See `ChannelGap`; `subscribe(..., { onGap })` is the same,
   * scoped to one subscription.
   */
  readonly gap: ChannelGap;
  /**
   * A user's first connection subscribed to a presence channel this client subscribes to (its own
   * user included). Notices are not numbered: `presence()` is the state, these are its changes.
   */
  readonly presence_join: PresenceJoinMessage;
  /** A user's last connection left a presence channel this client subscribes to. */
  readonly presence_leave: PresenceLeaveMessage;
  /**
   * An event the server sent without a subscription (PROTOCOL §6): a broadcast (channel
   * `broadcast`), a message to this user (`user:{id}`) or to this connection (`connection:{id}`,
   * unnumbered). Handed over as received: subscribe to `broadcast` or `user:{id}` instead to get
   * those in `seq` order, once each, and recovered after a reconnection.
   */
  readonly direct: EventMessage;
}

/**
 * Why events of a channel may have been missed:
 * - `not_retained`: the server no longer holds them (it answered a resumption with
 *   `recovered: false`: they are older than its history window, by default 1 hour or 1,000 events);
 * - `unconfirmed`: a missing `seq` was never filled and the server could not be asked about it (the
 *   request failed), so it was stepped over;
 * - `reset`: the server's numbering went backwards (e.g. a local stack restarted with an empty
 *   table): counting starts over from `seq`.
 */
export type GapReason = 'not_retained' | 'unconfirmed' | 'reset';

/**
 * A break in a channel's events that the client could not repair. Events numbered above `lastSeq`
 * and up to `seq` may be missing; it is emitted before the events that follow the break are
 * delivered. A missing `seq` that the server confirms never existed (a number allocated to an event
 * that was never stored) is not a gap and is stepped over silently.
 */
export interface ChannelGap {
  readonly channel: string;
  readonly reason: GapReason;
  /** The last `seq` delivered on the channel before the break (in the old numbering for `reset`). */
  readonly lastSeq: number;
  /** The break reaches up to this `seq`; delivery goes on after it. */
  readonly seq: number;
}

/** Per-subscription options of `subscribe`. */
export interface SubscribeOptions {
  /**
   * Called when events of the channel may have been missed for good (see `ChannelGap`), until this
   * subscription is unsubscribed; the client-wide `gap` event receives the same.
   * @default undefined
   */
  readonly onGap?: (gap: ChannelGap) => void;
  /**
   * Starts after this `seq`: the server replays the channel's events numbered above it (as far as
   * its history reaches; older ones are reported as a `gap`), then the live ones follow. Only for the
   * channel's first subscription in this client; a channel already subscribed goes on from where it
   * is. A value that is not a non-negative integer rejects the subscription with `invalid_request`.
   * @default undefined - live events only
   */
  readonly since?: number;
}

/**
 * Receives every event of a channel, once each: duplicates (same `id`) are dropped, and events that
 * carry a `seq` arrive in `seq` order (see `ClientOptions.gapTimeoutMs`).
 */
export type EventHandler = (event: EventMessage) => void;

/** Receives the events of a channel by `event_type`; other types are ignored. */
export type EventHandlerMap = { readonly [eventType: string]: EventHandler };

/**
 * Resolves when the server confirms the subscription (`subscribed`) and rejects with a
 * `SwitchboardError` when it refuses it. Awaiting it is optional: the rejection is also reported
 * through the `error` event and never becomes an unhandled rejection.
 */
export type Subscription = Promise<void> & {
  readonly channel: string;
  /**
   * Stops this handler; the channel is unsubscribed on the wire when its last handler goes.
   * Idempotent. Resolves on `unsubscribed` (at once when nothing was on the wire).
   */
  unsubscribe(): Promise<void>;
};

/** The reply to `presence()`: who is subscribed to a presence channel. */
export interface PresenceSnapshot {
  readonly channel: string;
  /** Up to 1,000 members, ordered by user id; each user once, however many connections it has. */
  readonly members: readonly PresenceMember[];
  /** Every member of the channel, also those beyond `members`. */
  readonly count: number;
  /** True when `members` lists fewer than `count`. */
  readonly truncated: boolean;
}

/** The reply to `whoami()`. */
export interface WhoAmI {
  readonly connectionId: string;
  readonly user: UserInfo;
  readonly authorizedChannels: readonly string[];
  /** When the connection's token expires (ISO 8601). */
  readonly expiresAt: string;
}

export interface PublishOptions {
  /** The event's `event_type`. @default "message" (the server's default) */
  readonly eventType?: string;
}

/** The reply to `publish()`: the event was accepted and will be numbered and delivered. */
export interface Published {
  readonly channel: string;
  /** The event's `id`, as every subscriber (the sender included) receives it. */
  readonly eventId: string;
}

export interface Client {
  /** The connection state now. */
  readonly state: ClientState;
  /**
   * Subscribes `handler` to `channel`; it stays subscribed across reconnections until
   * `unsubscribe()` or `close()`. Several handlers may share a channel. Each reconnection (and
   * handover) resumes the channel after the last `seq` delivered, so what was published meanwhile
   * is replayed from the server's history (in parts, following `next`, when the server's replay
   * budget is smaller); what is no longer there is reported as a `gap`.
   *
   * `channel` may be a wildcard pattern ending in `:*` or `.*` (`apps:*`): the handler receives
   * the events of every matching channel, each under its concrete `channel`, in `seq` order per
   * channel. A pattern is not resumed after a reconnection (the server keeps no history for it):
   * it goes on with live events, and a channel whose numbers jumped meanwhile reports an
   * `unconfirmed` gap. See docs/wildcards.md.
   */
  subscribe(
    channel: string,
    handler: EventHandler | EventHandlerMap,
    options?: SubscribeOptions,
  ): Subscription;
  /**
   * Asks who is subscribed to a presence channel (one the server's presence policy names, by
   * default `chat:*`, `room:*`, `presence:*`). Only a subscriber may ask: subscribe first, or the
   * server refuses with `unauthorized` (`invalid_request` where presence is not kept). Waits for a
   * connection if there is none.
   */
  presence(channel: string): Promise<PresenceSnapshot>;
  /** Asks who the connection is authenticated as (waits for a connection if there is none). */
  whoami(): Promise<WhoAmI>;
  /**
   * Extends the connection's authentication with a new token (same `sub` and `tenant`). With a
   * string `token` option, later reconnections use this token too; a provider keeps being called.
   */
  refresh(token: string): Promise<{ readonly expiresAt: string }>;
  /**
   * Publishes `data` to `channel` from this client (PROTOCOL §8): allowed where the server's
   * publish policy names the channel (by default `chat:*` and `room:*`) and the client may
   * subscribe to it. Resolves once the server accepted the event; the event then reaches every
   * subscriber, this client included if subscribed, with `sender` set from the token. Waits for a
   * connection if there is none. Rejects with the server's code (`unauthorized`,
   * `invalid_request`, `rate_limited`), or `connection_lost` when the connection ended before the
   * reply (then it may or may not have been published: it is not sent twice).
   */
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<Published>;
  /** Listens to a client event until the returned function is called. */
  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): Unlisten;
  /** Closes the connection and stops reconnecting. Idempotent. */
  close(): void;
}
