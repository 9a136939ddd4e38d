/**
 * Presence notices through publish and the fan-out workers (`core/presence-notices.ts`): a queued
 * join or leave becomes one `presence_join` / `presence_leave` frame for the channel's subscribers
 * in its tenant, never numbered nor kept; a big channel's is handed to the fan-out workers with the
 * frame itself; an event that came through the rule is never read as a notice. And the `presence`
 * reply stays under API Gateway's frame limit. Core only, against in-memory ports.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRESENCE_POLICY } from '../../core/channel-policy.js';
import { runFanoutTask } from '../../core/fanout.js';
import { fanoutTaskSchema } from '../../core/fanout-task.js';
import type { ConnectionRecord, FanoutTask, PresenceStore, SubscriberRecord } from '../../core/ports.js';
import { MAX_PRESENCE_REPLY_BYTES, presenceReply } from '../../core/presence.js';
import { announcePresence, PRESENCE_EVENT_SOURCE } from '../../core/presence-notices.js';
import { MAX_PRESENCE_MEMBERS } from '../../core/protocol.js';
import { type PublishDeps, type PublishRecord, publishBatch } from '../../core/publish.js';
import type { Settings } from '../../core/settings.js';
import { coreSettings } from '../support/core-settings.js';

const settings: Settings = coreSettings({
  presencePolicy: DEFAULT_PRESENCE_POLICY,
  fanout: { threshold: 2, callbacksPerSecond: 4000 },
});

const subscriber = (connectionId: string, tenant: string | undefined): SubscriberRecord => ({
  connectionId,
  identity: { userId: connectionId, roles: [], anonymous: false, ...(tenant ? { tenant } : {}) },
});

/** Publish's ports: `audience` subscribers, a history that must not be used, posts and tasks recorded. */
function world(audience: SubscriberRecord[]) {
  const posts: { connectionId: string; frame: Record<string, unknown> }[] = [];
  const tasks: FanoutTask[] = [];
  const warnings: string[] = [];
  const unused = async (): Promise<never> => {
    throw new Error('presence notices must not touch the history');
  };
  const deps: PublishDeps = {
    store: {
      audiencePage: async (_tenant: string | undefined, _audience: unknown, _now: number, limit: number) =>
        audience.length > limit - 1
          ? { items: audience.slice(0, limit), cursor: { pk: 'more' } }
          : { items: audience },
    } as unknown as PublishDeps['store'],
    history: { append: unused, current: unused, events: unused, replay: unused },
    gateway: {
      post: async (connectionId, data) => {
        posts.push({ connectionId, frame: JSON.parse(data) as Record<string, unknown> });
        return 'delivered';
      },
      close: async () => 'delivered',
    },
    fanout: { send: async (sent) => void tasks.push(...sent) },
    settings,
    log: { info: () => {}, warn: (message) => void warnings.push(message), error: () => {} },
  };
  return { deps, posts, tasks, warnings };
}

/** A notice as the handlers queue it. */
async function queued(
  kind: 'join' | 'leave',
  userId: string,
  tenant: string | undefined,
  id = `${kind}-${userId}`,
): Promise<PublishRecord> {
  let record: PublishRecord | undefined;
  await announcePresence(
    {
      put: async (event) => {
        record = { key: id, event };
      },
    },
    { kind, tenant, channel: 'room:1', userId },
    id,
    Date.parse('2026-11-21T12:00:00.123Z'),
  );
  return record as PublishRecord;
}

