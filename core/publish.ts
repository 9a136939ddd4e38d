/**
 * Fan-out (PROTOCOL §6): an EventBridge event becomes one `event` message per channel, posted to
 * every live subscriber of that channel in the event's tenant. Events arrive in batches (the
 * publish queue, `lambdas/publish-pipeline.ts`); a batch's events for one channel are numbered
 * together. Policy and tenant are checked again here, so a stale or forged subscription entry can
 * never receive what it may not read.
 */
import { canSubscribe } from './channel-policy.js';
import { AdaptiveLimit, deliverAll, POST_REQUEST_TIMEOUT_MS } from './delivery.js';
import { BROADCAST_CHANNEL, shardTasks } from './fanout.js';
import {
  type Audience,
  type DeliveryDeps,
  errorName,
  type FanoutQueue,
  type Log,
  type StoredEvent,
} from './ports.js';
import { readPresenceNotice } from './presence-notices.js';
import { CHANNEL_PATTERN, serverMessage } from './protocol.js';
import { CLIENT_EVENT_SOURCE, publisherRefusal } from './publishers.js';
import { epochSeconds } from './settings.js';
import * as z from './validation.js';

/** API Gateway refuses WebSocket messages over 128 KB. */
export const MAX_EVENT_BYTES = 128 * 1024;
export const MAX_CHANNELS_PER_EVENT = 100;

/** A user id that makes a valid `user:{id}` channel name. */
const USER_PATTERN = /^[A-Za-z0-9_.:@-]{1,123}$/;

export const publishDetailSchema = z
  .object({
    channel: z.optional(z.string()),
    channels: z.optional(z.array(z.string()).check(z.maxLength(MAX_CHANNELS_PER_EVENT))),
    data: z.optional(z.unknown()),
    event_type: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    tenant: z.optional(
      z.string().check(z.regex(CHANNEL_PATTERN, 'tenant must be 1-128 characters of [A-Za-z0-9_.:@-]')),
    ),
    broadcast: z.optional(z.literal(true, 'broadcast must be true when given')),
    // A user id becomes the channel `user:{id}`, so it must keep to the channel grammar.
    user: z.optional(
      z.string().check(z.regex(USER_PATTERN, 'user must be 1-123 characters of [A-Za-z0-9_.:@-]')),
    ),
    connection_id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    // Set by the message routes from the token of a client that published (PROTOCOL §8).
    sender: z.optional(z.object({ userId: z.string() })),
  })
  .check(
    z.refine(
      (d) =>
        d.channel !== undefined ||
        d.channels !== undefined ||
        d.broadcast === true ||
        d.user !== undefined ||
        d.connection_id !== undefined,
      'detail needs "channel", "channels", "user", "connection_id" or "broadcast"',
    ),
  );

type PublishDetail = z.infer<typeof publishDetailSchema>;

/** The part of an EventBridge event envelope that publish reads. */
export interface BusEvent {
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly time: string;
  readonly detail: unknown;
}

export interface PublishDeps extends DeliveryDeps {
  /** Where big channels' and broadcasts' shard tasks go (`core/fanout.ts`). */
  readonly fanout: FanoutQueue;
}

/** One queued event: `key` names it to the queue (the SQS message id) when it must be retried. */
export interface PublishRecord {
  readonly key: string;
  readonly event: BusEvent;
}

export interface PublishReport {
  readonly events: number;
  readonly channels: number;
  readonly deliveries: number;
  readonly gone: number;
  readonly failed: number;
  readonly oversized: number;
  readonly refused: number;
  readonly throttled: number;
  readonly invalidEvents: number;
  /** Events whose source may not publish (to their tenant): refused, never delivered. */
  readonly unauthorizedEvents: number;
  readonly invalidChannels: number;
  /** Channels (or broadcasts) handed to the fan-out workers, shard by shard. */
  readonly sharded: number;
}

