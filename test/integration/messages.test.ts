/**
 * PROTOCOL §3–§4 and §7 end to end: real `ws` clients against the local stack, in both client
 * styles; every bad message gets its documented error and the connection stays usable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

let stack: RunningStack;
const clients: TestClient[] = [];

async function connect(claims: Parameters<typeof tokenFor>[0]): Promise<TestClient> {
  const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor(claims) });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  stack = await startStack({ SWITCHBOARD_MAX_SUBSCRIPTIONS: '3' });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await stack?.stop();
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('client messages in the action style', () => {
  it('subscribe answers subscribed with the channel and the correlation id', async () => {
    const client = await connect({ sub: 'alice' });
    const reply = await client.request({ action: 'subscribe', channel: 'cluster_code_16', id: 'r1' });
    expect(reply).toMatchObject({ type: 'subscribed', channel: 'cluster_code_16', id: 'r1' });
    expect(reply.timestamp).toMatch(ISO);
  });

  it('unsubscribe answers unsubscribed, also for a channel never subscribed', async () => {
    const client = await connect({ sub: 'alice' });
    await client.request({ action: 'subscribe', channel: 'a' });
    expect(await client.request({ action: 'unsubscribe', channel: 'a' })).toMatchObject({
      type: 'unsubscribed',
      channel: 'a',
    });
    expect(await client.request({ action: 'unsubscribe', channel: 'never' })).toMatchObject({
      type: 'unsubscribed',
      channel: 'never',
    });
    expect(await client.request({ action: 'list_channels' })).toMatchObject({
      type: 'channels',
      subscribed: [],
    });
  });

  it('ping answers pong with the id', async () => {
    const client = await connect({ sub: 'alice' });
    expect(await client.request({ action: 'ping', id: 'p' })).toMatchObject({ type: 'pong', id: 'p' });
  });

  it('whoami answers connected with the user, authorized channels and expiry', async () => {
    // Prepare
    const client = await connect({ sub: 'alice', roles: ['editor'], tenant: 'acme', email: 'alice@acme.io' });
    // Act
    const reply = await client.request({ action: 'whoami' });
    // Assess
    expect(reply).toMatchObject({
      type: 'connected',
      user: { userId: 'alice', email: 'alice@acme.io', roles: ['editor'], tenant: 'acme' },
      authorizedChannels: ['announcements', 'user:alice', '*'],
    });
    expect(reply.connectionId).toEqual(expect.any(String));
    expect(reply.expiresAt).toMatch(ISO);
  });

  it('list_channels answers the authorized patterns and the subscribed names', async () => {
    const client = await connect({ sub: 'bob' });
    await client.request({ action: 'subscribe', channel: 'b' });
    await client.request({ action: 'subscribe', channel: 'a' });
    expect(await client.request({ action: 'list_channels' })).toMatchObject({
      type: 'channels',
      authorized: ['announcements', 'user:bob', '*'],
      subscribed: ['a', 'b'],
    });
  });

  it('refresh extends the connection in place with a new token of the same user', async () => {
    // Prepare
    const client = await connect({ sub: 'carol', ttlSeconds: 60 });
    const fresh = await tokenFor({ sub: 'carol', ttlSeconds: 3600 });
    // Act
    const reply = await client.request({ action: 'refresh', token: fresh, id: 'f' });
    // Assess
    expect(reply).toMatchObject({ type: 'refreshed', id: 'f' });
    expect(Date.parse(String(reply.expiresAt))).toBeGreaterThan(Date.now() + 3000 * 1000);
  });

  it('refresh refuses a token of another user, or a bad token, as unauthorized', async () => {
    const client = await connect({ sub: 'carol' });
    const other = await tokenFor({ sub: 'mallory' });
    expect(await client.request({ action: 'refresh', token: other })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    const otherTenant = await tokenFor({ sub: 'carol', tenant: 'acme' });
    expect(await client.request({ action: 'refresh', token: otherTenant })).toMatchObject({
      code: 'unauthorized',
    });
    expect(await client.request({ action: 'refresh', token: 'x.y.z' })).toMatchObject({
      code: 'unauthorized',
    });
    expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('stats answers counts to admins and unauthorized to others', async () => {
    // Prepare
    const admin = await connect({ sub: 'root', roles: ['admin'], tenant: 'statsco' });
    const member = await connect({ sub: 'member', tenant: 'statsco' });
    await member.request({ action: 'subscribe', channel: 'x' });
    await member.request({ action: 'subscribe', channel: 'y' });
    await admin.request({ action: 'subscribe', channel: 'x' });
    // Act
    const stats = await admin.request({ action: 'stats' });
    const refused = await member.request({ action: 'stats' });
    // Assess
    expect(stats).toMatchObject({ type: 'stats', connections: 2, subscriptions: 3, channels: 2 });
    expect(refused).toMatchObject({ type: 'error', code: 'unauthorized' });
  });
});

describe('client messages in the type style', () => {
  it('works unchanged: subscribe, ping, whoami', async () => {
    const client = await connect({ sub: 'dave' });
    expect(await client.request({ type: 'subscribe', channel: 'apps:created' })).toMatchObject({
      type: 'subscribed',
      channel: 'apps:created',
    });
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await client.request({ type: 'whoami' })).toMatchObject({
      type: 'connected',
      user: { userId: 'dave' },
    });
    expect(await client.request({ type: 'unsubscribe', channel: 'apps:created' })).toMatchObject({
      type: 'unsubscribed',
    });
  });
});

describe('channel policy and limits', () => {
  it("refuses another user's channel and system channels with subscription_failed", async () => {
    const client = await connect({ sub: 'erin' });
    expect(await client.request({ action: 'subscribe', channel: 'user:bob', id: 'u' })).toMatchObject({
      type: 'error',
      code: 'subscription_failed',
      channel: 'user:bob',
      id: 'u',
    });
    expect(await client.request({ action: 'subscribe', channel: 'system:ops' })).toMatchObject({
      code: 'subscription_failed',
    });
    expect(await client.request({ action: 'subscribe', channel: 'user:erin' })).toMatchObject({
      type: 'subscribed',
    });
  });

  it('lets an admin read other users and system channels', async () => {
    const admin = await connect({ sub: 'root', roles: ['admin'] });
    expect(await admin.request({ action: 'subscribe', channel: 'user:bob' })).toMatchObject({
      type: 'subscribed',
    });
    expect(await admin.request({ action: 'subscribe', channel: 'system:ops' })).toMatchObject({
      type: 'subscribed',
    });
  });

  it('caps subscriptions per connection (configured to 3 here) and still accepts a repeat', async () => {
    // Prepare
    const client = await connect({ sub: 'frank' });
    for (const channel of ['c1', 'c2', 'c3']) await client.request({ action: 'subscribe', channel });
    // Act
    const fourth = await client.request({ action: 'subscribe', channel: 'c4' });
    const repeat = await client.request({ action: 'subscribe', channel: 'c1' });
    await client.request({ action: 'unsubscribe', channel: 'c2' });
    const afterRoom = await client.request({ action: 'subscribe', channel: 'c4' });
    // Assess
    expect(fourth).toMatchObject({ type: 'error', code: 'subscription_failed', channel: 'c4' });
    expect(String(fourth.message)).toMatch(/limit/);
    expect(repeat).toMatchObject({ type: 'subscribed', channel: 'c1' });
    expect(afterRoom).toMatchObject({ type: 'subscribed', channel: 'c4' });
  });
});

describe('bad messages', () => {
  const cases: Array<[string, string]> = [
    ['not JSON', 'hello'],
    ['a JSON array', '[1]'],
    ['a JSON string', '"subscribe"'],
    ['an object without action', '{"channel":"a"}'],
    ['an unknown action', '{"action":"emit","channel":"a"}'],
    ['an unknown type', '{"type":"dance"}'],
    ['a mis-cased action', '{"action":"SUBSCRIBE","channel":"a"}'],
    ['a channel of the wrong type', '{"action":"subscribe","channel":42}'],
    ['a channel breaking the grammar', '{"action":"subscribe","channel":"a b"}'],
    ['a channel with a key delimiter', '{"action":"subscribe","channel":"x#y"}'],
    ['a 129-character channel', `{"action":"subscribe","channel":"${'c'.repeat(129)}"}`],
    ['an id too long', `{"action":"ping","id":"${'i'.repeat(65)}"}`],
    ['action and type that disagree', '{"action":"ping","type":"whoami"}'],
    ['a message over 32 KB', `{"action":"ping","pad":"${'p'.repeat(33 * 1024)}"}`],
  ];

  it.each(cases)('%s gets invalid_request and the connection stays usable', async (_name, raw) => {
    // Prepare
    const client = await connect({ sub: 'gina' });
    // Act
    client.send(raw);
    const reply = await client.next();
    // Assess
    expect(reply).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect(reply.message).toEqual(expect.any(String));
    expect(await client.request({ action: 'ping', id: 'after' })).toMatchObject({
      type: 'pong',
      id: 'after',
    });
  });

  it('a binary frame closes the connection with 1003, as API Gateway does (it accepts text frames only)', async () => {
    const client = await connect({ sub: 'gina' });
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.closed).code).toBe(1003);
  });

  it('a frame over API Gateway’s 128 KB limit closes the connection with 1009, like API Gateway', async () => {
    const client = await connect({ sub: 'gina' });
    client.send('x'.repeat(129 * 1024));
    expect((await client.closed).code).toBe(1009);
  });
});
