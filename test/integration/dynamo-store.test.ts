/** The DynamoDB store against DynamoDB Local: key design, caps, TTL filtering, the sweep index, transaction conflicts. */
import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { channelPartition, connectionKey, DynamoConnectionStore } from '../../adapters/dynamo-store.js';
import {
  cancellationCodes,
  isTransactionConflict,
  TransactionConflictError,
} from '../../adapters/transaction-conflicts.js';
import type { ConnectionRecord } from '../../core/ports.js';
import { createTestTable, type TestTable } from '../support/dynamodb.js';
import { conflictingDynamoDb } from '../support/transaction-conflicts.js';

let table: TestTable;
let store: DynamoConnectionStore;
const now = Math.floor(Date.now() / 1000);

function connection(id: string, parts: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId: id,
    identity: { userId: `user-${id}`, roles: [], anonymous: false },
    connectedAt: now,
    tokenExpiresAt: now + 3600,
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
    await store.addSubscription(plain, 'news', 100, now);
    await store.addSubscription(acme, 'news', 100, now);
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
      results.push(await store.addSubscription(c, channel, 2, now));
      c = (await store.getConnection('cap', now)) as ConnectionRecord;
    }
    // A repeat of an existing subscription (here from a stale view of the connection) is no new one.
    const again = await store.addSubscription({ ...c, channels: [] }, 'a', 2, now);
    // Assess
    expect(results).toEqual(['added', 'added', 'limit_reached']);
    expect(again).not.toBe('limit_reached');
    expect([...((await store.getConnection('cap', now))?.channels ?? [])].sort()).toEqual(['a', 'b']);
  });

  it('refuses a subscription for a connection that is gone', async () => {
    expect(await store.addSubscription(connection('never-stored'), 'a', 10, now)).toBe('connection_gone');
  });

  it('removes a connection and every subscription entry without scanning', async () => {
    // Prepare
    const c = connection('d1');
    await store.putConnection(c);
    await store.addSubscription(c, 'x', 100, now);
    await store.addSubscription({ ...c, channels: ['x'] }, 'y', 100, now);
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

  it('lists every connection in the sweep index, due at token expiry or its end, and a message moves none', async () => {
    // Prepare
    const ending = connection('ending', { endsAt: now + 60 });
    const expired = connection('expired', { tokenExpiresAt: now - 5 });
    const healthy = connection('healthy');
    for (const c of [ending, expired, healthy]) await store.putConnection(c);
    const mine = async () =>
      Object.fromEntries(
        (await collect(store.sweepEntries()))
          .filter((e) => ['ending', 'expired', 'healthy'].includes(e.connectionId))
          .map((e) => [e.connectionId, e.dueAt]),
      );
    // Act
    const before = await mine();
    expect(await store.recordMessage(healthy, { tokens: 5, at: Date.now(), strikes: 0 }, now)).toBe(
      'recorded',
    );
    const after = await mine();
    // Assess
    expect(before).toEqual({ ending: now + 60, expired: now - 5, healthy: now + 3600 });
    expect(after).toEqual(before);
  });

  it('lists the sweep index in order of due time across its shards', async () => {
    // Prepare: 40 connections (their ids spread them over the index's shards), due in shuffled order.
    const due = Array.from({ length: 40 }, (_, k) => now + 1000 + ((k * 17) % 40) * 60);
    for (const [k, at] of due.entries()) {
      await store.putConnection(connection(`order-${k}`, { tokenExpiresAt: at }));
    }
    // Act
    const entries = await collect(store.sweepEntries());
    // Assess: all of them, and the whole index sorted by due time, whatever the shard.
    const mine = entries.filter((e) => e.connectionId.startsWith('order-'));
    expect(mine).toHaveLength(40);
    expect(mine.map((e) => e.dueAt)).toEqual([...due].sort((a, b) => a - b));
    const dueTimes = entries.map((e) => e.dueAt);
    expect(dueTimes).toEqual([...dueTimes].sort((a, b) => a - b));
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
    );
    // Assess
    expect(ok).toBe(true);
    const { Item } = await table.client.send(
      new GetCommand({ TableName: table.name, Key: connectionKey('r1') }),
    );
    expect(Item).toMatchObject({ tokenExpiresAt: now + 900, roles: ['ops'], sweepAt: now + 900 });
    expect(await store.updateToken(connection('nope'), c.identity, now)).toBe(false);
  });
});

