/**
 * The ports core needs from the outside world. `adapters/` implements them with DynamoDB and the
 * API Gateway Management API; core never sees an AWS SDK type.
 */
import type { Identity } from './identity.js';
import type { PresenceMember } from './protocol.js';
import type { Bucket } from './rate-limit.js';
import type { Settings } from './settings.js';

/** A registered WebSocket connection. Times are epoch seconds. */
export interface ConnectionRecord {
  readonly connectionId: string;
  readonly identity: Identity;
  readonly connectedAt: number;
  /** When the token expires; the sweep closes the connection after this. */
  readonly tokenExpiresAt: number;
  /** Hard end of the connection (API Gateway's 2-hour cap); entries expire with it. */
  readonly endsAt: number;
  readonly channels: readonly string[];
  /** The message rate bucket; absent until the first message. */
  readonly bucket?: Bucket;
}

/** What fan-out needs to know about one subscriber, to re-check policy and tenant. */
export interface SubscriberRecord {
  readonly connectionId: string;
  readonly identity: Identity;
}

export type AddSubscriptionResult = 'added' | 'already_subscribed' | 'limit_reached' | 'connection_gone';

/**
 * What a message route (`subscribe`, `unsubscribe`, `ping`, `$default`) asks of the connection
 * store: a part of `ConnectionStore` of its own, so that the message routes' bundle leaves out the
 * code of the rest (registering a connection, the sweep's scan, the fan-out's audience pages):
 * these routes weigh the most, against the handlers' size budget (`BUNDLE_BUDGET`).
 */
export interface ClientConnectionStore {
  /** The connection, or undefined when absent or past its end. */
  getConnection(connectionId: string, now: number): Promise<ConnectionRecord | undefined>;
  /**
   * Records a client message's new rate bucket. 'conflict' when another message of the same
   * connection changed the bucket since `connection` was read; `now` tells a connection past its
   * end ('gone') from one that is not. Liveness is not recorded: API Gateway keeps it, and the
   * sweep reads it there (`ConnectionStatusSource`).
   */
  recordMessage(
    connection: ConnectionRecord,
    bucket: Bucket,
    now: number,
  ): Promise<'recorded' | 'conflict' | 'gone'>;
  /** Adds a subscription within `limit` per connection; `now` as for `recordMessage`. */
  addSubscription(
    connection: ConnectionRecord,
    channel: string,
    limit: number,
    now: number,
  ): Promise<AddSubscriptionResult>;
  removeSubscription(connection: ConnectionRecord, channel: string): Promise<void>;
  /** Removes one subscription entry by key (also when its connection entry is already gone). */
  removeSubscriptionEntry(tenant: string | undefined, channel: string, connectionId: string): Promise<void>;
  /** Pages of the channel's live subscribers (one Query per page, never a Scan). */
  subscribers(
    tenant: string | undefined,
    channel: string,
    now: number,
  ): AsyncIterable<readonly SubscriberRecord[]>;
  /** Removes the connection and all its subscriptions; idempotent. */
  removeConnection(connectionId: string): Promise<void>;
  /** Replaces the token's identity and expiry (`refresh`). */
  updateToken(connection: ConnectionRecord, identity: Identity, tokenExpiresAt: number): Promise<boolean>;
  /**
   * The registered connections of one tenant (`undefined`: those without a tenant), or of every
   * tenant when `tenant` is null, for admin stats and the dashboard: read from the tenant's live
   * index in pages, never one read per connection. Includes connections whose token expired
   * and that the sweep has not removed yet (`tokenExpiresAt` tells them apart).
   */
  liveConnections(tenant: string | undefined | null, now: number): AsyncIterable<LiveConnection>;
}

