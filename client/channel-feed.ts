/**
 * One channel's latest events and the connection state as an immutable snapshot that changes only
 * when something happens: the store behind the React hook (`react.ts`), kept free of React so any UI
 * layer can use it and a test can drive it without one. Its `listen`/`getSnapshot` pair is what
 * React's `useSyncExternalStore` expects: the subscription lives exactly as long as someone listens.
 */
import type { EventMessage } from '../core/protocol.js';
import type { SwitchboardError } from './errors.js';
import { type ExternalStore, externalStore } from './external-store.js';
import type { ChannelGap, Client, ClientState } from './types.js';

export interface ChannelFeedOptions {
  /**
   * How many of the latest events the snapshot holds (newest first).
   * @default 50
   */
  readonly keep?: number;
}

export interface ChannelFeedSnapshot {
  /** The client's connection state. */
  readonly state: ClientState;
  /** The latest events of the channel, newest first, at most `keep`. */
  readonly events: readonly EventMessage[];
  /** True once the server confirmed the subscription. */
  readonly subscribed: boolean;
  /** Why the feed stopped: the subscription was refused, or the client closed on an error. */
  readonly error: SwitchboardError | undefined;
  /** The latest break in the channel's events the client could not repair (reload from your source). */
  readonly gap: ChannelGap | undefined;
}

/**
 * The first listener subscribes to the channel; when the last one leaves, the channel is
 * unsubscribed (events already held stay in the snapshot).
 */
export type ChannelFeed = ExternalStore<ChannelFeedSnapshot>;

export const DEFAULT_FEED_KEEP = 50;

/** Throws a `RangeError` naming the value when `keep` is not a positive integer. */
export function createChannelFeed(
  client: Client,
  channel: string,
  options: ChannelFeedOptions = {},
): ChannelFeed {
  const keep = options.keep ?? DEFAULT_FEED_KEEP;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new RangeError(`keep must be a positive integer, got ${String(keep)}`);
  }
  const initial: ChannelFeedSnapshot = {
    state: client.state,
    events: [],
    subscribed: false,
    error: undefined,
    gap: undefined,
  };
  return externalStore(initial, (update, snapshot) => {
    // Listeners first, so a state change during subscribe is not missed.
    const offs = (['connecting', 'open', 'reconnecting'] as const).map((name) =>
      client.on(name, () => update({ state: client.state })),
    );
    offs.push(
      client.on('closed', ({ error }) =>
        update({ state: client.state, ...(error ? { error: snapshot().error ?? error } : {}) }),
      ),
    );
    const subscription = client.subscribe(
      channel,
      (event) => update({ events: [event, ...snapshot().events].slice(0, keep) }),
      { onGap: (gap) => update({ gap }) },
    );
    let active = true;
    subscription.then(
      () => active && update({ subscribed: true, error: undefined }),
      (error: SwitchboardError) => active && update({ subscribed: false, error }),
    );
    if (snapshot().state !== client.state) update({ state: client.state });
    return () => {
      active = false;
      for (const off of offs) off();
      void subscription.unsubscribe();
      if (snapshot().subscribed) update({ subscribed: false });
    };
  });
}
