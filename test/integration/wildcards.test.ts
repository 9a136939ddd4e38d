/**
 * Wildcard subscriptions end to end (PROTOCOL §8), against the local stack: a pattern receives the
 * events of every matching channel under their concrete names and `seq`, once each; it is allowed
 * only where every channel it can match is; it stays in its tenant; unsubscribe, disconnect and
 * the sweep remove it.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionKey, wildcardPartition } from '../../adapters/dynamo-store.js';
import { testDocumentClient } from '../support/dynamodb.js';
import { Listener } from '../support/faults.js';
import { type RunningStack, startStack, type TokenClaims, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let db: ReturnType<typeof testDocumentClient>;
let bus: ReturnType<typeof eventBridge>;
const open: Listener[] = [];

beforeAll(async () => {
  // A limit of 3 subscriptions shows a pattern counting as one; a 1 s sweep shows it swept.
  stack = await startStack({ SWITCHBOARD_MAX_SUBSCRIPTIONS: '3', SWITCHBOARD_SWEEP_INTERVAL_SECONDS: '1' });
  db = testDocumentClient();
  bus = eventBridge(stack.baseUrl);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((listener) => listener.close()));
});
afterAll(async () => {
  bus?.destroy();
  db?.destroy();
  await stack?.stop();
});

async function listener(claims: TokenClaims, names: string[] = []): Promise<Listener> {
  const opened = await Listener.open(stack, claims, names);
  open.push(opened);
  return opened;
}

/** Waits until every id has arrived, then a little more for anything that should not. */
async function received(who: Listener, ids: readonly string[]) {
  await expect
    .poll(() => ids.filter((id) => !who.ids().has(id)), { timeout: 10_000, interval: 50 })
    .toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 400));
  return who.events;
}

