/**
 * PROTOCOL §5–§6 end to end: events published with the real EventBridge SDK client (and the
 * `npm run publish` CLI) reach the subscribed clients, per channel and per tenant, and nobody else.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelPartition, connectionKey } from '../../adapters/dynamo-store.js';
import { testDocumentClient } from '../support/dynamodb.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { type Message, TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let bus: EventBridgeClient;
const clients: TestClient[] = [];

async function subscriber(
  claims: Parameters<typeof tokenFor>[0],
  ...channels: string[]
): Promise<TestClient> {
  const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor(claims) });
  clients.push(client);
  for (const channel of channels) {
    expect(await client.request({ action: 'subscribe', channel })).toMatchObject({ type: 'subscribed' });
  }
  return client;
}

const eventOn = (channel: string, eventId?: string) => (m: Message) =>
  m.type === 'event' && m.channel === channel && (eventId === undefined || m.id === eventId);

/** Proves a negative: a marker published after the event arrives, and the event did not. */
async function expectNothingBefore(client: TestClient, channel: string, forbiddenId: string): Promise<void> {
  const marker = await publish(bus, { channel, data: 'marker' });
  await client.next(eventOn(channel, marker));
  expect(client.pending().filter((m) => m.id === forbiddenId)).toEqual([]);
}

beforeAll(async () => {
  stack = await startStack();
  bus = eventBridge(stack.baseUrl);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  bus?.destroy();
  await stack?.stop();
});

