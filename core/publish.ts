/**
 * Fan-out (PROTOCOL §6): an EventBridge event becomes one `event` message per channel, posted to
 * every live subscriber of that channel in the event's tenant. Policy and tenant are checked again
 * here, so a stale or forged subscription entry can never receive what it may not read.
 */
import { z } from 'zod';
import { canSubscribe } from './channel-policy.js';
import { deliverAll } from './delivery.js';
import type { ChannelHistory, ConnectionGateway, ConnectionStore, Log } from './ports.js';
import { CHANNEL_PATTERN, serverMessage } from './protocol.js';
import { epochSeconds, type Settings } from './settings.js';

/** API Gateway refuses WebSocket messages over 128 KB. */
export const MAX_EVENT_BYTES = 128 * 1024;
export const MAX_CHANNELS_PER_EVENT = 100;

export const publishDetailSchema = z
  .object({
    channel: z.string().optional(),
    channels: z.array(z.string()).max(MAX_CHANNELS_PER_EVENT).optional(),
    data: z.unknown().optional(),
    event_type: z.string().min(1).max(128).optional(),
    tenant: z
      .string()
      .regex(CHANNEL_PATTERN, 'tenant must be 1-128 characters of [A-Za-z0-9_.:@-]')
      .optional(),
  })
  .refine((d) => d.channel !== undefined || d.channels !== undefined, 'detail needs "channel" or "channels"');

/** The part of an EventBridge event envelope that publish reads. */
export interface BusEvent {
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly time: string;
  readonly detail: unknown;
}

export interface PublishDeps {
  readonly store: ConnectionStore;
  readonly history: ChannelHistory;
  readonly gateway: ConnectionGateway;
  readonly settings: Settings;
  readonly log: Log;
  readonly now?: () => number;
  /** What is left of the invocation's time budget (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
}

export interface PublishReport {
  readonly channels: number;
  readonly deliveries: number;
  readonly gone: number;
  readonly failed: number;
  readonly oversized: number;
  readonly refused: number;
  readonly throttled: number;
  readonly invalidChannels: number;
}

/** Some deliveries failed for reasons other than a gone connection; retrying the event is safe. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
}

/** An event whose detail is not a Switchboard publish; retrying cannot help. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

export async function publishEvent(event: BusEvent, deps: PublishDeps): Promise<PublishReport> {
  const parsed = publishDetailSchema.safeParse(event.detail);
  if (!parsed.success) {
    throw new InvalidEventError(`event ${event.id}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  const detail = parsed.data;
  const requested = [
    ...new Set([...(detail.channel !== undefined ? [detail.channel] : []), ...(detail.channels ?? [])]),
  ];
  const channels = requested.filter((c) => CHANNEL_PATTERN.test(c));
  const report = {
    channels: channels.length,
    deliveries: 0,
    gone: 0,
    failed: 0,
    oversized: 0,
    refused: 0,
    throttled: 0,
  };
  if (channels.length < requested.length) {
    deps.log.warn('event names channels that break the grammar; they are skipped', {
      eventId: event.id,
      skipped: requested.length - channels.length,
    });
  }
  const timestamp = Number.isNaN(Date.parse(event.time)) ? new Date() : new Date(event.time);
  const nowSeconds = epochSeconds(deps.now?.() ?? Date.now());
  for (const channel of channels) {
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
          },
          timestamp,
        ),
      );
    // Measured with the largest possible seq, before one is spent on an event that cannot be sent.
    const size = Buffer.byteLength(render(Number.MAX_SAFE_INTEGER), 'utf8');
    if (size > MAX_EVENT_BYTES) {
      report.oversized += 1;
      deps.log.warn('event too large to deliver; not posted', { eventId: event.id, channel, bytes: size });
      continue;
    }
    const { payload } = await deps.history.append(detail.tenant, channel, event.id, render, nowSeconds);
    await fanOut(channel, detail.tenant, payload, deps, report);
  }
  if (report.failed > 0) throw new DeliveryError(`event ${event.id}: ${report.failed} deliveries failed`);
  return { ...report, invalidChannels: requested.length - channels.length };
}

async function fanOut(
  channel: string,
  tenant: string | undefined,
  payload: string,
  deps: PublishDeps,
  report: { deliveries: number; gone: number; failed: number; refused: number; throttled: number },
): Promise<void> {
  const nowMs = deps.now ?? Date.now;
  const now = epochSeconds(nowMs());
  // Keep a margin of the invocation's budget for the bookkeeping after the posts.
  const deadline = nowMs() + Math.max(0, (deps.remainingTimeMs?.() ?? 30_000) - 2_000);
  for await (const page of deps.store.subscribers(tenant, channel, now)) {
    const allowed = page.filter(
      (s) => s.identity.tenant === tenant && canSubscribe(deps.settings.channelPolicy, s.identity, channel),
    );
    report.refused += page.length - allowed.length;
    const result = await deliverAll(allowed, (s) => deps.gateway.post(s.connectionId, payload), {
      maxConcurrency: deps.settings.publishConcurrency,
      deadline,
      now: nowMs,
    });
    report.deliveries += result.delivered;
    report.throttled += result.throttled;
    report.gone += result.gone.length;
    report.failed += result.failed.length;
    for (const { target, error } of result.failed) {
      deps.log.error('delivery failed', {
        channel,
        connectionId: target.connectionId,
        error: error instanceof Error ? error.name : typeof error,
      });
    }
    // Gone connections are forgotten, and this entry by key in case its connection entry was
    // already removed (a subscribe racing a disconnect can leave one behind).
    for (const subscriber of result.gone) {
      await deps.store.removeConnection(subscriber.connectionId);
      await deps.store.removeSubscriptionEntry(tenant, channel, subscriber.connectionId);
    }
  }
}
