/**
 * React bindings, shipped as `@switchboard/client/react` (React 18 or 19, an optional peer
 * dependency: the core SDK never imports React). One client per app carries every channel over one
 * connection; `useSwitchboard` subscribes a component to one channel while it is mounted.
 *
 * @example
 * ```tsx
 * import { createClient } from '@switchboard/client';
 * import { SwitchboardProvider, useSwitchboard } from '@switchboard/client/react';
 *
 * const client = createClient({ url, token: () => exchangeToken(), tokenTransport: 'protocol' });
 *
 * function OrderFeed() {
 *   const { state, events, error } = useSwitchboard('orders');
 *   return <ul>{events.map((e) => <li key={e.id}>#{e.seq} {e.event_type}</li>)}</ul>;
 * }
 *
 * root.render(<SwitchboardProvider client={client}><OrderFeed /></SwitchboardProvider>);
 * ```
 *
 * React's StrictMode mounts effects twice; that is harmless, because each `subscribe` call is its
 * own subscription and the channel is only unsubscribed on the wire when its last handler goes.
 */
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useMemo,
  useSyncExternalStore,
} from 'react';
// From the package's main entry, not its files: in the package, this module's types then refer to
// the very declarations `@switchboard/client` exports (one rolled-up index.d.ts).
import {
  type ChannelFeedOptions,
  type ChannelFeedSnapshot,
  type Client,
  createChannelFeed,
  createPresenceFeed,
  type PresenceFeedSnapshot,
  type Published,
  type PublishOptions,
} from './index.js';

const SwitchboardContext = createContext<Client | undefined>(undefined);

export interface SwitchboardProviderProps {
  readonly client: Client;
  readonly children?: ReactNode;
}

/** Makes `client` the one `useSwitchboard` uses below it (unless a call passes its own). */
export function SwitchboardProvider({ client, children }: SwitchboardProviderProps) {
  return createElement(SwitchboardContext.Provider, { value: client }, children);
}

/** The client of the nearest `SwitchboardProvider`; throws when there is none. */
export function useSwitchboardClient(): Client {
  const client = useContext(SwitchboardContext);
  if (!client) throw new Error(NO_CLIENT);
  return client;
}

export interface UseSwitchboardOptions extends ChannelFeedOptions {
  /**
   * The client to subscribe with.
   * @default - the client of the nearest `SwitchboardProvider`
   */
  readonly client?: Client;
}

const NO_CLIENT =
  'useSwitchboard: no Switchboard client: render inside <SwitchboardProvider client={...}> or pass { client }';

/** What `useSwitchboard` returns: the channel's feed, and a way to publish to it. */
export interface SwitchboardChannel extends ChannelFeedSnapshot {
  /**
   * Publishes to this channel as the client (`Client.publish`: where the server's publish policy
   * allows, by default `chat:*` and `room:*`). The same function for as long as channel and client.
   */
  readonly publish: (data: unknown, options?: PublishOptions) => Promise<Published>;
}

/**
 * Subscribes to `channel` while the component is mounted and re-renders on every change: the
 * connection state, the latest events (newest first, at most `keep`, 50 by default), whether the
 * subscription is confirmed, its error and the latest gap; with `publish` to send to the channel.
 * A new `channel`, `client` or `keep` starts a new feed. Throws when there is no client, or a
 * `RangeError` for a bad `keep`.
 */
export function useSwitchboard(channel: string, options: UseSwitchboardOptions = {}): SwitchboardChannel {
  const client = useClientOf(options);
  const { keep } = options;
  const feed = useMemo(
    () => createChannelFeed(client, channel, keep === undefined ? {} : { keep }),
    [client, channel, keep],
  );
  const snapshot = useSyncExternalStore(feed.listen, feed.getSnapshot, feed.getSnapshot);
  const publish = useMemo(
    () => (data: unknown, publishOptions?: PublishOptions) => client.publish(channel, data, publishOptions),
    [client, channel],
  );
  return useMemo(() => ({ ...snapshot, publish }), [snapshot, publish]);
}

/**
 * Who is in a presence channel (PROTOCOL §8) while the component is mounted: the members' user ids,
 * the count, and whether the list is truncated; re-renders as users join and leave. It subscribes
 * to the channel itself (only subscribers may ask), so it works alone or beside `useSwitchboard`
 * on the same channel. Throws when there is no client.
 */
export function usePresence(
  channel: string,
  options: { readonly client?: Client } = {},
): PresenceFeedSnapshot {
  const client = useClientOf(options);
  const feed = useMemo(() => createPresenceFeed(client, channel), [client, channel]);
  return useSyncExternalStore(feed.listen, feed.getSnapshot, feed.getSnapshot);
}

function useClientOf(options: { readonly client?: Client | undefined }): Client {
  const fromContext = useContext(SwitchboardContext);
  const client = options.client ?? fromContext;
  if (!client) throw new Error(NO_CLIENT);
  return client;
}
