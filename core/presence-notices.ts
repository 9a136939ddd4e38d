/**
 * Presence notices on the publish queue (PROTOCOL §8). A join or a leave is put on the publish
 * queue as an event envelope of source `switchboard.presence`, beside services' and clients'
 * events, so it reaches the channel's subscribers through the same fan-out (sharded for a big
 * channel, policy and tenant checked again at each post); unlike an event it is never numbered
 * nor kept, and it becomes a `presence_join` / `presence_leave` frame, not an `event`.
 *
 * Its detail names none of `channel`, `channels`, `user`, `connection_id` and `broadcast`, and
 * publish reads it as a strict object: the EventBridge rule passes only details with one of those
 * (`adapters/event-pattern.ts`), so no event that came through the rule, whatever its source,
 * can be read as a notice. Only the handlers that put notices on the queue themselves can.
 */
import type { EventQueue } from './ports.js';
import { CHANNEL_PATTERN, serverMessage } from './protocol.js';
import * as z from './validation.js';

/** The `source` of presence notices on the publish queue. */
export const PRESENCE_EVENT_SOURCE = 'switchboard.presence';

/** A user id as tokens carry it (`sub`, 1 to 256 characters: `adapters/token-verifier.ts`). */
const userIdSchema = z.string().check(z.minLength(1), z.maxLength(256));
const channelNameSchema = z.string().check(z.regex(CHANNEL_PATTERN));

export const presenceNoticeSchema = z.strictObject({
  presence: z.enum(['join', 'leave']),
  presence_channel: channelNameSchema,
  member: userIdSchema,
  tenant: z.optional(channelNameSchema),
});

export type PresenceNoticeDetail = z.infer<typeof presenceNoticeSchema>;

/** A join or leave, ready to post: the frame, and where it goes. */
export interface PresenceNotice {
  readonly tenant: string | undefined;
  readonly channel: string;
  readonly payload: string;
}

/** Puts one notice on the publish queue. */
export async function announcePresence(
  events: EventQueue,
  notice: {
    readonly kind: 'join' | 'leave';
    readonly tenant: string | undefined;
    readonly channel: string;
    readonly userId: string;
  },
  id: string,
  nowMs: number,
): Promise<void> {
  const detail: PresenceNoticeDetail = {
    presence: notice.kind,
    presence_channel: notice.channel,
    member: notice.userId,
    ...(notice.tenant !== undefined ? { tenant: notice.tenant } : {}),
  };
  await events.put({
    id,
    'detail-type': `presence_${notice.kind}`,
    source: PRESENCE_EVENT_SOURCE,
    // Milliseconds kept (EventBridge's own times are whole seconds): a join and a leave of one
    // user in the same second stay in order by their timestamps.
    time: new Date(nowMs).toISOString(),
    detail,
  });
}

/**
 * The notice a queued event carries: undefined when it is not one, an error message when it
 * claims to be one but is malformed.
 */
export function readPresenceNotice(event: {
  readonly source: string;
  readonly time: string;
  readonly detail: unknown;
}): PresenceNotice | string | undefined {
  if (event.source !== PRESENCE_EVENT_SOURCE) return undefined;
  const parsed = presenceNoticeSchema.safeParse(event.detail);
  if (!parsed.success) return parsed.error.issues.map((i) => i.message).join('; ');
  const { presence, presence_channel: channel, member, tenant } = parsed.data;
  const timestamp = Number.isNaN(Date.parse(event.time)) ? new Date() : new Date(event.time);
  const payload = JSON.stringify(
    serverMessage(
      { type: presence === 'join' ? 'presence_join' : 'presence_leave', channel, user: { userId: member } },
      timestamp,
    ),
  );
  return { tenant, channel, payload };
}
