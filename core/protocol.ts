/**
 * The Switchboard wire protocol, v1.1: docs/protocol.md, numbered as PROTOCOL.md in the shared contract.
 *
 * One module owns every message shape, so the Lambdas, the local stack and the client SDK
 * cannot disagree about it. `parseClientMessage` is the single entry for untrusted input:
 * it never throws anything but a `ProtocolError`, and each refusal says exactly what is wrong.
 */
import * as z from './validation.js';
import { isWildcard, WILDCARD_PATTERN } from './wildcards.js';

/** Channel names: ASCII `[A-Za-z0-9_.:@-]`, 1 to 128 characters, case-sensitive. */
export const CHANNEL_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** Client correlation ids are echoed verbatim, so they are bounded. */
export const MAX_CLIENT_ID_LENGTH = 64;

/**
 * The most members a `presence` reply lists (PROTOCOL §8: `truncated` beyond); `count` is always
 * the channel's total.
 */
export const MAX_PRESENCE_MEMBERS = 1000;

/** Default bound on a client message (configurable per deployment). */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024;

export const CLIENT_ACTIONS = [
  'subscribe',
  'unsubscribe',
  'ping',
  'whoami',
  'list_channels',
  'refresh',
  'stats',
  'publish',
  'presence',
] as const;
export type ClientAction = (typeof CLIENT_ACTIONS)[number];

