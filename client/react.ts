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

/**
 * Subscribes to `channel` while the component is mounted and re-renders on every change: the
 * connection state, the latest events (newest first, at most `keep`, 50 by default), whether the
 * subscription is confirmed, its error and the latest gap. A new `channel`, `client` or `keep`
 * starts a new feed. Throws when there is no client, or a `RangeError` for a bad `keep`.
 */
export function useSwitchboard(channel: string, options: UseSwitchboardOptions = {}): ChannelFeedSnapshot {
  const fromContext = useContext(SwitchboardContext);
  const client = options.client ?? fromContext;
  if (!client) throw new Error(NO_CLIENT);
  const { keep } = options;
  const feed = useMemo(
    () => createChannelFeed(client, channel, keep === undefined ? {} : { keep }),
    [client, channel, keep],
  );
  return useSyncExternalStore(feed.listen, feed.getSnapshot, feed.getSnapshot);
}