const patternItem = async (tenant: string | undefined, prefix: string, connectionId: string) =>
  (
    await db.send(
      new GetCommand({
        TableName: stack.tableName,
        Key: { pk: wildcardPartition(tenant, prefix), sk: connectionId },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe('a wildcard subscription', () => {
  it.each([
    ['action', 'action'],
    ['type', 'type'],
  ])('receives every matching channel under its concrete name and seq (%s style)', async (style, verb) => {
    // Prepare
    const tenant = `t-${style}`;
    const who = await listener({ sub: 'alice', tenant });
    const reply = await who.client.request(
      { [verb]: 'subscribe', channel: 'apps:*', id: 's1' },
      'subscribed',
    );
    expect(reply).toMatchObject({ type: 'subscribed', channel: 'apps:*', id: 's1' });
    expect(reply).not.toHaveProperty('seq');
    // Act
    const created = await publish(bus, { channel: 'apps:created', tenant, data: 1 });
    const nested = await publish(bus, { channel: 'apps:eu.deleted', tenant, data: 2 });
    const again = await publish(bus, { channel: 'apps:created', tenant, data: 3 });
    const outside = await publish(bus, {
      channels: ['apps', 'applications:x', 'other:apps:x'],
      tenant,
      data: 4,
    });
    // Assess
    const events = await received(who, [created, nested, again]);
    // Numbers follow the order Switchboard processes events, not the order they were put in
    // (PROTOCOL §4): the two events of apps:created hold 1 and 2, either way round.
    const of = (channel: string) => events.filter((e) => e.channel === channel);
    expect(
      of('apps:created')
        .map((e) => e.seq)
        .sort(),
    ).toEqual([1, 2]);
    expect(
      of('apps:created')
        .map((e) => e.data)
        .sort(),
    ).toEqual([1, 3]);
    expect(of('apps:eu.deleted').map((e) => [e.seq, e.data])).toEqual([[1, 2]]);
    expect(events).toHaveLength(3);
    expect(who.ids().has(outside)).toBe(false);
  });

  it('delivers once to a connection subscribed exactly and by two patterns', async () => {
    // Prepare
    const who = await listener({ sub: 'bob', tenant: 'overlap' }, ['a:b.c', 'a:*', 'a:b.*']);
    const other = await listener({ sub: 'carl', tenant: 'overlap' }, ['a:b.*']);
    // Act
    const id = await publish(bus, { channel: 'a:b.c', tenant: 'overlap', data: 'x' });
    // Assess
    expect((await received(who, [id])).filter((e) => e.id === id)).toHaveLength(1);
    expect((await received(other, [id])).filter((e) => e.id === id)).toHaveLength(1);
  });

  it('counts as one subscription toward the per-connection limit', async () => {
    // Prepare: the stack allows 3.
    const who = await listener({ sub: 'dora' }, ['one', 'two:*', 'three.*']);
    // Act
    const refused = await who.client.request({ action: 'subscribe', channel: 'four:*' });
    // Assess
    expect(refused).toMatchObject({ type: 'error', code: 'subscription_failed', channel: 'four:*' });
    const listed = await who.client.request({ action: 'list_channels' }, 'channels');
    expect(listed.subscribed).toEqual(['one', 'three.*', 'two:*']);
  });

  it('counts in stats as a subscription, not as a channel', async () => {
    // Prepare
    const admin = await listener({ sub: 'root', roles: ['admin'], tenant: 'counted' }, ['x:1', 'x:*']);
    // Act
    const stats = await admin.client.request({ action: 'stats' }, 'stats');
    // Assess
    expect(stats).toMatchObject({ connections: 1, subscriptions: 2, channels: 1 });
  });

  it('refuses since with a pattern, subscribes nothing and stays usable', async () => {
    // Prepare
    const who = await listener({ sub: 'eve' });
    // Act
    const refused = await who.client.request({ type: 'subscribe', channel: 'apps:*', since: 3, id: 'r1' });
    // Assess
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_request', id: 'r1', channel: 'apps:*' });
    expect(await who.client.request({ action: 'list_channels' }, 'channels')).toMatchObject({
      subscribed: [],
    });
    expect(await who.client.request({ type: 'ping', id: 'p' })).toMatchObject({ type: 'pong', id: 'p' });
  });

  it.each([
    ['a star not after ":" or "."', 'apps*'],
    ['two stars', 'apps:**'],
    ['a star inside', 'apps:*.x'],
  ])('refuses %s with invalid_request', async (_what, channel) => {
    const who = await listener({ sub: 'fay' });
    const refused = await who.client.request({ action: 'subscribe', channel });
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect(refused.message).toMatch(/pattern/);
    expect(await who.client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });
});

describe('who may subscribe to a pattern', () => {
  it.each([['system:*'], ['user:*'], ['user:gus.*']])(
    'refuses %s to a user without the admin role, and lets an admin have it',
    async (pattern) => {
      // Prepare
      const user = await listener({ sub: 'gus', tenant: 'policy' });
      const admin = await listener({ sub: 'root', roles: ['admin'], tenant: 'policy' });
      // Act
      const refused = await user.client.request({ type: 'subscribe', channel: pattern });
      const accepted = await admin.client.request({ type: 'subscribe', channel: pattern }, 'subscribed');
      // Assess
      expect(refused).toMatchObject({ type: 'error', code: 'subscription_failed', channel: pattern });
      expect(accepted).toMatchObject({ type: 'subscribed', channel: pattern });
    },
  );

  it('an admin pattern on user channels receives them', async () => {
    const admin = await listener({ sub: 'root', roles: ['admin'], tenant: 'watch' }, ['user:*']);
    const id = await publish(bus, { channel: 'user:hank', tenant: 'watch', data: 'hi' });
    expect((await received(admin, [id]))[0]).toMatchObject({ channel: 'user:hank', data: 'hi' });
  });

  it('never delivers through a pattern a channel the connection could not subscribe exactly', async () => {
    // Prepare: a pattern entry for user channels that the policy would have refused, written into
    // the table behind the server's back, beside a legitimate one.
    const ivy = await listener({ sub: 'ivy', tenant: 'forged' }, ['user:ivy']);
    const now = Math.floor(Date.now() / 1000);
    await db.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          pk: wildcardPartition('forged', 'user:'),
          sk: ivy.connectionId,
          connectionId: ivy.connectionId,
          channel: 'user:*',
          userId: 'ivy',
          roles: [],
          anonymous: false,
          tenant: 'forged',
          ttl: now + 600,
        },
      }),
    );
    // Act
    const theirs = await publish(bus, { channel: 'user:jack', tenant: 'forged', data: 'secret' });
    const hers = await publish(bus, { channel: 'user:ivy', tenant: 'forged', data: 'mine' });
    // Assess: her own channel arrives once (exact and forged pattern), the other user's never.
    const events = await received(ivy, [hers]);
    expect(events.map((e) => e.channel)).toEqual(['user:ivy']);
    expect(ivy.ids().has(theirs)).toBe(false);
  });
});

describe('a pattern stays in its place', () => {
  it("never receives another tenant's events, nor those without a tenant", async () => {
    // Prepare
    const acme = await listener({ sub: 'kim', tenant: 'acme' }, ['orders:*']);
    const rival = await listener({ sub: 'lee', tenant: 'globex' }, ['orders:*']);
    const none = await listener({ sub: 'max' }, ['orders:*']);
    // Act
    const forAcme = await publish(bus, { channel: 'orders:1', tenant: 'acme', data: 'a' });
    const forGlobex = await publish(bus, { channel: 'orders:1', tenant: 'globex', data: 'g' });
    const forNone = await publish(bus, { channel: 'orders:1', data: 'n' });
    // Assess
    expect((await received(acme, [forAcme])).map((e) => e.id)).toEqual([forAcme]);
    expect((await received(rival, [forGlobex])).map((e) => e.id)).toEqual([forGlobex]);
    expect((await received(none, [forNone])).map((e) => e.id)).toEqual([forNone]);
  });

  it('stops delivering once unsubscribed, and the entry is gone', async () => {
    // Prepare
    const who = await listener({ sub: 'ned', tenant: 'unsub' }, ['feed.*']);
    const before = await publish(bus, { channel: 'feed.a', tenant: 'unsub', data: 1 });
    await received(who, [before]);
    // Act
    const reply = await who.client.request(
      { type: 'unsubscribe', channel: 'feed.*', id: 'u' },
      'unsubscribed',
    );
    const after = await publish(bus, { channel: 'feed.a', tenant: 'unsub', data: 2 });
    const marker = await listener({ sub: 'oz', tenant: 'unsub' }, ['feed.a']);
    const seen = await publish(bus, { channel: 'feed.a', tenant: 'unsub', data: 3 });
    await received(marker, [seen]);
    // Assess
    expect(reply).toMatchObject({ type: 'unsubscribed', channel: 'feed.*', id: 'u' });
    expect(who.ids().has(after)).toBe(false);
    expect(who.ids().has(seen)).toBe(false);
    expect(await patternItem('unsub', 'feed.', who.connectionId)).toBeUndefined();
  });

  it('is removed with its connection on disconnect', async () => {
    // Prepare
    const who = await Listener.open(stack, { sub: 'pia', tenant: 'bye' }, ['room:*']);
    expect(await patternItem('bye', 'room:', who.connectionId)).toBeDefined();
    // Act
    await who.close();
    // Assess
    await expect.poll(() => patternItem('bye', 'room:', who.connectionId), { timeout: 5000 }).toBeUndefined();
  });

  it('is removed by the sweep when the token expires', async () => {
    // Prepare
    const client = await TestClient.connect(stack.websocketUrl, {
      token: await tokenFor({ sub: 'quin', ttlSeconds: 2 }),
    });
    await client.request({ action: 'subscribe', channel: 'ticks:*' }, 'subscribed');
    const { connectionId } = await client.request({ action: 'whoami' }, 'connected');
    expect(await patternItem(undefined, 'ticks:', String(connectionId))).toBeDefined();
    // Act: the server closes the connection within a sweep or two.
    await client.closed;
    // Assess
    await expect
      .poll(
        async () =>
          (
            await db.send(
              new GetCommand({ TableName: stack.tableName, Key: connectionKey(String(connectionId)) }),
            )
          ).Item,
        { timeout: 5000 },
      )
      .toBeUndefined();
    expect(await patternItem(undefined, 'ticks:', String(connectionId))).toBeUndefined();
  });
});