export interface PublishResult {
  /** Records to retry: some of their deliveries failed, or there was no time left to start them. */
  readonly retry: readonly string[];
  readonly report: PublishReport;
}

/** Time a channel needs left in the invocation to be started at all (its numbering and a page). */
const START_MARGIN_MS = 10_000;
/**
 * No post starts later than this before the invocation ends: a post started at the last moment
 * may take its whole request timeout, and the bookkeeping after the posts still has to run.
 */
const POST_MARGIN_MS = POST_REQUEST_TIMEOUT_MS + 2_000;
/** Channels of one batch numbered and fanned out at once; their posts share one concurrency limit. */
const CHANNELS_AT_ONCE = 8;

/** The events of one batch for one channel of one tenant, in the order they were queued. */
interface ChannelBatch {
  readonly tenant: string | undefined;
  readonly channel: string;
  /** `Detail.user`: the user's every connection, instead of the channel's subscribers. */
  readonly userId?: string;
  /** A presence notice (`core/presence-notices.ts`): one message, posted as it is, never numbered. */
  readonly unnumbered?: true;
  readonly events: {
    readonly key: string;
    readonly eventId: string;
    readonly render: (seq: number) => string;
  }[];
}

/**
 * Publishes a batch of queued events: each channel's events are numbered together (one counter
 * update per channel per batch, `ChannelHistory.append`), then posted to every subscriber, in
 * order. A failure never stops the rest of the batch: the records it touched are returned to be
 * retried (their already-numbered events keep their `seq`).
 */
export async function publishBatch(
  records: readonly PublishRecord[],
  deps: PublishDeps,
): Promise<PublishResult> {
  const report = { ...EMPTY_REPORT };
  const batches = new Map<string, ChannelBatch>();
  const directs: { key: string; tenant: string | undefined; connectionId: string; payload: string }[] = [];
  // Presence notices: a channel's subscribers, like events, but neither numbered nor kept; one
  // channel's notices go out in the order they were queued, as its events do.
  const notices = new Map<string, { batch: ChannelBatch; stored: StoredEvent[] }>();
  for (const { key, event } of records) {
    const notice = readPresenceNotice(event);
    if (typeof notice === 'string') {
      report.invalidEvents += 1;
      deps.log.warn('presence notice ignored', { eventId: event.id, reason: notice });
      continue;
    }
    if (notice) {
      const { tenant, channel, payload } = notice;
      const id = `${tenant ?? ''}#${channel}`;
      const entry = notices.get(id) ?? {
        batch: { tenant, channel, unnumbered: true, events: [] },
        stored: [],
      };
      entry.batch.events.push({ key, eventId: event.id, render: () => payload });
      entry.stored.push({ seq: 0, payload });
      notices.set(id, entry);
      continue;
    }
    const parsed = publishDetailSchema.safeParse(event.detail);
    if (!parsed.success) {
      // Retrying cannot fix a malformed detail: record it and let the event go.
      report.invalidEvents += 1;
      deps.log.warn('event ignored', {
        eventId: event.id,
        reason: parsed.error.issues.map((i) => i.message).join('; '),
      });
      continue;
    }
    // The rule already filters sources; this holds even when an event gets past it.
    const refusal = publisherRefusal(deps.settings.publishers, event.source, parsed.data.tenant);
    if (refusal) {
      report.unauthorizedEvents += 1;
      deps.log.warn('event refused: its source may not publish there', {
        eventId: event.id,
        source: event.source,
        tenant: parsed.data.tenant ?? null,
        reason: refusal,
      });
      continue;
    }
    report.events += 1;
    const timestamp = eventTime(event);
    for (const line of channelMessages(event, parsed.data, timestamp, deps.log, report)) {
      const id = `${line.tenant ?? ''}#${line.channel}#${line.userId ?? ''}`;
      let batch = batches.get(id);
      if (!batch) {
        batch = {
          tenant: line.tenant,
          channel: line.channel,
          ...(line.userId !== undefined ? { userId: line.userId } : {}),
          events: [],
        };
        batches.set(id, batch);
      }
      batch.events.push({ key, eventId: event.id, render: line.render });
    }
    const direct = directMessage(event, parsed.data, timestamp, deps.log, report);
    if (direct) directs.push({ key, ...direct });
  }
  report.channels = batches.size + notices.size;

  const nowMs = deps.now ?? Date.now;
  const budget = deps.remainingTimeMs?.() ?? 30_000;
  const end = nowMs() + budget;
  const retry = new Set<string>();
  const limit = new AdaptiveLimit(deps.settings.publishConcurrency, nowMs);
  for (const key of await postDirect(directs, deps, report)) retry.add(key);
  const all = [...batches.values()];
  if (all.length === 0 && notices.size === 0) return { retry: [...retry], report };
  if (end - nowMs() < START_MARGIN_MS) {
    // Not started: retried whole later, and nobody gets a copy twice.
    const unstarted = [...all, ...[...notices.values()].map((n) => n.batch)];
    return { retry: [...new Set(unstarted.flatMap((b) => b.events.map((e) => e.key)))], report };
  }
  let stored: StoredEvent[][];
  try {
    // Every channel of the batch numbered and kept at once: one marker read, one counter update
    // per channel, the writes 25 to a request.
    stored = all.length > 0 ? await deps.history.append(all, epochSeconds(nowMs())) : [];
  } catch (error) {
    // DynamoDB failed (after the SDK's own retries): the whole batch is retried. What was
    // numbered keeps its number.
    deps.log.error('numbering failed', {
      channels: all.length,
      error: errorName(error),
    });
    const unposted = [...all, ...[...notices.values()].map((n) => n.batch)];
    return { retry: [...new Set(unposted.flatMap((b) => b.events.map((e) => e.key)))], report };
  }
  const queue = [
    ...all.map((batch, i) => ({ batch, stored: stored[i] as StoredEvent[] })),
    ...notices.values(),
  ];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const failedKeys = await publishChannel(next.batch, next.stored, deps, report, {
        limit,
        deadline: end - POST_MARGIN_MS,
      });
      for (const key of failedKeys) retry.add(key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHANNELS_AT_ONCE, queue.length) }, worker));
  return { retry: [...retry], report };
}

