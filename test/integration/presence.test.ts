/**
 * Presence (PROTOCOL §8), end to end against the local stack: on channels the presence policy
 * names (default `chat:*`, `room:*`, `presence:*`), `presence` answers who is subscribed, and
 * subscribers receive `presence_join` when a user's first connection subscribes and
 * `presence_leave` when its last one unsubscribes, disconnects, drops, or is swept after its
 * `$disconnect` was lost. Both client styles (`action` and `type`).
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { memberKey } from '../../adapters/dynamo-presence.js';
import { type Client, createClient, SwitchboardError } from '../../client/index.js';
import { CONNECT_GRACE_SECONDS } from '../../core/sweep.js';
import { testDocumentClient } from '../support/dynamodb.js';
import { FaultControl, startFaultStack } from '../support/faults.js';
import { type RunningStack, type TokenClaims, tokenFor } from '../support/local-stack.js';
import { type Message, TestClient } from '../support/ws-client.js';

const SWEEP_PERIOD_MS = 1_000;

let stack: RunningStack;
let faults: FaultControl;
let db: ReturnType<typeof testDocumentClient>;
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  stack = await startFaultStack({ SWITCHBOARD_SWEEP_INTERVAL_SECONDS: String(SWEEP_PERIOD_MS / 1000) });
  faults = new FaultControl(stack.baseUrl);
  db = testDocumentClient();
});
afterEach(async () => {
  await faults.clear();
  await Promise.all(open.splice(0).map((client) => client.close()));
});
afterAll(async () => {
  db?.destroy();
  await stack?.stop();
});

const STYLES = [
  ['action', 'action'],
  ['type', 'type'],
] as const;
type Style = (typeof STYLES)[number][1];

/** A connection of `claims`, subscribed to `channels` in `style`. */
async function connect(claims: TokenClaims, channels: readonly string[] = [], style: Style = 'action') {
  const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor(claims) });
  open.push(client);
  for (const channel of channels) {
    const reply = await client.request({ [style]: 'subscribe', channel }, 'subscribed');
    expect(reply, `subscribe ${channel}`).toMatchObject({ type: 'subscribed', channel });
  }
  return client;
}

const ask = (client: TestClient, channel: string, style: Style = 'action', id = 'p1') =>
  client.request({ [style]: 'presence', channel, id }, 'presence');

const joinOf = (userId: string, channel: string) => (m: Message) =>
  m.type === 'presence_join' && m.channel === channel && (m.user as { userId: string }).userId === userId;
const leaveOf = (userId: string, channel: string) => (m: Message) =>
  m.type === 'presence_leave' && m.channel === channel && (m.user as { userId: string }).userId === userId;

/** The presence notices `client` received and nobody consumed, after a moment for late ones. */
async function noticesLeft(client: TestClient, graceMs = 500): Promise<Message[]> {
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  return client.pending().filter((m) => m.type === 'presence_join' || m.type === 'presence_leave');
}

