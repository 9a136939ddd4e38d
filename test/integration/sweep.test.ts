/**
 * The sweep, end to end: connections whose token expired are closed by the server, and entries
 * that outlived a `$disconnect` that never came are removed.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelPartition, connectionKey } from '../../adapters/dynamo-store.js';
import { testDocumentClient } from '../support/dynamodb.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let db: ReturnType<typeof testDocumentClient>;

beforeAll(async () => {
  stack = await startStack({ SWITCHBOARD_SWEEP_INTERVAL_SECONDS: '1' });
  db = testDocumentClient();
});
afterAll(async () => {
  db?.destroy();
  await stack?.stop();
});

const item = async (key: Record<string, string>) =>
  (await db.send(new GetCommand({ TableName: stack.tableName, Key: key }))).Item;

describe('the sweep', () => {
  it('closes a connection whose token expired and removes its entries', async () => {
    // Prepare
    const client = await TestClient.connect(stack.websocketUrl, {
      token: await tokenFor({ sub: 'brief', ttlSeconds: 2 }),
    });
    await client.request({ action: 'subscribe', channel: 'ticking' });
    const { connectionId } = await client.request({ action: 'whoami' });
    // Act: the token expires; the server closes within a sweep period or two.
    const closed = await client.closed;
    // Assess
    expect(closed.code).toBeGreaterThanOrEqual(1000);
    await expect.poll(() => item(connectionKey(String(connectionId))), { timeout: 5000 }).toBeUndefined();
    expect(
      await item({ pk: channelPartition(undefined, 'ticking'), sk: String(connectionId) }),
    ).toBeUndefined();
  });

  it('removes entries of a connection that went silent without a $disconnect', async () => {
    // Prepare: a connection API Gateway forgot long ago, with a subscription.
    const now = Math.floor(Date.now() / 1000);
    const id = 'silentConn00=';
    await db.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          ...connectionKey(id),
          connectionId: id,
          userId: 'silent',
          roles: [],
          anonymous: false,
          connectedAt: now - 1000,
          tokenExpiresAt: now + 3600,
          liveUntil: now - 10,
          endsAt: now + 6000,
          channels: new Set(['quiet']),
          sweepShard: 'sweep#1',
          sweepAt: now - 10,
          ttl: now + 6060,
        },
      }),
    );
    await db.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          pk: channelPartition(undefined, 'quiet'),
          sk: id,
          connectionId: id,
          userId: 'silent',
          roles: [],
          ttl: now + 6060,
        },
      }),
    );
    // Act / Assess
    await expect.poll(() => item(connectionKey(id)), { timeout: 5000 }).toBeUndefined();
    expect(await item({ pk: channelPartition(undefined, 'quiet'), sk: id })).toBeUndefined();
  });

  it('leaves a live connection alone', async () => {
    const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'steady' }) });
    const { connectionId } = await client.request({ action: 'whoami' });
    await new Promise((r) => setTimeout(r, 2500));
    expect(await item(connectionKey(String(connectionId)))).toBeDefined();
    expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
    await client.close();
  });
});