export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'subscription_failed',
  'rate_limited',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A refusal that becomes an `error` reply; the connection stays open. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { readonly id?: string; readonly channel?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const channelSchema = z
  .string({ error: 'channel must be a string' })
  .check(z.regex(CHANNEL_PATTERN, 'channel must be 1-128 characters of [A-Za-z0-9_.:@-]'));

/** What `subscribe` and `unsubscribe` name: a channel, or a wildcard pattern (PROTOCOL §8). */
const subscriptionSchema = z
  .string({ error: 'channel must be a string' })
  .check(
    z.refine(
      (name: string) => (isWildcard(name) ? WILDCARD_PATTERN.test(name) : CHANNEL_PATTERN.test(name)),
      'channel must be 1-128 characters of [A-Za-z0-9_.:@-], or a pattern of at most 128 ending in ":*" or ".*" (one "*", at the end)',
    ),
  );

const clientIdSchema = z
  .string({ error: 'id must be a string' })
  .check(z.maxLength(MAX_CLIENT_ID_LENGTH, `id must be at most ${MAX_CLIENT_ID_LENGTH} characters`));

const SINCE_MESSAGE = 'since must be a non-negative integer';
const sinceSchema = z
  .number({ error: SINCE_MESSAGE })
  .check(
    z.int(SINCE_MESSAGE),
    z.nonnegative(SINCE_MESSAGE),
    z.maximum(Number.MAX_SAFE_INTEGER, SINCE_MESSAGE),
  );

const base = { id: z.optional(clientIdSchema) };

/** Per-action schemas. Unknown extra fields are ignored (tolerant reader), wrong types are not. */
const actionSchemas = {
  subscribe: z.object({ ...base, channel: subscriptionSchema, since: z.optional(sinceSchema) }),
  unsubscribe: z.object({ ...base, channel: subscriptionSchema }),
  ping: z.object(base),
  whoami: z.object(base),
  list_channels: z.object(base),
  refresh: z.object({
    ...base,
    token: z.string({ error: 'token must be a string' }).check(z.minLength(1, 'token is empty')),
  }),
  stats: z.object(base),
  publish: z.object({
    ...base,
    channel: channelSchema,
    event_type: z.optional(
      z
        .string({ error: 'event_type must be a string' })
        .check(
          z.minLength(1, 'event_type is empty'),
          z.maxLength(128, 'event_type must be at most 128 characters'),
        ),
    ),
    // Any JSON; its size is bounded by the message's own limit (PROTOCOL §8).
    data: z.optional(z.unknown()),
  }),
  // A concrete channel only: presence is tracked per channel, never per pattern (PROTOCOL §8).
  presence: z.object({ ...base, channel: channelSchema }),
} as const;

type Parsed<A extends ClientAction> = z.infer<(typeof actionSchemas)[A]> & { action: A };

/** A validated client message, discriminated on `action` (the `type` alias is folded in). */
export type ClientMessage = { [A in ClientAction]: Parsed<A> }[ClientAction];

function isClientAction(value: unknown): value is ClientAction {
  return typeof value === 'string' && (CLIENT_ACTIONS as readonly string[]).includes(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The correlation id of a rejected message, when it is itself valid, so the error can carry it. */
function salvageId(candidate: Record<string, unknown>): { id?: string } {
  const id = clientIdSchema.safeParse(candidate.id);
  return id.success ? { id: id.data } : {};
}

/**
 * The correlation id of a message refused for its size, so that the client waiting on it hears
 * why. Only frames API Gateway lets through (at most 128 KB) are read, and those parse quickly.
 */
function oversizedId(raw: string, size: number): { id?: string } {
  if (size > API_GATEWAY_FRAME_BYTES) return {};
  try {
    const json: unknown = JSON.parse(raw);
    return isPlainObject(json) ? salvageId(json) : {};
  } catch {
    return {};
  }
}

/** API Gateway's largest WebSocket frame: bigger ones close the connection before any handler. */
const API_GATEWAY_FRAME_BYTES = 128 * 1024;

/**
 * Parses one client text frame. Throws `ProtocolError('invalid_request')` with a precise message
 * for anything that is not a valid message of protocol v1.
 */
export function parseClientMessage(raw: string, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): ClientMessage {
  const size = Buffer.byteLength(raw, 'utf8');
  if (size > maxBytes) {
    throw new ProtocolError(
      'invalid_request',
      `message is ${size} bytes; the limit is ${maxBytes}`,
      oversizedId(raw, size),
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ProtocolError('invalid_request', 'message is not valid JSON');
  }
  if (!isPlainObject(json)) {
    throw new ProtocolError('invalid_request', 'message must be a JSON object');
  }
  const details = salvageId(json);
  const { action, type } = json;
  if (action !== undefined && type !== undefined && action !== type) {
    throw new ProtocolError('invalid_request', '"action" and "type" disagree; send one of them', details);
  }
  const name = action ?? type;
  if (name === undefined) {
    throw new ProtocolError('invalid_request', 'message needs an "action" (or "type")', details);
  }
  if (!isClientAction(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 32)) : typeof name;
    throw new ProtocolError(
      'invalid_request',
      `unknown action ${shown}; expected one of ${CLIENT_ACTIONS.join(', ')}`,
      details,
    );
  }
  const result = actionSchemas[name].safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || name;
    const message = issue?.message ?? 'invalid message';
    throw new ProtocolError('invalid_request', `${name}: ${message} (field "${field}")`, details);
  }
  return { ...result.data, action: name } as ClientMessage;
}

/** The authenticated user, as replied to `whoami`. */
export interface UserInfo {
  readonly userId: string;
  readonly email?: string;
  readonly roles: readonly string[];
  readonly tenant?: string;
}

type Stamped<T> = T & { readonly timestamp: string };

export type EventMessage = Stamped<{
  type: 'event';
  id: string;
  channel: string;
  event_type: string;
  data: unknown;
  seq?: number;
  /** Set by the server from the token when a client published the event (PROTOCOL §8). */
  sender?: { userId: string };
}>;
export type PublishedMessage = Stamped<{ type: 'published'; id?: string; channel: string; event_id: string }>;
export type SubscribedMessage = Stamped<{
  type: 'subscribed';
  channel: string;
  id?: string;
  /** The channel's current sequence number: everything up to it was replayed or does not exist. */
  seq?: number;
  /** Only with `since`: false when events after `since` are no longer retained. */
  recovered?: boolean;
  /**
   * Only with `since`, when the replay stopped early (a time or size budget): the `seq` of the last
   * event replayed. Subscribe again with `since: next` to continue.
   */
  next?: number;
}>;
export type UnsubscribedMessage = Stamped<{ type: 'unsubscribed'; channel: string; id?: string }>;
export type PongMessage = Stamped<{ type: 'pong'; id?: string }>;
export type ConnectedMessage = Stamped<{
  type: 'connected';
  id?: string;
  connectionId: string;
  user: UserInfo;
  authorizedChannels: readonly string[];
  expiresAt: string;
}>;
export type RefreshedMessage = Stamped<{ type: 'refreshed'; id?: string; expiresAt: string }>;
export type ChannelsMessage = Stamped<{
  type: 'channels';
  id?: string;
  authorized: readonly string[];
  subscribed: readonly string[];
}>;
export type StatsMessage = Stamped<{
  type: 'stats';
  id?: string;
  connections: number;
  subscriptions: number;
  channels: number;
}>;
/** One member of a presence channel: a user, however many of its connections are subscribed. */
export interface PresenceMember {
  readonly userId: string;
  /** How many of the user's connections are subscribed to the channel. */
  readonly connections: number;
}
export type PresenceMessage = Stamped<{
  type: 'presence';
  id?: string;
  channel: string;
  /** At most `MAX_PRESENCE_MEMBERS` members, ordered by `userId`. */
  members: readonly PresenceMember[];
  /** Every member of the channel, also those left out of `members`. */
  count: number;
  /** Present (true) when `members` holds fewer than `count`. */
  truncated?: boolean;
}>;
/** A user's first connection subscribed to a presence channel. Not numbered, not kept. */
export type PresenceJoinMessage = Stamped<{
  type: 'presence_join';
  channel: string;
  user: { userId: string };
}>;
/** A user's last connection left a presence channel. Not numbered, not kept. */
export type PresenceLeaveMessage = Stamped<{
  type: 'presence_leave';
  channel: string;
  user: { userId: string };
}>;
export type ErrorMessage = Stamped<{
  type: 'error';
  code: ErrorCode;
  message: string;
  id?: string;
  channel?: string;
}>;

export type ServerMessage =
  | EventMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | PongMessage
  | ConnectedMessage
  | RefreshedMessage
  | ChannelsMessage
  | StatsMessage
  | PublishedMessage
  | PresenceMessage
  | PresenceJoinMessage
  | PresenceLeaveMessage
  | ErrorMessage;

type OptionalKeys<T> = {
  [K in keyof T]-?: undefined extends T[K] ? K : Record<never, never> extends Pick<T, K> ? K : never;
}[keyof T];
/** A message before stamping; optional fields may be passed as `undefined` and are then dropped. */
type Unstamped<M> = M extends unknown
  ? Omit<M, 'timestamp' | OptionalKeys<M>> & { [K in OptionalKeys<M>]?: M[K] | undefined }
  : never;

/** Adds the ISO 8601 UTC `timestamp` every server message carries, and drops absent optionals. */
export function serverMessage<M extends Unstamped<ServerMessage>>(message: M, now: Date = new Date()) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (value !== undefined) out[key] = value;
  }
  out.timestamp = now.toISOString();
  return out as unknown as Extract<ServerMessage, { type: M['type'] }>;
}

/** The `error` reply for a refusal. */
export function errorMessage(error: ProtocolError, now?: Date): ErrorMessage {
  const { id, channel } = error.details;
  return serverMessage({ type: 'error', code: error.code, message: error.message, id, channel }, now);
}
