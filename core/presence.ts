/**
 * Presence (PROTOCOL §8): on the channels the presence policy names, Switchboard keeps who is
 * subscribed, answers `presence`, and announces a user's first connection in and last one out.
 *
 * Tracking is a `ConnectionStore` decorator (`PresenceTrackingStore`): every path that adds or
 * removes a subscription already goes through the store (subscribe, unsubscribe, a refresh that
 * drops channels, `$disconnect`, the sweep, and publish and the fan-out workers forgetting a
 * connection whose post answered 410), so wrapping the store once, where the handlers build it,
 * makes every one of them keep presence, and none of them had to change.
 *
 * Costs, whatever else the connection subscribes: a join is one write of one member entry; a
 * leave one write, and one delete when it was the user's last connection; forgetting a whole
 * connection reads its entry once more to learn its channels (`docs/presence.md`).
 */
import { canSubscribe, policyNames } from './channel-policy.js';
import {
  type AddSubscriptionResult,
  type Audience,
  type ClientConnectionStore,
  type ConnectionRecord,
  type ConnectionStore,
  type Cursor,
  type EventQueue,
  errorName,
  type LiveConnection,
  type Log,
  type PresenceStore,
  type SubscriberRecord,
  type SweepEntry,
} from './ports.js';
import { announcePresence } from './presence-notices.js';
import {
  CHANNEL_PATTERN,
  type ClientMessage,
  MAX_PRESENCE_MEMBERS,
  type PresenceMember,
  ProtocolError,
  type ServerMessage,
  serverMessage,
} from './protocol.js';
import { epochSeconds, type Settings } from './settings.js';
import { isWildcard, matchesWildcard } from './wildcards.js';

/**
 * A member entry outlives the latest join by the connection's longest life and this much more, so
 * that DynamoDB's TTL only ever removes entries whose every connection has ended: the backstop for
 * a leave that nothing could announce (see `docs/presence.md`, "limits").
 */
export const MEMBER_TTL_GRACE_SECONDS = 300;

/**
 * A `presence` reply stays under API Gateway's 128 KB frame limit: 1,000 members with 256-character
 * user ids would not, so the list stops earlier when the ids are that long (`truncated`, and
 * `count` still the total).
 */
export const MAX_PRESENCE_REPLY_BYTES = 120 * 1024;

export interface PresenceDeps {
  readonly presence: PresenceStore;
  /** The publish queue: notices reach subscribers through the same fan-out as events. */
  readonly events: EventQueue;
  readonly settings: Pick<Settings, 'presencePolicy' | 'maxConnectionSeconds'>;
  readonly log: Log;
  /** A new notice id. @default crypto.randomUUID (Web Crypto) */
  readonly newId?: () => string;
  readonly now?: () => number;
}

/** A concrete channel, the only kind with members: never a wildcard pattern (`chat:*`). */
const isPresenceChannel = (channel: string) => !isWildcard(channel) && CHANNEL_PATTERN.test(channel);

/**
 * True when `identity` is tracked as a member of `channel`: a concrete channel the policy names
 * and allows it on. A pattern subscription (`chat:*`) makes its connection a member of nothing: it
 * names no channel a user is in, only channels whose events it receives (docs/presence.md).
 */
export function isPresenceMember(
  policy: Settings['presencePolicy'],
  identity: ConnectionRecord['identity'],
  channel: string,
): boolean {
  return policy !== undefined && isPresenceChannel(channel) && canSubscribe(policy, identity, channel);
}

/**
 * True when the connection receives `channel`'s events, so its notices too: subscribed to it, or
 * to a pattern that matches it.
 */
export function receivesChannel(connection: ConnectionRecord, channel: string): boolean {
  return connection.channels.some(
    (name) => name === channel || (isWildcard(name) && matchesWildcard(name, channel)),
  );
}

/**
 * The connection store, keeping presence as subscriptions come and go. Everything else is the
 * wrapped store's.
 */