describe('publishing through EventBridge PutEvents', () => {
  it('delivers to an action-style and a type-style subscriber with the event fields', async () => {
    // Prepare
    const seedStyle = await subscriber({ sub: 'alice' });
    const typeStyle = await subscriber({ sub: 'bob' });
    seedStyle.send({ action: 'subscribe', channel: 'cluster_code_16' });
    typeStyle.send({ type: 'subscribe', channel: 'cluster_code_16' });
    await seedStyle.next((m) => m.type === 'subscribed');
    await typeStyle.next((m) => m.type === 'subscribed');
    // Act
    const id = await publish(
      bus,
      { channel: 'cluster_code_16', data: { id: 11, title: 'test workspace' } },
      { Source: 'cluster-code-service', DetailType: 'workspace_created' },
    );
    // Assess
    for (const client of [seedStyle, typeStyle]) {
      const event = await client.next(eventOn('cluster_code_16'));
      expect(event).toMatchObject({
        type: 'event',
        id,
        channel: 'cluster_code_16',
        event_type: 'workspace_created',
        data: { id: 11, title: 'test workspace' },
      });
      expect(event.timestamp).toEqual(expect.any(String));
    }
  });

  it('uses event_type from the detail when given', async () => {
    const client = await subscriber({ sub: 'alice' }, 'typed');
    await publish(bus, { channel: 'typed', data: 1, event_type: 'custom_kind' });
    expect(await client.next(eventOn('typed'))).toMatchObject({ event_type: 'custom_kind', data: 1 });
  });

  it('delivers one event to several channels with the same id on each', async () => {
    // Prepare
    const client = await subscriber({ sub: 'carol' }, 'multi-a', 'multi-b');
    // Act
    const id = await publish(bus, { channels: ['multi-a', 'multi-b', 'multi-unsubscribed'], data: 'x' });
    // Assess
    const a = await client.next(eventOn('multi-a'));
    const b = await client.next(eventOn('multi-b'));
    expect([a.id, b.id]).toEqual([id, id]);
  });

  it('stops delivering after unsubscribe', async () => {
    // Prepare
    const client = await subscriber({ sub: 'dave' }, 'leave-me', 'stay');
    await client.request({ action: 'unsubscribe', channel: 'leave-me' });
    // Act
    const id = await publish(bus, { channel: 'leave-me', data: 1 });
    // Assess
    await expectNothingBefore(client, 'stay', id);
  });

  it('never lets an event cross tenants', async () => {
    // Prepare
    const acme = await subscriber({ sub: 'a1', tenant: 'acme' }, 'orders');
    const globex = await subscriber({ sub: 'g1', tenant: 'globex' }, 'orders');
    const none = await subscriber({ sub: 'n1' }, 'orders');
    // Act
    const forAcme = await publish(bus, { channel: 'orders', data: 'acme', tenant: 'acme' });
    const forNone = await publish(bus, { channel: 'orders', data: 'none' });
    // Assess
    expect(await acme.next(eventOn('orders', forAcme))).toMatchObject({ data: 'acme' });
    expect(await none.next(eventOn('orders', forNone))).toMatchObject({ data: 'none' });
    const markerGlobex = await publish(bus, { channel: 'orders', data: 'm', tenant: 'globex' });
    await globex.next(eventOn('orders', markerGlobex));
    expect(globex.pending().filter((m) => m.type === 'event')).toEqual([]);
    expect(acme.pending().filter((m) => m.id === forNone)).toEqual([]);
    expect(none.pending().filter((m) => m.id === forAcme)).toEqual([]);
  });

  it('refuses an event over 128 KB serialized without posting it, and logs why', async () => {
    // Prepare
    const client = await subscriber({ sub: 'erin' }, 'big');
    // Act
    const id = await publish(bus, { channel: 'big', data: 'x'.repeat(130 * 1024) });
    // Assess
    await expectNothingBefore(client, 'big', id);
    expect(stack.logs()).toMatch(/event too large to deliver/);
  });

  it('ignores entries that are not Switchboard events (no channel)', async () => {
    const client = await subscriber({ sub: 'erin' }, 'quiet');
    const id = await publish(bus, { something: 'else', data: 1 });
    await expectNothingBefore(client, 'quiet', id);
  });

  it('keeps delivering to others when a subscriber is gone (410), and forgets the gone one', async () => {
    // Prepare: a registered connection with a subscription, whose socket no longer exists.
    const db = testDocumentClient();
    const now = Math.floor(Date.now() / 1000);
    const ghost = 'ghostConnId=';
    await db.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          ...connectionKey(ghost),
          connectionId: ghost,
          userId: 'ghost',
          roles: [],
          anonymous: false,
          connectedAt: now,
          tokenExpiresAt: now + 600,
          liveUntil: now + 600,
          endsAt: now + 7200,
          channels: new Set(['haunted']),
          sweepShard: 'sweep#0',
          sweepAt: now + 600,
          ttl: now + 7260,
        },
      }),
    );
    await db.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          pk: channelPartition(undefined, 'haunted'),
          sk: ghost,
          connectionId: ghost,
          userId: 'ghost',
          roles: [],
          ttl: now + 7260,
        },
      }),
    );
    const live = await subscriber({ sub: 'frank' }, 'haunted');
    // Act
    const id = await publish(bus, { channel: 'haunted', data: 'boo' });
    // Assess
    expect(await live.next(eventOn('haunted', id))).toMatchObject({ data: 'boo' });
    await expect
      .poll(
        async () =>
          (await db.send(new GetCommand({ TableName: stack.tableName, Key: connectionKey(ghost) }))).Item,
      )
      .toBeUndefined();
    const sub = await db.send(
      new GetCommand({
        TableName: stack.tableName,
        Key: { pk: channelPartition(undefined, 'haunted'), sk: ghost },
      }),
    );
    expect(sub.Item).toBeUndefined();
    db.destroy();
  });

  it('delivers what `npm run publish` sends', async () => {
    // Prepare
    const client = await subscriber({ sub: 'gina', tenant: 'acme' }, 'cli-channel');
    const port = new URL(stack.baseUrl).port;
    // Act
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/publish.ts',
        '--channel',
        'cli-channel',
        '--type',
        'hello',
        '--data',
        '{"hi":1}',
        '--tenant',
        'acme',
      ],
      { env: { ...process.env, SWITCHBOARD_PORT: port } },
    );
    // Assess
    const eventId = /published (\S+)/.exec(stdout)?.[1];
    expect(await client.next(eventOn('cli-channel'))).toMatchObject({
      id: eventId,
      event_type: 'hello',
      data: { hi: 1 },
    });
  });

  it('addresses a user, one connection or everyone with `npm run publish`, as PROTOCOL §6 does', async () => {
    // Prepare: hana is subscribed to nothing
    const client = await subscriber({ sub: 'hana', tenant: 'cli' });
    const connectionId = String((await client.request({ action: 'whoami' })).connectionId);
    const port = new URL(stack.baseUrl).port;
    const cli = async (...args: string[]) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'cli/publish.ts', '--type', 'notice', '--tenant', 'cli', ...args],
        { env: { ...process.env, SWITCHBOARD_PORT: port } },
      );
      return /published (\S+) to (.+)/.exec(stdout)?.slice(1) ?? [];
    };
    // Act
    const [toUser, userLabel] = await cli('--user', 'hana', '--data', '1');
    const [toConnection] = await cli('--connection-id', connectionId, '--data', '2');
    const [toAll] = await cli('--broadcast', '--data', '3');
    const refused = await cli('--user', 'not valid').catch(
      (error: { code?: number; stderr?: string }) => error,
    );
    // Assess
    expect(userLabel).toBe('user:hana');
    expect(await client.next(eventOn('user:hana', toUser))).toMatchObject({ data: 1, seq: 1 });
    expect(await client.next(eventOn(`connection:${connectionId}`, toConnection))).toMatchObject({ data: 2 });
    expect(await client.next(eventOn('broadcast', toAll))).toMatchObject({ data: 3 });
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('--user "not valid"') });
  });
});