const EMPTY_REPORT = {
  events: 0,
  channels: 0,
  deliveries: 0,
  gone: 0,
  failed: 0,
  oversized: 0,
  refused: 0,
  throttled: 0,
  invalidEvents: 0,
  unauthorizedEvents: 0,
  invalidChannels: 0,
  sharded: 0,
};

type MutableReport = { -readonly [K in keyof PublishReport]: PublishReport[K] };

/** The event as one `event` message per valid channel, rendered once its seq is known. */
/** The event's `time`, read once: its messages' `timestamp` (now, when it is not a date). */
function eventTime(event: BusEvent): Date {
  const ms = Date.parse(event.time);
  return Number.isNaN(ms) ? new Date() : new Date(ms);
}

function channelMessages(
  event: BusEvent,
  detail: PublishDetail,
  timestamp: Date,
  log: Log,
  report: MutableReport,
) {
  const requested = [
    ...new Set([
      ...(detail.channel !== undefined ? [detail.channel] : []),
      ...(detail.channels ?? []),
      ...(detail.broadcast ? [BROADCAST_CHANNEL] : []),
    ]),
  ];
  const channels = requested.filter((c) => CHANNEL_PATTERN.test(c));
  if (channels.length < requested.length) {
    report.invalidChannels += requested.length - channels.length;
    log.warn('event names channels that break the grammar; they are skipped', {
      eventId: event.id,
      skipped: requested.length - channels.length,
    });
  }
  const lines: {
    tenant: string | undefined;
    channel: string;
    userId?: string;
    render: (seq: number) => string;
  }[] = [];
  // `Detail.user` is the channel `user:{id}` delivered to that user's every connection; named in
  // `channels` as well, it is delivered once, the direct way.
  const userChannel = detail.user !== undefined ? `user:${detail.user}` : undefined;
  const targets = [
    ...channels.filter((c) => c !== userChannel).map((channel) => ({ channel, userId: undefined })),
    ...(userChannel ? [{ channel: userChannel, userId: detail.user }] : []),
  ];
  for (const { channel, userId } of targets) {
    const render = (seq: number) =>
      JSON.stringify(
        serverMessage(
          {
            type: 'event',
            id: event.id,
            channel,
            event_type: detail.event_type ?? event['detail-type'],
            data: detail.data ?? null,
            seq,
            // Only the message routes set it, from a token (PROTOCOL §8): a service cannot speak
            // for a user.
            ...(detail.sender && event.source === CLIENT_EVENT_SOURCE
              ? { sender: { userId: detail.sender.userId } }
              : {}),
          },
          timestamp,
        ),
      );
    // Measured with the largest possible seq, before one is spent on an event that cannot be sent.
    const size = Buffer.byteLength(render(Number.MAX_SAFE_INTEGER), 'utf8');
    if (size > MAX_EVENT_BYTES) {
      report.oversized += 1;
      log.warn('event too large to deliver; not posted', { eventId: event.id, channel, bytes: size });
      continue;
    }
    lines.push({ tenant: detail.tenant, channel, ...(userId !== undefined ? { userId } : {}), render });
  }
  return lines;
}

