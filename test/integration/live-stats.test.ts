/**
 * `stats` and the dashboard's counts against DynamoDB Local (issue 10, item 6): they come from the
 * live index, whose items keep each connection's channels in step with subscribe and unsubscribe,
 * and a tenant admin's count reads that tenant's live index only: Query pages, never one GetItem
 * per connection of the fleet.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DynamoConnectionStore, liveKey } from '../../adapters/dynamo-store.js';
import type { ConnectionRecord, LiveConnection } from '../../core/ports.js';
import { liveStats } from '../../core/stats.js';
import { createTestTable, type TestTable } from '../support/dynamodb.js';

let table: TestTable;
let store: DynamoConnectionStore;
const now = Math.floor(Date.now() / 1000);

function connection(id: string, tenant: string | undefined, parts: Partial<ConnectionRecord> = {}) {
  return {
    connectionId: id,
    identity: { userId: `user-${id}`, roles: [], anonymous: false, ...(tenant ? { tenant } : {}) },
    connectedAt: now,
    tokenExpiresAt: now + 3600,
    endsAt: now + 7200,
    channels: [],
    ...parts,
  } satisfies ConnectionRecord;
}

async function collect(iterable: AsyncIterable<LiveConnection>): Promise<LiveConnection[]> {
  const out: LiveConnection[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Subscribes `c` to each channel in turn, as the subscribe handler does (with the fresh record). */
async function subscribe(c: ConnectionRecord, ...channels: string[]): Promise<ConnectionRecord> {
  let current = c;
  for (const channel of channels) {
    expect(await store.addSubscription(current, channel, 100, now)).toBe('added');
    current = (await store.getConnection(c.connectionId, now)) as ConnectionRecord;
  }
  return current;
}

const statsOf = (tenant: string | undefined | null) => liveStats(store.liveConnections(tenant, now), now);

beforeAll(async () => {
  table = await createTestTable();
  store = new DynamoConnectionStore(table.client, table.name);
});
afterAll(() => table.drop());

describe('stats from the live index', () => {
  it("counts a tenant's connections, subscriptions and channels, following subscribe, unsubscribe, refresh and removal", async () => {
    // Prepare
    const a1 = connection('a1', 'stats-a');
    const a2 = connection('a2', 'stats-a');
    const a3 = connection('a3', 'stats-a');
    const gone = connection('a4', 'stats-a');
    const b1 = connection('b1', 'stats-b');
    for (const c of [a1, a2, a3, gone, b1]) await store.putConnection(c);
    const a1Now = await subscribe(a1, 'orders', 'news', 'alerts');
    await subscribe(a2, 'orders');
    await subscribe(gone, 'secret-room');
    await subscribe(b1, 'orders', 'billing');
    // Act
    await store.removeSubscription(a1Now, 'alerts');
    await store.updateToken(a3, a3.identity, now + 7000);
    await store.removeConnection('a4');
    // Assess
    expect(await statsOf('stats-a')).toEqual({ connections: 3, subscriptions: 3, channels: 2 });
    expect(await statsOf('stats-b')).toEqual({ connections: 1, subscriptions: 2, channels: 2 });
    const a1Live = (await collect(store.liveConnections('stats-a', now))).find(
      (c) => c.connectionId === 'a1',
    );
    expect([...(a1Live?.channels ?? [])].sort()).toEqual(['news', 'orders']);
    const a3Live = (await collect(store.liveConnections('stats-a', now))).find(
      (c) => c.connectionId === 'a3',
    );
    expect(a3Live?.tokenExpiresAt).toBe(now + 7000);
  });

  it('no longer counts a connection whose token expired, until a refresh extends it', async () => {
    // Prepare
    const expired = connection('x1', 'stats-exp', { tokenExpiresAt: now - 5 });
    await store.putConnection(expired);
    await subscribe(expired, 'orders');
    // Act
    const before = await statsOf('stats-exp');
    await store.updateToken(expired, expired.identity, now + 600);
    const after = await statsOf('stats-exp');
    // Assess
    expect(before).toEqual({ connections: 0, subscriptions: 0, channels: 0 });
    expect(after).toEqual({ connections: 1, subscriptions: 1, channels: 1 });
  });

  it('counts every tenant for a platform admin, connections without a tenant included, and a name in two tenants as two channels', async () => {
    // Prepare: a table of its own, so that only these connections are in it.
    const second = await createTestTable();
    onTestFinished(() => second.drop());
    const own = new DynamoConnectionStore(second.client, second.name);
    const platform = [connection('p1', 'acme'), connection('p2', 'globex'), connection('p3', undefined)];
    for (const c of platform) {
      await own.putConnection(c);
      expect(await own.addSubscription(c, 'orders', 100, now)).toBe('added');
    }
    // Act
    const all = await liveStats(own.liveConnections(null, now), now);
    const tenantless = await liveStats(own.liveConnections(undefined, now), now);
    // Assess
    expect(all).toEqual({ connections: 3, subscriptions: 3, channels: 3 });
    expect(tenantless).toEqual({ connections: 1, subscriptions: 1, channels: 1 });
  });

  it('heals the live item of a connection written before it kept channels: subscribe writes it whole', async () => {
    // Prepare: a connection whose live item is missing.
    const legacy = connection('l1', 'stats-legacy');
    await store.putConnection(legacy);
    await table.client.send(new DeleteCommand({ TableName: table.name, Key: liveKey('stats-legacy', 'l1') }));
    // Act
    const subscribed = await subscribe(legacy, 'orders');
    await store.removeSubscription(subscribed, 'orders');
    await subscribe(subscribed, 'news');
    // Assess
    expect(await collect(store.liveConnections('stats-legacy', now))).toEqual([
      {
        connectionId: 'l1',
        identity: legacy.identity,
        connectedAt: now,
        tokenExpiresAt: now + 3600,
        channels: ['news'],
      },
    ]);
  });
});

describe("what a tenant admin's stats read", () => {
  it('is Query pages of its own live index: no GetItem, and none of the 400 connections of another tenant', async () => {
    // Prepare: one connection in a small tenant beside 400 in a big one.
    const big = Array.from({ length: 400 }, (_, i) => connection(`big-${i}`, 'big-tenant'));
    for (let i = 0; i < big.length; i += 50) {
      await Promise.all(big.slice(i, i + 50).map((c) => store.putConnection(c)));
    }
    await store.putConnection(connection('small-1', 'small-tenant'));
    const commands: string[] = [];
    let itemsRead = 0;
    table.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        commands.push(context.commandName ?? '?');
        itemsRead += (result.output as { ScannedCount?: number }).ScannedCount ?? 0;
        return result;
      },
      { step: 'initialize', name: 'liveStatsReads' },
    );
    try {
      // Act
      const stats = await statsOf('small-tenant');
      // Assess
      expect(stats.connections).toBe(1);
      expect(commands.filter((name) => name !== 'QueryCommand')).toEqual([]);
      expect(commands.length).toBe(16);
      expect(itemsRead).toBe(1);
    } finally {
      table.client.middlewareStack.remove('liveStatsReads');
    }
  });
});
