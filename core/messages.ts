/**
 * Client → server messages (PROTOCOL §3): one entry point for every WebSocket route but the
 * handshake. Whatever the input, it answers with exactly one server message and never throws a
 * `ProtocolError`: refusals become `error` replies and the connection stays usable.
 */
import { authorizedPatterns, canSubscribe, isAdmin } from './channel-policy.js';
import { TokenRejectedError, type TokenVerifier } from './identity.js';
import {
  type ChannelHistory,
  type ClientConnectionStore,
  type ConnectionGateway,
  type ConnectionRecord,
  type EventQueue,
  errorName,
  type Log,
  type PresenceStore,
} from './ports.js';
import { presenceReply } from './presence.js';
import {
  type ClientMessage,
  errorMessage,
  ProtocolError,
  parseClientMessage,
  type ServerMessage,
  serverMessage,
} from './protocol.js';
import { CLIENT_EVENT_SOURCE } from './publishers.js';
import { takeToken } from './rate-limit.js';
import { epochSeconds, type Settings } from './settings.js';
import { liveStats } from './stats.js';
import { canSubscribeTo } from './wildcard-policy.js';
import { isWildcard } from './wildcards.js';

export interface MessageDeps {
  /** Only the message routes' part of the store, so their bundle holds none of the rest. */
  readonly store: ClientConnectionStore;
  readonly history: ChannelHistory;
  /** Posts replayed events ahead of the `subscribed` reply. */
  readonly gateway: ConnectionGateway;
  readonly verifier: TokenVerifier;
  /** Where client-published events go (the publish queue); absent: client publish is off. */
  readonly events?: EventQueue;
  /** Who is subscribed to presence channels (PROTOCOL §8); absent: `presence` is refused. */
  readonly presence?: PresenceStore;
  /** A new event id (EventBridge's are UUIDs). @default crypto.randomUUID (Web Crypto) */
  readonly newId?: () => string;
  readonly settings: Settings;
  readonly log: Log;
  readonly now?: () => number;
  /** What is left of the invocation's time budget (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
}

/**
 * The size budget of a replay: the most events one `subscribe` posts before it answers with
 * `next` (PROTOCOL §4), and so the most it reads. An `@connections` post takes some 10–30 ms on
 * AWS, so 100 take 1–3 s, well inside the route's 10 s timeout and the SDK's 10 s request
 * timeout; a channel's whole default history (1,000 events) takes 10 replies, within the default
 * rate-limit burst (20). A count, not bytes, so where `next` falls does not depend on payloads.
 */
export const REPLAY_MAX_EVENTS = 100;

/**
 * The time budget of a replay: it stops once less than this is left of the invocation, which is
 * enough for the post in flight (with the SDK's retries of a throttled one) and the reply.
 */
export const REPLAY_TIME_MARGIN_MS = 3_000;

/** How long a replay waits for numbers in flight (taken, not yet stored): 5 × 50 ms at most. */
const IN_FLIGHT_WAITS = 5;
const IN_FLIGHT_WAIT_MS = 50;

export interface IncomingMessage {
  readonly connectionId: string;
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
  /**
   * When the gateway received the message (API Gateway's `requestTimeEpoch`), epoch ms. The rate
   * limit counts messages by arrival: a burst stays a burst even if its handlers run later.
   * @default the handler's clock
   */
  readonly receivedAtMs?: number;
}

const iso = (epochSecondsValue: number) => new Date(epochSecondsValue * 1000).toISOString();

/** Actions still allowed once the token has expired: the ones that let a client recover. */
const ALLOWED_AFTER_EXPIRY = new Set<ClientMessage['action']>(['refresh', 'ping']);

export async function handleClientMessage(input: IncomingMessage, deps: MessageDeps): Promise<ServerMessage> {
  const nowMs = deps.now?.() ?? Date.now();
  let message: ClientMessage | undefined;
  try {
    // Parsing needs no I/O; a malformed message still counts against the rate limit below.
    let malformed: ProtocolError | undefined;
    try {
      if (input.isBase64Encoded)
        throw new ProtocolError('invalid_request', 'binary frames are not supported');
      message = parseClientMessage(input.body ?? '', deps.settings.maxMessageBytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      malformed = error;
    }
    // A ping is answered from the message alone: no read, no write (PROTOCOL §4 is kept, `id`
    // echoed). Liveness is API Gateway's (the sweep asks it), and the rate bucket lives in the
    // table, so pings are not rate-limited per connection; the route's throttle still applies.
    if (message?.action === 'ping') return serverMessage({ type: 'pong', id: message.id });
    const arrivedMs = Math.min(input.receivedAtMs ?? nowMs, nowMs);
    const connection = await admit(input.connectionId, deps, nowMs, arrivedMs);
    if (malformed || !message) throw malformed;
    if (connection.tokenExpiresAt <= epochSeconds(nowMs) && !ALLOWED_AFTER_EXPIRY.has(message.action)) {
      throw new ProtocolError('unauthorized', 'token expired; send refresh with a new token or reconnect');
    }
    return await dispatch(message, connection, deps, nowMs);
  } catch (error) {
    const details = {
      ...(message?.id !== undefined ? { id: message.id } : {}),
      ...(message && 'channel' in message ? { channel: message.channel } : {}),
    };
    if (error instanceof ProtocolError) {
      return errorMessage(new ProtocolError(error.code, error.message, { ...details, ...error.details }));
    }
    deps.log.error('message handling failed', {
      action: message?.action,
      error: errorName(error),
    });
    return errorMessage(
      new ProtocolError('internal_error', 'the server could not handle this message', details),
    );
  }
}

/**
 * Loads the connection and takes a token from its rate bucket, in one write. Liveness is not
 * written: API Gateway keeps it (its idle timer restarts on every client message), and the sweep
 * reads it there.
 */
async function admit(
  connectionId: string,
  deps: MessageDeps,
  nowMs: number,
  arrivedMs: number,
): Promise<ConnectionRecord> {
  const { store, settings } = deps;
  const now = epochSeconds(nowMs);
  const limited = new ProtocolError(
    'rate_limited',
    `too many messages: at most ${settings.rateLimit.burst} at once and ${settings.rateLimit.perSecond} per second`,
  );
  for (let attempt = 0; attempt < 5; attempt++) {
    const connection = await store.getConnection(connectionId, now);
    if (!connection) break;
    const take = takeToken(settings.rateLimit, connection.bucket, arrivedMs);
    const recorded = await store.recordMessage(connection, take.next, now);
    if (recorded === 'gone') break;
    if (recorded === 'conflict') continue;
    if (take.allowed) return connection;
    if (take.abusive) {
      deps.log.warn('closing a connection for sustained message abuse', { connectionId });
      await deps.gateway.close(connectionId);
    }
    throw limited;
  }
  // Still registered but losing every race for its bucket: as many messages at once as that is
  // itself a burst to refuse.
  if (await store.getConnection(connectionId, now)) throw limited;
  throw new ProtocolError('unauthorized', 'connection is not registered; reconnect');
}

async function dispatch(
  message: ClientMessage,
  connection: ConnectionRecord,
  deps: MessageDeps,
  nowMs: number,
): Promise<ServerMessage> {
  const { store, settings } = deps;
  const now = epochSeconds(nowMs);
  const id = message.id;

  switch (message.action) {
    case 'subscribe': {
      const { channel } = message;
      const wildcard = isWildcard(channel);
      // A pattern has no sequence of its own to resume from (PROTOCOL §8).
      if (wildcard && message.since !== undefined)
        throw new ProtocolError('invalid_request', 'since cannot be combined with a wildcard pattern');
      if (!canSubscribeTo(settings.channelPolicy, connection.identity, channel)) {
        throw new ProtocolError('subscription_failed', `not allowed to subscribe to "${channel}"`);
      }
      const result = await store.addSubscription(connection, channel, settings.maxSubscriptions, now);
      if (result === 'limit_reached') {
        throw new ProtocolError(
          'subscription_failed',
          `subscription limit reached (${settings.maxSubscriptions} per connection)`,
        );
      }
      if (result === 'connection_gone')
        throw new ProtocolError('unauthorized', 'connection is not registered; reconnect');
      // Events of a pattern carry their own channels' `seq`; the pattern itself has none.
      if (wildcard) return serverMessage({ type: 'subscribed', channel, id });
      return subscribed(connection, channel, message.since, id, deps, now);
    }
    case 'unsubscribe': {
      await store.removeSubscription(connection, message.channel);
      return serverMessage({ type: 'unsubscribed', channel: message.channel, id });
    }
    case 'ping':
      // Answered before admission (see handleClientMessage); kept for the exhaustive switch.
      return serverMessage({ type: 'pong', id });
    case 'whoami': {
      const { identity } = connection;
      return serverMessage({
        type: 'connected',
        id,
        connectionId: connection.connectionId,
        user: {
          userId: identity.userId,
          roles: identity.roles,
          ...(identity.email ? { email: identity.email } : {}),
          ...(identity.tenant ? { tenant: identity.tenant } : {}),
        },
        authorizedChannels: authorizedPatterns(settings.channelPolicy, identity),
        expiresAt: iso(connection.tokenExpiresAt),
      });
    }
    case 'list_channels': {
      return serverMessage({
        type: 'channels',
        id,
        authorized: authorizedPatterns(settings.channelPolicy, connection.identity),
        subscribed: [...connection.channels].sort(),
      });
    }
    case 'refresh':
      return refresh(message.token, id, connection, deps);
    case 'stats': {
      if (!isAdmin(connection.identity))
        throw new ProtocolError('unauthorized', 'stats requires the admin role');
      // An admin inside a tenant sees that tenant only; a platform admin (no tenant) sees all.
      const counts = await liveStats(store.liveConnections(connection.identity.tenant ?? null, now), now);
      return serverMessage({ type: 'stats', id, ...counts });
    }
    case 'publish':
      return published(message, connection, deps, nowMs);
    case 'presence':
      return presenceReply(message, connection, deps, now);
  }
}

/**
 * A client publish (PROTOCOL §8): allowed where the publish policy names the channel and the
 * client may subscribe to it. The event joins services' events on the publish queue, so it is
 * numbered, kept and fanned out the same way, to every subscriber, the sender included; `sender`
 * is set here from the token, never from the message.
 */
async function published(
  message: Extract<ClientMessage, { action: 'publish' }>,
  connection: ConnectionRecord,
  deps: MessageDeps,
  nowMs: number,
): Promise<ServerMessage> {
  const { channel, id } = message;
  const { identity } = connection;
  if (
    !deps.events ||
    !canSubscribe(deps.settings.publishPolicy, identity, channel) ||
    !canSubscribe(deps.settings.channelPolicy, identity, channel)
  ) {
    throw new ProtocolError('unauthorized', `not allowed to publish to "${channel}"`);
  }
  const eventId = (deps.newId ?? (() => globalThis.crypto.randomUUID()))();
  await deps.events.put({
    id: eventId,
    'detail-type': message.event_type ?? 'message',
    source: CLIENT_EVENT_SOURCE,
    time: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    detail: {
      channel,
      data: message.data ?? null,
      ...(identity.tenant !== undefined ? { tenant: identity.tenant } : {}),
      sender: { userId: identity.userId },
    },
  });
  return serverMessage({ type: 'published', id, channel, event_id: eventId });
}

/**
 * Completes a subscribe. The subscription already exists, so nothing published from here on is
 * missed; with `since`, the retained events after it are posted first, in order, as many as the
 * replay's size and time budgets allow (`next` says where to continue). An event published
 * meanwhile can arrive both live and replayed, with the same `id`.
 */
async function subscribed(
  connection: ConnectionRecord,
  channel: string,
  since: number | undefined,
  id: string | undefined,
  deps: MessageDeps,
  now: number,
): Promise<ServerMessage> {
  const { tenant } = connection.identity;
  const seq = await deps.history.current(tenant, channel);
  if (since === undefined) return serverMessage({ type: 'subscribed', channel, id, seq });
  const read = () => deps.history.replay(tenant, channel, since, seq, now, REPLAY_MAX_EVENTS);
  let replayed = await read();
  // Numbers taken by a publish still storing them are stored within moments: wait a little for
  // them rather than answer short, which would send the client back for them.
  for (let wait = 0; wait < IN_FLIGHT_WAITS && !replayed.more && replayed.settled < seq; wait++) {
    await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_WAIT_MS));
    replayed = await read();
  }
  const { events, complete, settled, more } = replayed;
  const remainingMs = deps.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  let last: number | undefined;
  for (const event of events) {
    // The first event goes out whatever the clock says: every reply with `next` then moves the
    // client forward, so following `next` always ends.
    if (last !== undefined && remainingMs() < REPLAY_TIME_MARGIN_MS) {
      deps.log.warn('replay cut short by its time budget', { channel, since, next: last });
      break;
    }
    if ((await deps.gateway.post(connection.connectionId, event.payload)) === 'gone') break;
    last = event.seq;
  }
  // Early: the time budget stopped the posts, or the size budget cut the read.
  const early = last !== undefined && (last !== events.at(-1)?.seq || more);
  // With `next`, `recovered` speaks of the part replayed, `since` to `next`: false when its first
  // events were no longer retained. Retention only ever drops a channel's oldest events, so a loss
  // shows in the first reply; each continuation starts at an event that was retained just before.
  // Without `next`, `seq` is `settled`, not the counter: numbers above it are still being stored
  // by their publish, which posts them live (this subscription was written before the replay read
  // them), so a client that orders by seq must wait for them, not step over them.
  return serverMessage({
    type: 'subscribed',
    channel,
    id,
    seq: early ? seq : settled,
    recovered: complete,
    next: early ? last : undefined,
  });
}