/** `Detail.connection_id`: one message, unnumbered and not kept, on channel `connection:{id}`. */
function directMessage(
  event: BusEvent,
  detail: PublishDetail,
  timestamp: Date,
  log: Log,
  report: MutableReport,
) {
  if (detail.connection_id === undefined) return undefined;
  const payload = JSON.stringify(
    serverMessage(
      {
        type: 'event',
        id: event.id,
        // A label only: connection ids may hold `=`, outside the channel grammar (PROTOCOL §6).
        channel: `connection:${detail.connection_id}`,
        event_type: detail.event_type ?? event['detail-type'],
        data: detail.data ?? null,
      },
      timestamp,
    ),
  );
  if (Buffer.byteLength(payload, 'utf8') > MAX_EVENT_BYTES) {
    report.oversized += 1;
    log.warn('event too large to deliver; not posted', { eventId: event.id, bytes: payload.length });
    return undefined;
  }
  return { tenant: detail.tenant, connectionId: detail.connection_id, payload };
}

/**
 * Posts messages addressed to one connection, if it exists and belongs to the message's tenant
 * (another tenant's connection id is refused as if it did not exist). Returns keys to retry.
 */
async function postDirect(
  directs: readonly { key: string; tenant: string | undefined; connectionId: string; payload: string }[],
  deps: PublishDeps,
  report: MutableReport,
): Promise<string[]> {
  const retry: string[] = [];
  const nowMs = deps.now ?? Date.now;
  for (const direct of directs) {
    try {
      const connection = await deps.store.getConnection(direct.connectionId, epochSeconds(nowMs()));
      if (!connection || connection.identity.tenant !== direct.tenant) {
        report.refused += 1;
        deps.log.warn('direct message to no connection of its tenant; not posted', {
          connectionId: direct.connectionId,
        });
        continue;
      }
      if ((await deps.gateway.post(direct.connectionId, direct.payload)) === 'gone') {
        report.gone += 1;
        await deps.store.removeConnection(direct.connectionId);
      } else {
        report.deliveries += 1;
      }
    } catch (error) {
      report.failed += 1;
      retry.push(direct.key);
      deps.log.error('direct message failed', {
        connectionId: direct.connectionId,
        error: errorName(error),
      });
    }
  }
  return retry;
}

