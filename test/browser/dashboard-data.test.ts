/**
 * The data behind the dashboard, without a browser: the bounded record of recent events and
 * their delivery counts, and the state an admin sees (scoped to the admin's tenant, as `stats` is).
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../core/ports.js';
import { LocalActivity, MAX_RECORDED_EVENTS } from '../../local/console/activity.js';
import { dashboardState } from '../../local/console/web-console.js';
import type { EventEnvelope } from '../../local/emulator/put-events.js';
import type { GatewayConnection } from '../../local/emulator/websocket-gateway.js';

function envelope(id: string, detail: Record<string, unknown>): EventEnvelope {
  return {
    version: '0',
    id,
    'detail-type': 'test_event',
    source: 'tests',
    account: '000000000000',
    time: '2026-11-21T12:00:00Z',
    region: 'local',
    resources: [],
    detail,
  };
}

const frame = (value: unknown) => Buffer.from(JSON.stringify(value));

function record(connectionId: string, userId: string, channels: string[], tenant?: string): ConnectionRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    connectionId,
    identity: { userId, roles: [], anonymous: false, ...(tenant ? { tenant } : {}) },
    connectedAt: now - 10,
    tokenExpiresAt: now + 600,
    endsAt: now + 7200,
    channels,
  };
}

function socket(connectionId: string): GatewayConnection {
  return {
    connectionId,
    state: 'open',
    connectedAt: Date.now() - 10_000,
    lastActiveAt: Date.now(),
    identity: { sourceIp: '127.0.0.1' },
    protocol: undefined,
  };
}

describe('the record of recent events', () => {
  it('keeps the last 100 entries, newest first, and counts every accepted one', () => {
    // Prepare
    const activity = new LocalActivity();
    // Act
    for (let i = 0; i < MAX_RECORDED_EVENTS + 5; i++) {
      activity.accepted(envelope(`e${i}`, { channel: 'news' }), 'publishing');
    }
    // Assess
    const recent = activity.recent();
    expect(recent).toHaveLength(MAX_RECORDED_EVENTS);
    expect(recent[0]?.id).toBe(`e${MAX_RECORDED_EVENTS + 4}`);
    expect(recent.at(-1)?.id).toBe('e5');
    expect(activity.totalEvents).toBe(MAX_RECORDED_EVENTS + 5);
  });

  it('counts event frames posted to @connections by event id, delivered or gone, and nothing else', () => {
    // Prepare
    const activity = new LocalActivity();
    activity.accepted(envelope('e1', { channels: ['a', 'b'], data: { n: 1 }, tenant: 'acme' }), 'publishing');
    let changes = 0;
    activity.onChange(() => {
      changes += 1;
    });
    // Act
    activity.posted(frame({ type: 'event', id: 'e1', channel: 'a' }), true);
    activity.posted(frame({ type: 'event', id: 'e1', channel: 'b' }), true);
    activity.posted(frame({ type: 'event', id: 'e1', channel: 'a' }), false);
    activity.posted(frame({ type: 'subscribed', id: 'e1', channel: 'a' }), true);
    activity.posted(frame({ type: 'event', id: 'unknown' }), true);
    activity.posted(Buffer.from('{"type":"event", not json'), true);
    activity.settled('e1', 'published');
    // Assess
    expect(activity.recent()[0]).toMatchObject({
      id: 'e1',
      channels: ['a', 'b'],
      tenant: 'acme',
      dataPreview: '{"n":1}',
      status: 'published',
      deliveries: 2,
      gone: 1,
    });
    expect(changes).toBe(4);
  });
});

describe('the dashboard state', () => {
  const records = [
    record('c-acme', 'alice', ['orders', 'news'], 'acme'),
    record('c-globex', 'bob', ['orders'], 'globex'),
    record('c-none', 'carol', ['news']),
    // In the table without an open socket: its $disconnect was lost.
    record('c-stale', 'dave', ['news']),
  ];
  const sockets = new Map(['c-acme', 'c-globex', 'c-none', 'c-orphan'].map((id) => [id, socket(id)]));
  const activity = new LocalActivity();
  activity.accepted(envelope('ev-acme', { channel: 'orders', tenant: 'acme' }), 'publishing');
  activity.accepted(envelope('ev-none', { channel: 'news' }), 'publishing');
  const props = {
    connections: () => sockets,
    store: {
      async *liveConnections() {
        yield* records;
      },
      getConnection: async (id: string) => records.find((r) => r.connectionId === id),
    },
    activity,
  };
  const viewer = (tenant?: string) => ({
    identity: { userId: 'ops', roles: ['admin'], anonymous: false, ...(tenant ? { tenant } : {}) },
    expiresAt: Math.floor(Date.now() / 1000) + 600,
  });

  it("shows a platform admin every tenant's connections, channels and events", async () => {
    // Act
    const state = await dashboardState(props, viewer());
    // Assess
    expect(state.connections.map((c) => [c.connectionId, c.status])).toEqual(
      expect.arrayContaining([
        ['c-acme', 'open'],
        ['c-globex', 'open'],
        ['c-none', 'open'],
        ['c-stale', 'stale'],
        ['c-orphan', 'unregistered'],
      ]),
    );
    expect(state.totals).toEqual({ connections: 3, subscriptions: 4, channels: 4, events: 2 });
    // The same channel name in two tenants is two channels; stale connections are not subscribers.
    expect(state.channels).toEqual(
      expect.arrayContaining([
        { tenant: 'acme', channel: 'orders', subscribers: 1 },
        { tenant: 'globex', channel: 'orders', subscribers: 1 },
        { channel: 'news', subscribers: 1 },
      ]),
    );
  });

  it("shows an admin inside a tenant that tenant's connections and events only", async () => {
    // Act
    const state = await dashboardState(props, viewer('acme'));
    // Assess
    expect(state.viewer.tenant).toBe('acme');
    expect(state.connections.map((c) => c.connectionId)).toEqual(['c-acme']);
    expect(state.channels.map((c) => c.channel).sort()).toEqual(['news', 'orders']);
    expect(state.events.map((e) => e.id)).toEqual(['ev-acme']);
  });

  it("reads an admin's own tenant only: its live index, and no connection item of another tenant", async () => {
    // Prepare: a store that records what the dashboard asks of it.
    const asked: unknown[] = [];
    const gets: string[] = [];
    const recording = {
      ...props,
      store: {
        async *liveConnections(tenant: string | undefined | null) {
          asked.push(tenant);
          yield* records.filter((r) => tenant === null || r.identity.tenant === tenant);
        },
        getConnection: async (id: string) => {
          gets.push(id);
          return records.find((r) => r.connectionId === id);
        },
      },
    };
    // Act
    const state = await dashboardState(recording, viewer('acme'));
    // Assess
    expect(asked).toEqual(['acme']);
    expect(gets).toEqual([]);
    expect(state.totals.connections).toBe(1);
  });
});