async function refresh(
  token: string,
  id: string | undefined,
  connection: ConnectionRecord,
  deps: MessageDeps,
): Promise<ServerMessage> {
  let verified: Awaited<ReturnType<TokenVerifier['verify']>>;
  try {
    verified = await deps.verifier.verify(token);
  } catch (error) {
    if (error instanceof TokenRejectedError)
      throw new ProtocolError('unauthorized', 'refresh token rejected');
    throw error;
  }
  const current = connection.identity;
  if (
    current.anonymous ||
    verified.identity.userId !== current.userId ||
    verified.identity.tenant !== current.tenant
  ) {
    throw new ProtocolError(
      'unauthorized',
      'refresh token must have the same sub and tenant as the connection',
    );
  }
  if (!(await deps.store.updateToken(connection, verified.identity, verified.expiresAt))) {
    throw new ProtocolError('unauthorized', 'connection is not registered; reconnect');
  }
  // Roles can shrink on refresh: drop what the new token may no longer read.
  for (const channel of connection.channels) {
    if (!canSubscribeTo(deps.settings.channelPolicy, verified.identity, channel)) {
      await deps.store.removeSubscription(connection, channel);
    }
  }
  return serverMessage({ type: 'refreshed', id, expiresAt: iso(verified.expiresAt) });
}