describe('removing one subscription', () => {
  it('deletes the entry and the name from the connection', async () => {
    // Prepare
    const c = connection('u1');
    await store.putConnection(c);
    await store.addSubscription(c, 'gone-soon', 100, now);
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
    const first = await store.recordMessage(c, bucket, now);
    const stale = await store.recordMessage(c, { ...bucket, at: 2000 }, now);
    const fresh = (await store.getConnection('rate', now)) as ConnectionRecord;
    const second = await store.recordMessage(fresh, { tokens: 3, at: 2000, strikes: 0 }, now);
    // Assess
    expect([first, stale, second]).toEqual(['recorded', 'conflict', 'recorded']);
    expect((await store.getConnection('rate', now))?.bucket).toEqual({ tokens: 3, at: 2000, strikes: 0 });
    expect(await store.recordMessage(connection('absent'), bucket, now)).toBe('gone');
  });

  it("tells a refused write's connection gone by the caller's clock, not the machine's", async () => {
    // Prepare: a connection that ends in 100 s, at its cap, and a view of it with a stale bucket.
    const c = connection('clock', { endsAt: now + 100 });
    await store.putConnection(c);
    await store.recordMessage(c, { tokens: 4, at: 1000, strikes: 0 }, now);
    await store.addSubscription(c, 'first', 1, now);
    // Act: the caller's clock is past the connection's end (and its grace), the machine's is not.
    const later = now + 7200;
    const recorded = await store.recordMessage(c, { tokens: 3, at: 2000, strikes: 0 }, later);
    const subscribed = await store.addSubscription(c, 'too-late', 1, later);
    // Assess
    expect(recorded).toBe('gone');
    expect(subscribed).toBe('connection_gone');
  });
});

describe('writes racing a transaction on one connection entry', () => {
  it('lets every subscribe and every update through when they hit the connection entry at once', async () => {
    // Prepare: DynamoDB Local with DynamoDB's transaction conflicts put back.
    const dynamodb = conflictingDynamoDb();
    onTestFinished(() => dynamodb.destroy());
    const racing = new DynamoConnectionStore(dynamodb.client, table.name);
    const c = connection('racer');
    await racing.putConnection(c);
    const channels: string[] = [];
    const outcomes: PromiseSettledResult<unknown>[] = [];
    // Act: rounds of subscribes (each a transaction on the entry) racing one another and the
    // single-item updates of admission, refresh and unsubscribe on the same entry.
    for (let round = 0; round < 10; round++) {
      const batch = [0, 1, 2].map((k) => `race-${round}-${k}`);
      channels.push(...batch);
      outcomes.push(
        ...(await Promise.allSettled([
          ...batch.map((channel) => racing.addSubscription(c, channel, 100, now)),
          racing.recordMessage(c, { tokens: 5, at: round, strikes: 0 }, now),
          racing.updateToken(c, c.identity, now + 3600),
          racing.removeSubscription(c, 'never-subscribed'),
        ])),
      );
    }
    // Assess
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
    expect(failures).toEqual([]);
    expect([...((await store.getConnection('racer', now))?.channels ?? [])].sort()).toEqual(channels.sort());
    expect(dynamodb.conflicts.get('TransactionConflictException')).toBeGreaterThan(0);
    expect(dynamodb.conflicts.get('TransactionCanceledException')).toBeGreaterThan(0);
  });

  it('gives up after its bounded retries with a TransactionConflictError; the SDK retries none itself', async () => {
    // Prepare: a DynamoDB that refuses every write as conflicting.
    const dynamodb = conflictingDynamoDb({ alwaysConflict: true });
    onTestFinished(() => dynamodb.destroy());
    const stuck = new DynamoConnectionStore(dynamodb.client, table.name, {
      conflictRetry: { attempts: 3, baseDelayMs: 1 },
    });
    const c = connection('stuck');
    await store.putConnection(c);
    // Act
    const subscribing = await stuck.addSubscription(c, 'never', 100, now).catch((error: unknown) => error);
    const bucket = { tokens: 5, at: 1000, strikes: 0 };
    const recording = await stuck.recordMessage(c, bucket, now).catch((error: unknown) => error);
    // Assess
    expect(subscribing).toBeInstanceOf(TransactionConflictError);
    expect(subscribing).toMatchObject({ operation: 'addSubscription', attempts: 3 });
    expect((subscribing as Error).message).toMatch(/addSubscription still conflicted .* after 3 attempts/);
    expect((subscribing as Error).cause).toBeInstanceOf(TransactionCanceledException);
    expect(recording).toBeInstanceOf(TransactionConflictError);
    expect((recording as Error).cause).toBeInstanceOf(TransactionConflictException);
    // One request per attempt of the store: the SDK's default strategy (3 attempts) retried neither.
    expect(dynamodb.requests.get('TransactWriteItems')).toBe(3);
    expect(dynamodb.requests.get('UpdateItem')).toBe(3);
    expect(await store.getConnection('stuck', now)).toEqual(c);
  });

  it('tells a conflict from a failed condition by the message when CancellationReasons is absent', () => {
    const cancelled = (codes: string) =>
      new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
        $metadata: {},
      });
    expect(cancellationCodes(cancelled('None, TransactionConflict'))).toEqual([
      'None',
      'TransactionConflict',
    ]);
    expect(isTransactionConflict(cancelled('TransactionConflict, None'))).toBe(true);
    expect(isTransactionConflict(cancelled('ConditionalCheckFailed, None'))).toBe(false);
  });
});
