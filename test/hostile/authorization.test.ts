/**
 * Hostile attempts to read what a connection may not (PROTOCOL §2, §5): another user's channel, a
 * system channel, admin rights from look-alike roles, another tenant's channels by name tricks,
 * publishing, or a refresh; and anything but ping/refresh once the token has expired. Each gets its
 * exact error code, stores nothing, and leaves the connection usable.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelPartition } from '../../adapters/dynamo-store.js';
import { forgeJwt, LeakWatch, nowSeconds, plantedClaims } from '../support/hostile-jwt.js';
import { expectCleanLogs, expectStillServing, useHostileStack } from '../support/hostile-stack.js';
import { TEST_SECRET } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { type Message, TestClient } from '../support/ws-client.js';

const watch = new LeakWatch();
// No sweep during the file: the two-second token below must stay connected to be tested.
const suite = useHostileStack({ SWITCHBOARD_SWEEP_INTERVAL_SECONDS: '3600' });
let bus: EventBridgeClient;
const clients: TestClient[] = [];
let brief: Connected;
let expiresAtMs: number;

interface Connected {
  readonly client: TestClient;
  readonly sub: string;
  readonly connectionId: string;
}

const sign = (claims: Record<string, unknown>) =>
  watch.sent(forgeJwt({ alg: 'HS256', typ: 'JWT' }, claims, { hmac: TEST_SECRET }));

async function connect(extra: Record<string, unknown> = {}): Promise<Connected> {
  const claims = plantedClaims(watch, { roles: [], ...extra });
  const client = await TestClient.connect(suite.stack.websocketUrl, { token: sign(claims) });
  clients.push(client);
  const { connectionId } = await client.request({ action: 'whoami' });
  return { client, sub: String(claims.sub), connectionId: String(connectionId) };
}

/** The reply to one message, then proof that the connection is usable and stored no subscription. */
async function expectRefusal(
  who: Connected,
  message: Record<string, unknown>,
  expected: Record<string, unknown>,
): Promise<Message> {
  const reply = await who.client.request(message);
  expect(reply).toMatchObject(expected);
  await expectStillServing(who.client);
  expect(await suite.probe.subscriptionsOf(who.connectionId)).toEqual({ items: [], channels: [] });
  return reply;
}

const eventOn = (channel: string, id?: string) => (m: Message) =>
  m.type === 'event' && m.channel === channel && (id === undefined || m.id === id);

beforeAll(async () => {
  bus = eventBridge(suite.stack.baseUrl);
  // A token that lives two seconds, connected first so that they pass while the other cases run.
  brief = await connect({ exp: nowSeconds() + 2 });
  expiresAtMs = Date.parse(String((await brief.client.request({ action: 'whoami' })).expiresAt));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  bus?.destroy();
});

describe("another user's channels and system channels", () => {
  let eve: Connected;
  beforeAll(async () => {
    eve = await connect();
  });

  it.each<[string, (sub: string) => string]>([
    ["bob's user channel", () => 'user:bob'],
    ["a sub-channel of bob's", () => 'user:bob:x'],
    ['her own user channel with a suffix segment', (sub) => `user:${sub}:x`],
    ['her own user id with a letter appended', (sub) => `user:${sub}x`],
    ['her own user id in upper case', (sub) => `user:${sub.toUpperCase()}`],
    ["the admin's user channel", () => 'user:admin'],
    ["an anonymous connection's user channel", () => 'user:anonymous:abc'],
    ['system:ops', () => 'system:ops'],
    ['system: with nothing after it', () => 'system:'],
    ['a system channel named after her', (sub) => `system:user:${sub}`],
    ['system:announcements', () => 'system:announcements'],
  ])('subscribing to %s gets subscription_failed and stores nothing', async (_name, channelOf) => {
    const channel = channelOf(eve.sub);
    await expectRefusal(
      eve,
      { action: 'subscribe', channel, id: 'deny' },
      {
        type: 'error',
        code: 'subscription_failed',
        channel,
        id: 'deny',
      },
    );
    expect(await suite.probe.channelPartitions()).not.toContain(channelPartition(undefined, channel));
  });

  it('stats gets unauthorized', async () => {
    await expectRefusal(eve, { action: 'stats', id: 's' }, { type: 'error', code: 'unauthorized', id: 's' });
  });

  it("unsubscribing from bob's channel answers unsubscribed and leaves bob's subscription alone", async () => {
    // Prepare
    const bob = await connect();
    const channel = `user:${bob.sub}`;
    expect(await bob.client.request({ action: 'subscribe', channel })).toMatchObject({ type: 'subscribed' });
    // Act
    const reply = await eve.client.request({ action: 'unsubscribe', channel });
    // Assess
    expect(reply).toMatchObject({ type: 'unsubscribed', channel });
    expect(await suite.probe.subscriptionsOf(bob.connectionId)).toEqual({
      items: [channelPartition(undefined, channel)],
      channels: [channel],
    });
    const id = await publish(bus, { channel, data: 'still for bob' });
    expect(await bob.client.next(eventOn(channel, id))).toMatchObject({ data: 'still for bob' });
    expect(eve.client.pending().filter((m) => m.type === 'event')).toEqual([]);
  });

  it('her own user channel is hers to read (control)', async () => {
    const own = await connect();
    expect(await own.client.request({ action: 'subscribe', channel: `user:${own.sub}` })).toMatchObject({
      type: 'subscribed',
    });
  });
});

