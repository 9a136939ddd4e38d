/** The DynamoDB store against DynamoDB Local: key design, caps, TTL filtering, the sweep index. */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelPartition, connectionKey, DynamoConnectionStore } from '../../adapters/dynamo-store.js';
import type { ConnectionRecord } from '../../core/ports.js';
import { createTestTable, type TestTable } from '../support/dynamodb.js';

let table: TestTable;
let store: DynamoConnectionStore;
const now = Math.floor(Date.now() / 1000);

function connection(id: string, parts: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId: id,
    identity: { userId: `user-${id}`, roles: [], anonymous: false },
    connectedAt: now,
    tokenExpiresAt: now + 3600,
    liveUntil: now + 660,
    endsAt: now + 7200,
    channels: [],
    ...parts,
  };
}

async function collect<T>(iterable: AsyncIterable<T | readonly T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(...(Array.isArray(item) ? item : [item as T]));
  return out;
}

beforeAll(async () => {
  table = await createTestTable();
  store = new DynamoConnectionStore(table.client, table.name);
});
afterAll(() => table.drop());

describe('the DynamoDB connection store', () => {
  it('stores a connection and reads it back', async () => {
    // Prepare
    const c = connection('a1', {
      identity: { userId: 'alice', roles: ['admin'], tenant: 'acme', email: 'a@x', anonymous: false },
    });
    // Act
    await store.putConnection(c);
    // Assess
    expect(await store.getConnection('a1', now)).toEqual(c);
  });

  it('returns subscribers of a channel from one partition, per tenant', async () => {
    // Prepare
    const plain = connection('s1');
    const acme = connection('s2', {
      identity: { userId: 'u2', roles: [], tenant: 'acme', anonymous: false },
    });
    await store.putConnection(plain);
    await store.putConnection(acme);
    // Act
    await store.addSubscription(plain, 'news', 100);
    await store.addSubscription(acme, 'news', 100);
    // Assess
    expect((await collect(store.subscribers(undefined, 'news', now))).map((s) => s.connectionId)).toEqual([
      's1',
    ]);
    expect((await collect(store.subscribers('acme', 'news', now))).map((s) => s.connectionId)).toEqual([
      's2',
    ]);
    expect((await store.getConnection('s1', now))?.channels).toEqual(['news']);
  });

  it('enforces the subscription cap atomically and tolerates a repeated subscribe', async () => {
    // Prepare
    let c = connection('cap');
    await store.putConnection(c);
    // Act
    const results = [];
    for (const channel of ['a', 'b', 'c']) {
      results.push(await store.addSubscription(c, channel, 2));
      c = (await store.getConnection('cap', now)) as ConnectionRecord;
    }
    // A repeat of an existing subscription (here from a stale view of the connection) is no new one.
    const again = await store.addSubscription({ ...c, channels: [] }, 'a', 2);
    // Assess
    expect(results).toEqual(['added', 'added', 'limit_reached']);
    expect(again).not.toBe('limit_reached');
    expect([...((await store.getConnection('cap', now))?.channels ?? [])].sort()).toEqual(['a', 'b']);
  });

  it('refuses a subscription for a connection that is gone', async () => {
    expect(await store.addSubscription(connection('never-stored'), 'a', 10)).toBe('connection_gone');
  });

  it('removes a connection and every subscription entry without scanning', async () => {
    // Prepare
    const c = connection('d1');
    await store.putConnection(c);
    await store.addSubscription(c, 'x', 100);
    await store.addSubscription({ ...c, channels: ['x'] }, 'y', 100);
    // Act
    await store.removeConnection('d1');
    // Assess
    expect(await store.getConnection('d1', now)).toBeUndefined();
    expect(await collect(store.subscribers(undefined, 'x', now))).toEqual([]);
    expect(await collect(store.subscribers(undefined, 'y', now))).toEqual([]);
    await store.removeConnection('d1'); // idempotent
  });

  it('never returns an entry whose TTL has passed, even before DynamoDB deletes it', async () => {
    // Prepare: entries already expired (DynamoDB's own TTL deletion is only eventual).
    const old = connection('old', { connectedAt: now - 9000, endsAt: now - 1800 });
    await store.putConnection(old);
    await table.client.send(
      new PutCommand({
        TableName: table.name,
        Item: {
          pk: channelPartition(undefined, 'stale'),
          sk: 'old',
          connectionId: 'old',
          userId: 'u',
          roles: [],
          ttl: now - 10,
        },
      }),
    );
    // Act / Assess
    expect(await store.getConnection('old', now)).toBeUndefined();
    expect(await collect(store.subscribers(undefined, 'stale', now))).toEqual([]);
  });

  it('keeps channel keys unforgeable: tenant and channel parts cannot collide', () => {
    expect(channelPartition('acme', 'news')).not.toBe(channelPartition(undefined, 'acme#news'));
    expect(channelPartition(undefined, 'news')).toBe('chan##news');
    expect(connectionKey('abc=')).toEqual({ pk: 'conn#abc=', sk: 'conn' });
  });

  it('lists only stale connections from the sweep index, and a message revives one', async () => {
    // Prepare
    const silent = connection('silent', { liveUntil: now - 5 });
    const expired = connection('expired', { tokenExpiresAt: now - 5 });
    const healthy = connection('healthy');
    for (const c of [silent, expired, healthy]) await store.putConnection(c);
    // Act
    const mine = (ids: string[]) => ids.filter((id) => ['silent', 'expired', 'healthy'].includes(id));
    const stale = mine(await collect(store.staleConnections(now)));
    expect(await store.recordMessage(silent, { tokens: 5, at: Date.now(), strikes: 0 }, now + 600)).toBe(
      'recorded',
    );
    const afterTouch = mine(await collect(store.staleConnections(now)));
    // Assess
    expect(stale.sort()).toEqual(['expired', 'silent']);
    expect(afterTouch).toEqual(['expired']);
  });

  it('updates the token expiry and roles on refresh', async () => {
    // Prepare
    const c = connection('r1', { tokenExpiresAt: now + 10 });
    await store.putConnection(c);
    // Act
    const ok = await store.updateToken(
      c,
      { userId: c.identity.userId, roles: ['ops'], anonymous: false },
      now + 900,
      now + 660,
    );
    // Assess
    expect(ok).toBe(true);
    const { Item } = await table.client.send(
      new GetCommand({ TableName: table.name, Key: connectionKey('r1') }),
    );
    expect(Item).toMatchObject({ tokenExpiresAt: now + 900, roles: ['ops'], sweepAt: now + 660 });
    expect(await store.updateToken(connection('nope'), c.identity, now, now)).toBe(false);
  });
});