/**
 * Posts one channel's numbered events to every live subscriber, or hands them to the fan-out
 * workers. Returns the keys of the records that must be retried.
 */
async function publishChannel(
  batch: ChannelBatch,
  stored: readonly StoredEvent[],
  deps: PublishDeps,
  report: MutableReport,
  options: { readonly limit: AdaptiveLimit; readonly deadline: number },
): Promise<Set<string>> {
  const { tenant, channel } = batch;
  const nowMs = deps.now ?? Date.now;
  const retry = new Set<string>();
  try {
    const events = batch.events.map((e, i) => ({ key: e.key, payload: (stored[i] as StoredEvent).payload }));
    const seqs = [...new Set(stored.map((e) => e.seq))];
    // A broadcast's audience is every live connection of the tenant: always shard by shard.
    if (channel === BROADCAST_CHANNEL) {
      await deps.fanout.send(shardTasks(tenant, channel, seqs, 'live'));
      report.sharded += 1;
      return retry;
    }
    const whole: Audience = batch.userId
      ? { kind: 'user', userId: batch.userId }
      : { kind: 'channel', channel, shard: 0, shards: 1 };
    // One more than the threshold: a page that reaches its Limit carries a cursor even when
    // nothing follows (DynamoDB's LastEvaluatedKey), so a channel of exactly `threshold` would
    // be handed to the workers.
    const first = await deps.store.audiencePage(
      tenant,
      whole,
      epochSeconds(nowMs()),
      deps.settings.fanout.threshold + 1,
    );
    // With wildcard subscribers the page merges several partitions (each read up to the limit),
    // so it can hold more than the threshold without a cursor.
    if ((first.cursor || first.items.length > deps.settings.fanout.threshold) && !batch.userId) {
      // More subscribers than one invocation should post to: the fan-out workers take it.
      await deps.fanout.send(
        batch.unnumbered
          ? events.flatMap((e) => shardTasks(tenant, channel, [], 'channel', e.payload))
          : shardTasks(tenant, channel, seqs, 'channel'),
      );
      report.sharded += 1;
      return retry;
    }
    const page = first.items;
    // A direct message to a user reaches that user's connections whether subscribed or not.
    const allowed = page.filter(
      (s) =>
        s.identity.tenant === tenant &&
        (batch.userId !== undefined
          ? s.identity.userId === batch.userId
          : canSubscribe(deps.settings.channelPolicy, s.identity, channel)),
    );
    report.refused += page.length - allowed.length;
    // Event after event, so each subscriber's posts start in seq order.
    const targets = events.flatMap((event) => allowed.map((subscriber) => ({ event, subscriber })));
    const result = await deliverAll(
      targets,
      (t) => deps.gateway.post(t.subscriber.connectionId, t.event.payload),
      {
        maxConcurrency: deps.settings.publishConcurrency,
        limit: options.limit,
        deadline: options.deadline,
        now: nowMs,
      },
    );
    report.deliveries += result.delivered;
    report.throttled += result.throttled;
    report.failed += result.failed.length;
    for (const { target, error } of result.failed) {
      retry.add(target.event.key);
      deps.log.error('delivery failed', {
        channel,
        connectionId: target.subscriber.connectionId,
        error: errorName(error),
      });
    }
    // Gone connections are forgotten, and this entry by key in case its connection entry was
    // already removed (a subscribe racing a disconnect can leave one behind).
    const gone = new Set(result.gone.map((t) => t.subscriber.connectionId));
    report.gone += gone.size;
    for (const connectionId of gone) {
      await deps.store.removeConnection(connectionId);
      await deps.store.removeSubscriptionEntry(tenant, channel, connectionId);
    }
  } catch (error) {
    // DynamoDB or the fan-out queue failed for this channel: retry its records later.
    for (const e of batch.events) retry.add(e.key);
    deps.log.error('channel publish failed', {
      channel,
      events: batch.events.length,
      error: errorName(error),
    });
  }
  return retry;
}