describe('roles that only look like admin grant nothing', () => {
  it.each<[string, Record<string, unknown>]>([
    ['roles ["Admin"]', { roles: ['Admin'] }],
    ['roles ["ADMIN"]', { roles: ['ADMIN'] }],
    ['roles ["admin "]', { roles: ['admin '] }],
    ['roles [" admin"]', { roles: [' admin'] }],
    ['roles ["admin\\u0000"]', { roles: ['admin\u0000'] }],
    ['roles ["administrator"]', { roles: ['administrator'] }],
    ['roles ["admins"]', { roles: ['admins'] }],
    ['roles ["admin,ops"]', { roles: ['admin,ops'] }],
    ['roles ["*"]', { roles: ['*'] }],
    ['roles ["аdmin"] with a Cyrillic a', { roles: ['\u0430dmin'] }],
    ['role "Admin"', { role: 'Admin' }],
    ['role "root"', { role: 'root' }],
  ])('%s: stats is unauthorized, system and other users channels are refused', async (_name, roles) => {
    const who = await connect(roles);
    await expectRefusal(who, { action: 'stats' }, { type: 'error', code: 'unauthorized' });
    await expectRefusal(
      who,
      { action: 'subscribe', channel: 'system:ops' },
      { type: 'error', code: 'subscription_failed' },
    );
    await expectRefusal(
      who,
      { action: 'subscribe', channel: 'user:bob' },
      { type: 'error', code: 'subscription_failed' },
    );
  });

  it('the real admin role does grant them (control)', async () => {
    const admin = await connect({ roles: ['admin'] });
    expect(await admin.client.request({ action: 'stats' })).toMatchObject({ type: 'stats' });
    expect(await admin.client.request({ action: 'subscribe', channel: 'system:ops' })).toMatchObject({
      type: 'subscribed',
    });
  });
});