export class PresenceTrackingClientStore<S extends ClientConnectionStore = ClientConnectionStore>
  implements ClientConnectionStore
{
  constructor(
    protected readonly store: S,
    private readonly deps: PresenceDeps,
  ) {}

  private get policy() {
    return this.deps.settings.presencePolicy ?? [];
  }

  private nowMs(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async addSubscription(
    connection: ConnectionRecord,
    channel: string,
    limit: number,
    now: number,
  ): Promise<AddSubscriptionResult> {
    const result = await this.store.addSubscription(connection, channel, limit, now);
    // Also when already subscribed: a subscribe retried after a crash between the subscription and
    // the member entry completes the join (and announces it if that was lost too).
    if (
      (result === 'added' || result === 'already_subscribed') &&
      isPresenceMember(this.policy, connection.identity, channel)
    ) {
      const { userId, tenant } = connection.identity;
      const until =
        epochSeconds(this.nowMs()) + this.deps.settings.maxConnectionSeconds + MEMBER_TTL_GRACE_SECONDS;
      if (await this.deps.presence.join(tenant, channel, userId, connection.connectionId, now, until)) {
        await this.announce('join', tenant, channel, userId);
      }
    }
    return result;
  }

  async removeSubscription(connection: ConnectionRecord, channel: string): Promise<void> {
    await this.store.removeSubscription(connection, channel);
    await this.leave(connection, channel);
  }

  /**
   * The connection's leaves come first, while its entry still says which channels it had: a
   * failure then leaves the connection registered, and whoever removes it next (the sweep, within
   * a period, since API Gateway no longer has it) repeats them. Removed first, its channels would
   * be forgotten with it, and a failed leave lost for good.
   */
  async removeConnection(connectionId: string): Promise<void> {
    if (this.policy.length > 0) {
      // `now` 0: also a connection past its end, which the sweep removes.
      const connection = await this.store.getConnection(connectionId, 0);
      try {
        if (connection)
          await Promise.all(connection.channels.map((channel) => this.leave(connection, channel)));
      } catch (error) {
        this.deps.log.error('presence leave failed; the connection stays registered for the sweep', {
          connectionId,
          error: errorName(error),
        });
        return;
      }
    }
    await this.store.removeConnection(connectionId);
  }

  /**
   * Tried on every channel the policy names, not only where the user is allowed now: a refresh
   * may have taken away the role that made it a member.
   */
  private async leave(connection: ConnectionRecord, channel: string): Promise<void> {
    if (!isPresenceChannel(channel) || !policyNames(this.policy, channel)) return;
    const { userId, tenant } = connection.identity;
    if (await this.deps.presence.leave(tenant, channel, userId, connection.connectionId)) {
      await this.announce('leave', tenant, channel, userId);
    }
  }

  private announce(kind: 'join' | 'leave', tenant: string | undefined, channel: string, userId: string) {
    const id = (this.deps.newId ?? (() => globalThis.crypto.randomUUID()))();
    return announcePresence(this.deps.events, { kind, tenant, channel, userId }, id, this.nowMs());
  }

  // ---- Everything else is the wrapped store's ---------------------------------------------------

  getConnection(connectionId: string, now: number): Promise<ConnectionRecord | undefined> {
    return this.store.getConnection(connectionId, now);
  }
  recordMessage(...args: Parameters<ConnectionStore['recordMessage']>) {
    return this.store.recordMessage(...args);
  }
  removeSubscriptionEntry(tenant: string | undefined, channel: string, connectionId: string): Promise<void> {
    return this.store.removeSubscriptionEntry(tenant, channel, connectionId);
  }
  subscribers(
    tenant: string | undefined,
    channel: string,
    now: number,
  ): AsyncIterable<readonly SubscriberRecord[]> {
    return this.store.subscribers(tenant, channel, now);
  }
  updateToken(...args: Parameters<ConnectionStore['updateToken']>): Promise<boolean> {
    return this.store.updateToken(...args);
  }
  liveConnections(tenant: string | undefined | null, now: number): AsyncIterable<LiveConnection> {
    return this.store.liveConnections(tenant, now);
  }
}

/**
 * `PresenceTrackingClientStore` around the whole connection store: the message routes wrap their
 * part of it (`ClientConnectionStore`), every other handler this.
 */
export class PresenceTrackingStore
  extends PresenceTrackingClientStore<ConnectionStore>
  implements ConnectionStore
{
  putConnection(connection: ConnectionRecord): Promise<void> {
    return this.store.putConnection(connection);
  }
  sweepEntries(): AsyncIterable<SweepEntry> {
    return this.store.sweepEntries();
  }
  audiencePage(
    tenant: string | undefined,
    audience: Audience,
    now: number,
    limit: number,
    cursor?: Cursor,
  ): Promise<{ readonly items: readonly SubscriberRecord[]; readonly cursor?: Cursor }> {
    return this.store.audiencePage(tenant, audience, now, limit, cursor);
  }
}

/**
 * The reply to `presence`: the channel's members (the first `MAX_PRESENCE_MEMBERS` by user id) and
 * their count. Refused with `invalid_request` on a channel the presence policy does not name (or
 * a pattern), and with `unauthorized` to a connection not subscribed to the channel (PROTOCOL §8:
 * "only subscribers of the channel may ask"; §4: `unauthorized` is "not allowed"). A pattern
 * subscriber of a matching pattern receives the channel's notices, so it may ask too.
 */
export async function presenceReply(
  message: Extract<ClientMessage, { action: 'presence' }>,
  connection: ConnectionRecord,
  deps: {
    readonly presence?: PresenceStore;
    readonly settings: Pick<Settings, 'presencePolicy'>;
  },
  now: number,
): Promise<ServerMessage> {
  const { channel, id } = message;
  const policy = deps.settings.presencePolicy ?? [];
  if (!deps.presence || !isPresenceChannel(channel) || !policyNames(policy, channel)) {
    throw new ProtocolError('invalid_request', `presence is not tracked on "${channel}"`);
  }
  if (!receivesChannel(connection, channel)) {
    throw new ProtocolError(
      'unauthorized',
      `presence of "${channel}" is for its subscribers; subscribe first`,
    );
  }
  const read = await deps.presence.members(connection.identity.tenant, channel, now, MAX_PRESENCE_MEMBERS);
  const members = fitReply(read.members, { type: 'presence', id, channel, count: read.count });
  return serverMessage({
    type: 'presence',
    id,
    channel,
    members,
    count: read.count,
    truncated: members.length < read.count ? true : undefined,
  });
}

/** The members that fit in `MAX_PRESENCE_REPLY_BYTES` beside the rest of the reply. */
function fitReply(members: readonly PresenceMember[], rest: Record<string, unknown>): PresenceMember[] {
  // The rest of the reply, with room for `truncated` and the timestamp.
  let bytes = Buffer.byteLength(JSON.stringify({ ...rest, members: [], truncated: true }), 'utf8') + 40;
  const fitted: PresenceMember[] = [];
  for (const member of members) {
    bytes += Buffer.byteLength(JSON.stringify(member), 'utf8') + 1;
    if (bytes > MAX_PRESENCE_REPLY_BYTES) break;
    fitted.push(member);
  }
  return fitted;
}