describe('presence notices through publish', () => {
  it('reach the channel subscribers of their tenant, in order, unnumbered, without the history', async () => {
    // Prepare
    const { deps, posts } = world([subscriber('a1', 'acme'), subscriber('b1', 'beta')]);
    // Act
    const { retry, report } = await publishBatch(
      [await queued('join', 'carol', 'acme'), await queued('leave', 'carol', 'acme')],
      deps,
    );
    // Assess
    expect(retry).toEqual([]);
    expect(report).toMatchObject({ deliveries: 2, refused: 1, invalidEvents: 0 });
    expect(posts).toEqual([
      {
        connectionId: 'a1',
        frame: {
          type: 'presence_join',
          channel: 'room:1',
          user: { userId: 'carol' },
          timestamp: '2026-11-21T12:00:00.123Z',
        },
      },
      {
        connectionId: 'a1',
        frame: {
          type: 'presence_leave',
          channel: 'room:1',
          user: { userId: 'carol' },
          timestamp: '2026-11-21T12:00:00.123Z',
        },
      },
    ]);
  });

  it('hand a big channel to the fan-out workers, each shard task carrying the frame itself', async () => {
    // Prepare: past the threshold (2).
    const crowd = ['x1', 'x2', 'x3', 'x4'].map((id) => subscriber(id, 'acme'));
    const { deps, posts, tasks } = world(crowd);
    // Act
    await publishBatch([await queued('join', 'dan', 'acme')], deps);
    // Assess
    expect(posts).toEqual([]);
    expect(tasks).toHaveLength(16);
    for (const task of tasks) {
      expect(fanoutTaskSchema.safeParse(task).success).toBe(true);
      expect(task).toMatchObject({ tenant: 'acme', channel: 'room:1', seqs: [] });
      expect(JSON.parse(task.payload as string)).toMatchObject({
        type: 'presence_join',
        user: { userId: 'dan' },
      });
    }
    // Act: a worker runs one shard.
    const { deps: workerDeps, posts: workerPosts } = world(crowd.slice(0, 2));
    const shard = await runFanoutTask(tasks[0] as FanoutTask, {
      ...workerDeps,
      queue: { send: async () => {} },
      budget: { take: async (n) => n },
    });
    // Assess
    expect(shard.deliveries).toBe(2);
    expect(workerPosts.map((p) => [p.connectionId, p.frame.type])).toEqual([
      ['x1', 'presence_join'],
      ['x2', 'presence_join'],
    ]);
  });

  it('are never read from an event that came through the rule: the rule needs a field notices refuse', async () => {
    // Prepare: a service poses as presence, with the `channel` the rule requires.
    const { deps, posts, warnings } = world([subscriber('a1', 'acme')]);
    const forged: PublishRecord = {
      key: 'forged',
      event: {
        id: 'forged',
        source: PRESENCE_EVENT_SOURCE,
        'detail-type': 'presence_join',
        time: '2026-11-21T12:00:00Z',
        detail: {
          channel: 'room:1',
          presence: 'join',
          presence_channel: 'room:1',
          member: 'ceo',
          tenant: 'acme',
        },
      },
    };
    // Act
    const { report } = await publishBatch([forged], deps);
    // Assess
    expect(posts).toEqual([]);
    expect(report.invalidEvents).toBe(1);
    expect(warnings).toEqual(['presence notice ignored']);
  });
});

describe('the presence reply', () => {
  const connection: ConnectionRecord = {
    connectionId: 'c1',
    identity: { userId: 'u', roles: [], anonymous: false, tenant: 'acme' },
    connectedAt: 0,
    tokenExpiresAt: 0,
    endsAt: 0,
    channels: ['room:1'],
  };
  const storeOf = (userIds: string[]): PresenceStore => ({
    join: async () => false,
    leave: async () => false,
    members: async (_t, _c, _n, limit) => ({
      members: userIds.slice(0, limit).map((userId) => ({ userId, connections: 1 })),
      count: userIds.length,
    }),
  });

  it('lists fewer members than 1,000 when their ids would pass the frame limit, with the exact count', async () => {
    // Prepare: 1,200 members with the longest user ids a token carries (256 characters).
    const ids = Array.from({ length: 1200 }, (_, i) => `${String(i).padStart(4, '0')}${'u'.repeat(252)}`);
    // Act
    const reply = await presenceReply(
      { action: 'presence', channel: 'room:1', id: 'r' },
      connection,
      { presence: storeOf(ids), settings },
      0,
    );
    // Assess
    expect(Buffer.byteLength(JSON.stringify(reply))).toBeLessThanOrEqual(MAX_PRESENCE_REPLY_BYTES);
    expect(reply).toMatchObject({ type: 'presence', count: 1200, truncated: true });
    const listed = (reply as unknown as { members: unknown[] }).members.length;
    expect(listed).toBeGreaterThan(300);
    expect(listed).toBeLessThan(MAX_PRESENCE_MEMBERS);
  });
});