describe('tenants', () => {
  let acme: Connected;
  let globex: Connected;
  let none: Connected;
  beforeAll(async () => {
    [acme, globex, none] = await Promise.all([
      connect({ tenant: 'acme' }),
      connect({ tenant: 'globex' }),
      connect(),
    ]);
  });

  it.each([
    ['globex#orders'],
    ['chan#globex#orders'],
    ['globex%23orders'],
    ['#orders'],
    ['orders#'],
    ['globex#'],
  ])('acme subscribing to %s (another tenant embedded in the name) gets invalid_request', async (channel) => {
    await expectRefusal(acme, { action: 'subscribe', channel }, { type: 'error', code: 'invalid_request' });
    expect([...(await suite.probe.channelPartitions())].filter((p) => p.includes('globex'))).toEqual([]);
  });

  it("acme's subscription is stored in acme's space only", async () => {
    expect(await acme.client.request({ action: 'subscribe', channel: 'orders' })).toMatchObject({
      type: 'subscribed',
    });
    expect(await globex.client.request({ action: 'subscribe', channel: 'orders' })).toMatchObject({
      type: 'subscribed',
    });
    expect(await none.client.request({ action: 'subscribe', channel: 'orders' })).toMatchObject({
      type: 'subscribed',
    });
    expect(await suite.probe.subscriptionsOf(acme.connectionId)).toEqual({
      items: [channelPartition('acme', 'orders')],
      channels: ['orders'],
    });
  });

  /** Proves a negative: a marker published after the event reaches `who`, and the event did not. */
  async function expectNotDelivered(
    who: Connected,
    forbidden: string,
    tenant: string | undefined,
  ): Promise<void> {
    const marker = await publish(bus, { channel: 'orders', data: 'marker', ...(tenant ? { tenant } : {}) });
    await who.client.next(eventOn('orders', marker));
    expect(who.client.pending().filter((m) => m.id === forbidden)).toEqual([]);
  }

  it("an event published to globex reaches globex's subscriber and not acme's nor the tenant-less one", async () => {
    const id = await publish(bus, { channel: 'orders', data: 'for globex', tenant: 'globex' });
    expect(await globex.client.next(eventOn('orders', id))).toMatchObject({ data: 'for globex' });
    await expectNotDelivered(acme, id, 'acme');
    await expectNotDelivered(none, id, undefined);
  });

  it('an event published with channels [orders] to globex does not reach acme', async () => {
    const id = await publish(bus, { channels: ['orders'], data: 'for globex', tenant: 'globex' });
    await globex.client.next(eventOn('orders', id));
    await expectNotDelivered(acme, id, 'acme');
  });

  it('an event published without a tenant does not reach acme nor globex', async () => {
    const id = await publish(bus, { channel: 'orders', data: 'no tenant' });
    await none.client.next(eventOn('orders', id));
    await expectNotDelivered(acme, id, 'acme');
    await expectNotDelivered(globex, id, 'globex');
  });

  it.each<[string, Record<string, unknown>]>([
    ['tenant "ACME" (tenants are case-sensitive)', { channel: 'orders', tenant: 'ACME' }],
    ['tenant "acme#x" (breaks the grammar)', { channel: 'orders', tenant: 'acme#x' }],
    ['tenant "acme " with a trailing space', { channel: 'orders', tenant: 'acme ' }],
    ['channel "acme#orders" without a tenant', { channel: 'acme#orders' }],
    ['channel "orders" under a tenant "" (empty)', { channel: 'orders', tenant: '' }],
  ])('an event published with %s does not reach acme', async (_name, detail) => {
    const id = await publish(bus, { ...detail, data: 'hostile' });
    await expectNotDelivered(acme, id, 'acme');
  });

  it.each<[string, Record<string, unknown>]>([
    ['the same user in another tenant', { tenant: 'globex' }],
    ['the same user without a tenant', {}],
  ])('refresh with a token of %s gets unauthorized, and the tenant stays', async (_name, extra) => {
    const token = sign({ ...plantedClaims(watch, { roles: [] }), sub: acme.sub, ...extra });
    expect(await acme.client.request({ action: 'refresh', token })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    expect(await acme.client.request({ action: 'whoami' })).toMatchObject({
      user: { userId: acme.sub, tenant: 'acme' },
    });
  });
});

describe('hostile refresh tokens get unauthorized and change nothing', () => {
  let carol: Connected;
  let expiresAt: unknown;
  beforeAll(async () => {
    carol = await connect();
    expiresAt = (await carol.client.request({ action: 'whoami' })).expiresAt;
  });

  const same = (extra: Record<string, unknown>) => ({
    ...plantedClaims(watch, { roles: [] }),
    sub: carol.sub,
    ...extra,
  });
  it.each<[string, () => string]>([
    ["another user's valid token", () => sign(plantedClaims(watch, { roles: ['admin'] }))],
    [
      'her own claims with alg "none"',
      () => watch.sent(forgeJwt({ alg: 'none' }, same({}), { signature: '' })),
    ],
    ['her own claims, expired', () => sign(same({ iat: nowSeconds() - 600, exp: nowSeconds() - 120 }))],
    [
      'her own claims signed with the secret used before rotation',
      () =>
        watch.sent(
          forgeJwt({ alg: 'HS256' }, same({}), { hmac: 'the-previous-secret-of-at-least-32-bytes-long' }),
        ),
    ],
    ['her own claims over 4 KB', () => sign(same({ pad: 'p'.repeat(4096) }))],
    [
      'her own claims with admin, over the lifetime cap',
      () => sign(same({ roles: ['admin'], exp: nowSeconds() + 30 * 86400 })),
    ],
    ['garbage', () => 'x.y.z'],
  ])('%s', async (_name, token) => {
    await expectRefusal(
      carol,
      { action: 'refresh', token: token(), id: 'r' },
      { type: 'error', code: 'unauthorized', id: 'r' },
    );
    const whoami = await carol.client.request({ action: 'whoami' });
    expect(whoami).toMatchObject({ user: { userId: carol.sub, roles: [] }, expiresAt });
  });
});

describe('after the token expires', () => {
  it.each<[string, Record<string, unknown>]>([
    ['subscribe', { action: 'subscribe', channel: 'late' }],
    ['unsubscribe', { action: 'unsubscribe', channel: 'late' }],
    ['whoami', { action: 'whoami' }],
    ['list_channels', { action: 'list_channels' }],
    ['stats', { action: 'stats' }],
  ])('%s gets unauthorized, and ping still gets pong', async (_name, message) => {
    const wait = expiresAtMs - Date.now() + 50;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await expectRefusal(
      brief,
      { ...message, id: 'late' },
      { type: 'error', code: 'unauthorized', id: 'late' },
    );
  });

  it('refresh with an expired token of the same user gets unauthorized', async () => {
    const token = sign({
      ...plantedClaims(watch, { roles: [] }),
      sub: brief.sub,
      iat: nowSeconds() - 600,
      exp: nowSeconds() - 60,
    });
    await expectRefusal(brief, { action: 'refresh', token }, { type: 'error', code: 'unauthorized' });
  });

  it('refresh with a fresh token of the same user recovers the connection (control)', async () => {
    const token = sign({ ...plantedClaims(watch, { roles: [] }), sub: brief.sub });
    expect(await brief.client.request({ action: 'refresh', token })).toMatchObject({ type: 'refreshed' });
    expect(await brief.client.request({ action: 'subscribe', channel: 'late' })).toMatchObject({
      type: 'subscribed',
    });
  });
});

describe('afterwards', () => {
  it('the stack still serves, and its logs hold no token and no planted claim', async () => {
    const fresh = await connect();
    await expectStillServing(fresh.client);
    expectCleanLogs(suite.stack.logs(), watch);
  });
});