/** The whole connection store: the message routes' part, and what `$connect`, the sweep and fan-out add. */
export interface ConnectionStore extends ClientConnectionStore {
  putConnection(connection: ConnectionRecord): Promise<void>;
  /**
   * Every registered connection, from the sweep index (keys only), with the moment it must be
   * closed whatever its activity: the earlier of token expiry and the 2-hour end.
   */
  sweepEntries(): AsyncIterable<SweepEntry>;
  /**
   * One page of a fan-out audience, from `cursor` on: the subscribers of one key range of a
   * channel, or the live connections of one shard of a tenant (broadcast). `cursor` undefined in
   * the result: the audience is done.
   */
  audiencePage(
    tenant: string | undefined,
    audience: Audience,
    now: number,
    limit: number,
    cursor?: Cursor,
  ): Promise<{ readonly items: readonly SubscriberRecord[]; readonly cursor?: Cursor }>;
}

/** A connection as the sweep index holds it. */
export interface SweepEntry {
  readonly connectionId: string;
  /** Epoch seconds: the earlier of token expiry and the connection's hard end. */
  readonly dueAt: number;
}

/** What the live index keeps of a connection: who, since and until when, on which channels. */
export type LiveConnection = Pick<
  ConnectionRecord,
  'connectionId' | 'identity' | 'connectedAt' | 'tokenExpiresAt' | 'channels'
>;

/** Where a fan-out resumes: DynamoDB's `LastEvaluatedKey`, opaque to core. */
export type Cursor = Readonly<Record<string, unknown>>;

/**
 * Who a fan-out shard posts to: the subscribers of a channel whose connection ids fall in key
 * range `shard` of `shards`, or every live connection of the tenant in live shard `shard`
 * (broadcast), or (`shards` 1, shard 0) the whole channel.
 */
export type Audience =
  | { readonly kind: 'channel'; readonly channel: string; readonly shard: number; readonly shards: number }
  | { readonly kind: 'live'; readonly shard: number }
  | { readonly kind: 'user'; readonly userId: string };

/**
 * One unit of fan-out work, on the fan-out queue: post the stored events `seqs` of `channel` to
 * one audience, from `cursor` on, or (`only`) to exactly these connections again.
 */
export interface FanoutTask {
  readonly tenant?: string;
  /** The channel the events are numbered and kept on (`broadcast` for a broadcast). */
  readonly channel: string;
  readonly seqs: readonly number[];
  readonly audience: Audience;
  readonly cursor?: Cursor;
  /** A retry of the connections whose posts failed, and how many tries they have had. */
  readonly only?: readonly SubscriberRecord[];
  readonly attempt?: number;
  /**
   * An unnumbered message posted as it is, instead of stored events (`seqs` is then empty): a
   * presence notice (`core/presence-notices.ts`), which is neither numbered nor kept.
   */
  readonly payload?: string;
}

/**
 * The publish queue, for events clients publish (PROTOCOL §8): they join services' events there
 * and go through the same numbering, history and fan-out.
 */
export interface EventQueue {
  put(event: {
    readonly id: string;
    readonly 'detail-type': string;
    readonly source: string;
    readonly time: string;
    readonly detail: Readonly<Record<string, unknown>>;
  }): Promise<void>;
}

/**
 * What both delivery paths need, publish (`core/publish.ts`) and the fan-out workers
 * (`core/fanout.ts`): the stores, `@connections`, settings, a log and the invocation's clock.
 */