describe.each(STYLES)('presence (%s style)', (_name, style) => {
  it('announces a join on the first subscribe and a leave on unsubscribe, and lists members', async () => {
    // Prepare
    const room = `room:basic-${style}`;
    const alice = await connect({ sub: 'alice', tenant: 'acme' }, [room], style);
    await alice.next(joinOf('alice', room));
    // Act
    const bob = await connect({ sub: 'bob', tenant: 'acme' }, [room], style);
    const joined = await alice.next(joinOf('bob', room));
    const listed = await ask(bob, room, style);
    await bob.request({ [style]: 'unsubscribe', channel: room }, 'unsubscribed');
    const left = await alice.next(leaveOf('bob', room));
    const after = await ask(alice, room, style, 'p2');
    // Assess
    expect(joined).toMatchObject({ type: 'presence_join', channel: room, user: { userId: 'bob' } });
    expect(Date.parse(String(joined.timestamp))).not.toBeNaN();
    expect(joined).not.toHaveProperty('seq');
    expect(listed).toMatchObject({
      type: 'presence',
      id: 'p1',
      channel: room,
      count: 2,
      members: [
        { userId: 'alice', connections: 1 },
        { userId: 'bob', connections: 1 },
      ],
    });
    expect(listed).not.toHaveProperty('truncated');
    expect(left).toMatchObject({ type: 'presence_leave', channel: room, user: { userId: 'bob' } });
    expect(after).toMatchObject({ id: 'p2', count: 1, members: [{ userId: 'alice', connections: 1 }] });
  });

  it('counts two connections of one user as one member, and leaves only when the last goes', async () => {
    // Prepare
    const room = `room:devices-${style}`;
    const watcher = await connect({ sub: 'watcher', tenant: 'acme' }, [room], style);
    await watcher.next(joinOf('watcher', room));
    const phone = await connect({ sub: 'carol', tenant: 'acme' }, [room], style);
    await watcher.next(joinOf('carol', room));
    // Act: a second device of the same user.
    const laptop = await connect({ sub: 'carol', tenant: 'acme' }, [room], style);
    const both = await ask(watcher, room, style);
    await phone.close();
    // The phone's $disconnect runs after its socket closes (API Gateway invokes it asynchronously):
    // ask until it has been handled.
    let one = await ask(watcher, room, style, 'p2');
    const carolsConnections = (reply: typeof one) =>
      (reply.members as { userId: string; connections: number }[]).find((m) => m.userId === 'carol')
        ?.connections;
    for (let n = 3; n < 50 && (carolsConnections(one) ?? 0) > 1; n++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      one = await ask(watcher, room, style, `p${n}`);
    }
    const quietAfterFirst = await noticesLeft(watcher);
    await laptop.request({ [style]: 'unsubscribe', channel: room }, 'unsubscribed');
    const left = await watcher.next(leaveOf('carol', room));
    // Assess
    expect(both).toMatchObject({ count: 2 });
    expect(both.members).toContainEqual({ userId: 'carol', connections: 2 });
    expect(one.members).toContainEqual({ userId: 'carol', connections: 1 });
    expect(quietAfterFirst).toEqual([]);
    expect(left).toMatchObject({ user: { userId: 'carol' } });
  });

  it('announces a leave when a socket is dropped without a close handshake', async () => {
    // Prepare
    const room = `room:drop-${style}`;
    const watcher = await connect({ sub: 'watcher', tenant: 'acme' }, [room], style);
    const dave = await connect({ sub: 'dave', tenant: 'acme' }, [room], style);
    await watcher.next(joinOf('dave', room));
    // Act
    dave.socket.terminate();
    // Assess
    expect(await watcher.next(leaveOf('dave', room))).toMatchObject({ channel: room });
    expect(await ask(watcher, room, style)).toMatchObject({ count: 1, members: [{ userId: 'watcher' }] });
  });

  it('refuses a non-subscriber, a channel without presence and a malformed channel; the connection stays usable', async () => {
    // Prepare
    const room = `room:closed-${style}`;
    await connect({ sub: 'member', tenant: 'acme' }, [room], style);
    const outsider = await connect({ sub: 'outsider', tenant: 'acme' }, ['news'], style);
    // Act
    const notSubscribed = await ask(outsider, room, style, 'n1');
    const notTracked = await ask(outsider, 'news', style, 'n2');
    const malformed = await outsider.request({ [style]: 'presence', channel: 'room:#1', id: 'n3' });
    const missing = await outsider.request({ [style]: 'presence', id: 'n4' });
    const wrongType = await outsider.request({ [style]: 'presence', channel: 42, id: 'n5' });
    const pong = await outsider.request({ [style]: 'ping', id: 'p' }, 'pong');
    // Assess
    expect(notSubscribed).toMatchObject({ type: 'error', code: 'unauthorized', id: 'n1', channel: room });
    expect(notSubscribed.message).toMatch(/subscribe first/);
    expect(notTracked).toMatchObject({ type: 'error', code: 'invalid_request', id: 'n2', channel: 'news' });
    expect(notTracked.message).toMatch(/not tracked/);
    expect(malformed).toMatchObject({ type: 'error', code: 'invalid_request', id: 'n3' });
    expect(missing).toMatchObject({ type: 'error', code: 'invalid_request', id: 'n4' });
    expect(wrongType).toMatchObject({ type: 'error', code: 'invalid_request', id: 'n5' });
    expect(pong).toMatchObject({ type: 'pong', id: 'p' });
    expect(await noticesLeft(outsider)).toEqual([]);
  });

  it('keeps tenants apart: the same room name in another tenant sees no member and no notice', async () => {
    // Prepare
    const room = `room:tenants-${style}`;
    const rival = await connect({ sub: 'rival', tenant: 'beta' }, [room], style);
    const untenanted = await connect({ sub: 'plain' }, [room], style);
    await rival.next(joinOf('rival', room));
    await untenanted.next(joinOf('plain', room));
    // Act
    const erin = await connect({ sub: 'erin', tenant: 'acme' }, [room], style);
    await erin.next(joinOf('erin', room));
    await erin.request({ [style]: 'unsubscribe', channel: room }, 'unsubscribed');
    // Assess
    expect(await ask(rival, room, style)).toMatchObject({ count: 1, members: [{ userId: 'rival' }] });
    expect(await ask(untenanted, room, style)).toMatchObject({ count: 1, members: [{ userId: 'plain' }] });
    expect(await noticesLeft(rival)).toEqual([]);
    expect(await noticesLeft(untenanted, 0)).toEqual([]);
  });
});

