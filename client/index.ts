/**
 * The Switchboard client SDK: browsers and Node 20+, no runtime dependencies.
 *
 * @example
 * ```ts
 * import { createClient, SwitchboardError } from './client/index.js';
 * import WebSocket from 'ws'; // Node 20 only; browsers use their own WebSocket
 *
 * const client = createClient({
 *   url: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/ws',
 *   // Called before every (re)connection: exchange the main token for a short-lived one.
 *   token: async () => {
 *     const response = await fetch('https://api.example.com/api/v1/auth', {
 *       method: 'POST',
 *       headers: { authorization: `Bearer ${mainToken}` },
 *     });
 *     const body = await response.json();
 *     return body.data.token;
 *   },
 *   WebSocket,
 * });
 *
 * client.on('reconnecting', ({ attempt, delayMs }) => console.log(`retry ${attempt} in ${delayMs} ms`));
 *
 * const subscription = client.subscribe(
 *   'cluster_code_16',
 *   {
 *     workspace_created: (event) => console.log('created', event.seq, event.data),
 *     workspace_deleted: (event) => console.log('deleted', event.seq, event.data),
 *   },
 *   // Events were missed for good (older than the server's history): reload from the source of truth.
 *   { onGap: ({ reason }) => void reloadWorkspaces(reason) },
 * );
 * try {
 *   await subscription; // optional: resolves on `subscribed`
 * } catch (error) {
 *   if (error instanceof SwitchboardError && error.code === 'subscription_failed') console.warn(error.message);
 * }
 *
 * console.log((await client.whoami()).user.userId);
 * await subscription.unsubscribe();
 * client.close();
 * ```
 */

export type {
  ErrorCode,
  EventMessage,
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresenceMember,
  UserInfo,
} from '../core/protocol.js';
/** The wire protocol version this SDK speaks (see docs/packages.md, "Compatibility"). */
export { PROTOCOL_VERSION } from '../core/protocol-version.js';
export {
  type ChannelFeed,
  type ChannelFeedOptions,
  type ChannelFeedSnapshot,
  createChannelFeed,
} from './channel-feed.js';
export { createClient } from './client.js';
export type { Unlisten } from './emitter.js';
export { type ClientErrorCode, SwitchboardError, type SwitchboardErrorCode } from './errors.js';
export type { ExternalStore } from './external-store.js';
export {
  type ClientOptions,
  ClientOptionsError,
  type HeartbeatMode,
  type ReconnectOptions,
  type TokenProvider,
} from './options.js';
export { createPresenceFeed, type PresenceFeed, type PresenceFeedSnapshot } from './presence-feed.js';
export type {
  ChannelGap,
  Client,
  ClientEvents,
  ClientState,
  EventHandler,
  EventHandlerMap,
  GapReason,
  PresenceSnapshot,
  Published,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  WhoAmI,
} from './types.js';
export type { TokenTransport, WebSocketConstructor, WebSocketLike } from './websocket.js';