export interface DeliveryDeps {
  readonly store: ConnectionStore;
  readonly history: ChannelHistory;
  readonly gateway: ConnectionGateway;
  readonly settings: Settings;
  readonly log: Log;
  readonly now?: () => number;
  /** What is left of the invocation's time budget (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
}

/**
 * Who is subscribed to a presence channel (PROTOCOL §8): one member entry per user of the channel
 * (per tenant), holding the ids of that user's subscribed connections. Every method is safe to
 * repeat, so a retried subscribe, unsubscribe or removal repairs what a crash left half done.
 */
export interface PresenceStore {
  /**
   * Adds the connection to the user's member entry, which is kept at least until `until` (epoch
   * seconds). True when the user had no other connection there: a join to announce (also on a
   * repeat, when this connection is still the only one, so a join lost to a crash is announced).
   */
  join(
    tenant: string | undefined,
    channel: string,
    userId: string,
    connectionId: string,
    now: number,
    until: number,
  ): Promise<boolean>;
  /**
   * Removes the connection from the user's member entry. True when none is left: a leave to
   * announce (the entry is then deleted, unless a connection of the user joined meanwhile, which
   * is then no leave).
   */
  leave(tenant: string | undefined, channel: string, userId: string, connectionId: string): Promise<boolean>;
  /** The first `limit` members by user id, and the count of every member, of the channel. */
  members(
    tenant: string | undefined,
    channel: string,
    now: number,
    limit: number,
  ): Promise<{ readonly members: readonly PresenceMember[]; readonly count: number }>;
}

/** The fan-out queue (SQS): tasks sent here are run by the fan-out workers. */
export interface FanoutQueue {
  send(tasks: readonly FanoutTask[]): Promise<void>;
}

/**
 * The account's `@connections` quota, shared by every fan-out worker: `take(n)` grants up to `n`
 * calls in the current budget window (`core/callback-pacer.ts`: a tenth of a second), 0 when the
 * window's share of the budget is used up.
 */
export interface CallbackBudget {
  take(n: number, nowMs: number): Promise<number>;
}

export type PostResult = 'delivered' | 'gone';

/** The API Gateway Management API (`@connections`), as core needs it. */
export interface ConnectionGateway {
  /** Sends one text message; 'gone' when the connection no longer exists (HTTP 410). */
  post(connectionId: string, data: string): Promise<PostResult>;
  /** Closes the connection; 'gone' when it no longer exists. */
  close(connectionId: string): Promise<PostResult>;
}

/** What API Gateway knows of a connection (`GET @connections/{id}`). */
export type ConnectionStatus = { readonly lastActiveAt: number } | 'gone';

/** API Gateway's own view of connections: liveness without a write per message. */
export interface ConnectionStatusSource {
  /** The connection's last activity (epoch seconds), or 'gone' (HTTP 410). */
  status(connectionId: string): Promise<ConnectionStatus>;
}

/** The subset of a structured logger core uses (`JsonLogger` in adapters/observability.ts). */
export interface Log {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** What core logs of a failure: its name (`ConditionalCheckFailedException`), never its message. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** A stored event as replayed: its channel sequence number and the exact message delivered. */
export interface StoredEvent {
  readonly seq: number;
  readonly payload: string;
}

export interface ReplayResult {
  readonly events: readonly StoredEvent[];
  /** False when events after the requested point are no longer retained. */
  readonly complete: boolean;
  /**
   * The highest number up to which every event is either in `events` or known lost (`complete`
   * false). Numbers above it and up to `upTo` were taken by a publish still storing them: that
   * publish posts them live, since the subscription was written before this replay read.
   */
  readonly settled: number;
  /** True when the read stopped at its `limit`: events after `settled` were not read. */
  readonly more: boolean;
}

/** An event to number and keep: its id, and the message it becomes once it has a number. */
export interface NewEvent {
  readonly eventId: string;
  readonly render: (seq: number) => string;
}

/** One channel's events of a batch. */
export interface ChannelEvents {
  readonly tenant: string | undefined;
  readonly channel: string;
  readonly events: readonly NewEvent[];
}

/** Per-channel (per-tenant) sequence numbers and the retained history of events. */
export interface ChannelHistory {
  /**
   * Gives each event its channel sequence number, in the order given, and keeps it, for every
   * channel of a batch at once. A redelivery of an event id gets the number it got before, so
   * every copy of one event is identical. Returns, per part, one stored event per input event.
   */
  append(parts: readonly ChannelEvents[], now: number): Promise<StoredEvent[][]>;
  /** The channel's latest sequence number (0 before its first event). */
  current(tenant: string | undefined, channel: string): Promise<number>;
  /** The stored events with these numbers (those still kept), in the order asked. */
  events(tenant: string | undefined, channel: string, seqs: readonly number[]): Promise<StoredEvent[]>;
  /**
   * The retained events with `after < seq <= upTo`, in order: the first `limit` of them when
   * given, so that a caller never reads more than it can deliver.
   */
  replay(
    tenant: string | undefined,
    channel: string,
    after: number,
    upTo: number,
    now: number,
    limit?: number,
  ): Promise<ReplayResult>;
}