describe('presence and wildcard subscriptions', () => {
  it('a pattern subscriber is no member, yet receives the notices of matching channels and may ask', async () => {
    // Prepare: a lobby watching every room through `room:lobby.*`.
    const room = 'room:lobby.one';
    const lobby = await connect({ sub: 'lobby', tenant: 'acme' }, ['room:lobby.*']);
    // Act
    const gina = await connect({ sub: 'gina', tenant: 'acme' }, [room]);
    const joined = await lobby.next(joinOf('gina', room));
    const listed = await ask(lobby, room);
    const ofPattern = await lobby.request({ action: 'presence', channel: 'room:lobby.*', id: 'p2' }, 'error');
    await gina.request({ action: 'unsubscribe', channel: room }, 'unsubscribed');
    const left = await lobby.next(leaveOf('gina', room));
    // Assess: only gina is a member (the pattern made the lobby a member of nothing).
    expect(joined).toMatchObject({ type: 'presence_join', channel: room, user: { userId: 'gina' } });
    expect(listed).toMatchObject({ count: 1, members: [{ userId: 'gina', connections: 1 }] });
    expect(ofPattern).toMatchObject({ type: 'error', id: 'p2', code: 'invalid_request' });
    expect(left).toMatchObject({ type: 'presence_leave', channel: room });
    expect(await noticesLeft(lobby)).toEqual([]);
  });
});

describe('presence through the SDK', () => {
  const sdkClient = (sub: string): Client => {
    const client = createClient({
      url: stack.websocketUrl,
      token: () => tokenFor({ sub, tenant: 'acme' }),
      WebSocket: WebSocket as never,
    });
    open.push(client);
    return client;
  };

  it('answers presence() with the members, and reports joins and leaves as typed events', async () => {
    // Prepare
    const room = 'room:sdk';
    const grace = sdkClient('grace');
    const changes: string[] = [];
    grace.on('presence_join', ({ channel, user }) => changes.push(`join ${channel} ${user.userId}`));
    grace.on('presence_leave', ({ channel, user }) => changes.push(`leave ${channel} ${user.userId}`));
    await grace.subscribe(room, () => {});
    // Act
    const refused = await grace.presence('room:elsewhere').catch((error: unknown) => error);
    const heidi = sdkClient('heidi');
    const subscription = heidi.subscribe(room, () => {});
    await subscription;
    const snapshot = await grace.presence(room);
    await subscription.unsubscribe();
    // Assess
    expect(refused).toBeInstanceOf(SwitchboardError);
    expect(refused).toMatchObject({ code: 'unauthorized' });
    expect(snapshot).toEqual({
      channel: room,
      members: [
        { userId: 'grace', connections: 1 },
        { userId: 'heidi', connections: 1 },
      ],
      count: 2,
      truncated: false,
    });
    // Notices are not numbered: the SDK hands them on as they arrive.
    await expect
      .poll(() => [...changes].sort(), { timeout: 10_000 })
      .toEqual([`join ${room} grace`, `join ${room} heidi`, `leave ${room} heidi`]);
  });
});

describe('presence when $disconnect is lost', () => {
  it('announces the leave once the sweep finds the connection gone', async () => {
    // Prepare: a connection old enough for the sweep to trust API Gateway's 410 about it.
    const room = 'room:lost';
    const watcher = await connect({ sub: 'watcher', tenant: 'acme' }, [room]);
    const frank = await connect({ sub: 'frank', tenant: 'acme' }, [room]);
    await watcher.next(joinOf('frank', room));
    const { connectionId } = await frank.request({ action: 'whoami' }, 'connected');
    await faults.set({ dropDisconnect: [String(connectionId)] });
    await new Promise((resolve) => setTimeout(resolve, (CONNECT_GRACE_SECONDS + 1) * 1000));
    // Act
    await frank.close();
    // Assess: no $disconnect ran, and still the leave comes, within two sweep periods and the
    // trip through the publish queue.
    const leave = await watcher.next(leaveOf('frank', room), 2 * SWEEP_PERIOD_MS + 3_000);
    expect(leave).toMatchObject({ user: { userId: 'frank' } });
    expect((await faults.state()).counts.droppedDisconnects).toBe(1);
    expect(await ask(watcher, room)).toMatchObject({ count: 1 });
  }, 30_000);
});

describe('a crowded presence channel', () => {
  it('lists the first 1,000 of 10,000 members, truncated, with the exact count', async () => {
    // Prepare: 9,999 members written straight to the table (as joins write them), and one real.
    const room = 'room:crowd';
    const until = Math.floor(Date.now() / 1000) + 3600;
    const userIds = Array.from({ length: 9_999 }, (_, i) => `user-${String(i).padStart(5, '0')}`);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < userIds.length; i += 25) {
      const chunk = userIds.slice(i, i + 25).map((userId) => ({
        PutRequest: {
          Item: { ...memberKey('acme', room, userId), conns: new Set([`conn-${userId}`]), ttl: until },
        },
      }));
      writes.push(db.send(new BatchWriteCommand({ RequestItems: { [stack.tableName]: chunk } })));
      if (writes.length >= 8) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const zed = await connect({ sub: 'zed', tenant: 'acme' }, [room]);
    // Act: the route answers within its timeout (the local runtime enforces it) or not at all.
    const reply = await ask(zed, room, 'action', 'crowd');
    // Assess
    expect(reply).toMatchObject({ type: 'presence', id: 'crowd', count: 10_000, truncated: true });
    const members = reply.members as { userId: string; connections: number }[];
    expect(members).toHaveLength(1_000);
    expect(members[0]).toEqual({ userId: 'user-00000', connections: 1 });
    expect(members.at(-1)).toEqual({ userId: 'user-00999', connections: 1 });
  }, 120_000);
});