describe('removing one subscription', () => {
  it('deletes the entry and the name from the connection', async () => {
    // Prepare
    const c = connection('u1');
    await store.putConnection(c);
    await store.addSubscription(c, 'gone-soon', 100);
    // Act
    await store.removeSubscription(c, 'gone-soon');
    // Assess
    expect((await store.getConnection('u1', now))?.channels).toEqual([]);
    expect(await collect(store.subscribers(undefined, 'gone-soon', now))).toEqual([]);
  });
});

describe('recording a message', () => {
  it('detects a concurrent change of the rate bucket, and a connection that is gone', async () => {
    // Prepare
    const c = connection('rate');
    await store.putConnection(c);
    const bucket = { tokens: 4, at: 1000, strikes: 0 };
    // Act
    const first = await store.recordMessage(c, bucket, now + 600);
    const stale = await store.recordMessage(c, { ...bucket, at: 2000 }, now + 600);
    const fresh = (await store.getConnection('rate', now)) as ConnectionRecord;
    const second = await store.recordMessage(fresh, { tokens: 3, at: 2000, strikes: 0 }, now + 600);
    // Assess
    expect([first, stale, second]).toEqual(['recorded', 'conflict', 'recorded']);
    expect((await store.getConnection('rate', now))?.bucket).toEqual({ tokens: 3, at: 2000, strikes: 0 });
    expect(await store.recordMessage(connection('absent'), bucket, now)).toBe('gone');
  });
});
