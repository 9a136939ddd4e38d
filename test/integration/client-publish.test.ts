/**
 * Client publish (PROTOCOL §8): allowed where the publish policy (default `chat:*`, `room:*`)
 * names the channel and the client may subscribe; the event is numbered, kept and fanned out like
 * a service's, to every subscriber the sender included, with `sender` set from the token.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Client, createClient, type EventMessage } from '../../client/index.js';
import { expectEveryEventReachesEveryone, Listener } from '../support/faults.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

let stack: RunningStack;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((listener) => listener.close()));
});
afterAll(async () => {
  await stack?.stop();
});

async function listener(sub: string, tenant: string | undefined, channels: string[]): Promise<Listener> {
  const opened = await Listener.open(stack, { sub, ...(tenant ? { tenant } : {}) }, channels);
  open.push(opened);
  return opened;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

describe('a client publishing to a room', () => {
  it.each([
    ['action', { action: 'publish' }],
    ['type', { type: 'publish' }],
  ])(
    'reaches every subscriber, the sender included, with sender set from the token (%s style)',
    async (_style, verb) => {
      // Prepare
      const room = `room:${_style}`;
      const alice = await listener('alice', 'acme', [room]);
      const bob = await listener('bob', 'acme', [room]);
      const rival = await listener('eve', 'beta', [room]);
      // Act: the message tries to forge its sender.
      const reply = await alice.client.request(
        {
          ...verb,
          channel: room,
          event_type: 'chat_message',
          data: { text: 'hi' },
          id: 'c1',
          sender: { userId: 'bob' },
        },
        'published',
      );
      // Assess
      expect(reply).toMatchObject({ type: 'published', id: 'c1', channel: room });
      const eventId = reply.event_id as string;
      await expectEveryEventReachesEveryone([alice, bob], [eventId], 10_000);
      for (const member of [alice, bob]) {
        expect(member.events).toHaveLength(1);
        expect(member.events[0]).toMatchObject({
          id: eventId,
          channel: room,
          event_type: 'chat_message',
          data: { text: 'hi' },
          seq: 1,
          sender: { userId: 'alice' },
        });
      }
      await settle();
      expect(rival.events).toEqual([]);
    },
  );

  it('is refused outside the publish policy, and the connection stays usable', async () => {
    // Prepare
    const carol = await listener('carol', 'acme', ['news']);
    // Act
    const refused = await carol.client.request({ action: 'publish', channel: 'news', data: 1, id: 'n1' });
    const notAdmin = await carol.client.request({ action: 'publish', channel: 'system:alerts', data: 1 });
    const malformed = await carol.client.request({ action: 'publish', channel: 'room:#1', data: 1 });
    const pong = await carol.client.request({ action: 'ping', id: 'p' }, 'pong');
    // Assess
    expect(refused).toMatchObject({ type: 'error', code: 'unauthorized', id: 'n1', channel: 'news' });
    expect(notAdmin).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(malformed).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect(pong).toMatchObject({ type: 'pong', id: 'p' });
    await settle();
    expect(carol.events).toEqual([]);
  });

  it('is kept in the room history like any event, so a late joiner recovers it with since', async () => {
    // Prepare
    const dave = await listener('dave', 'acme', ['room:history']);
    const sent = await dave.client.request(
      { action: 'publish', channel: 'room:history', data: 'first' },
      'published',
    );
    await expectEveryEventReachesEveryone([dave], [sent.event_id as string], 10_000);
    const late = await listener('erin', 'acme', []);
    // Act
    const reply = await late.client.request(
      { action: 'subscribe', channel: 'room:history', since: 0 },
      'subscribed',
    );
    // Assess
    expect(reply).toMatchObject({ type: 'subscribed', recovered: true, seq: 1 });
    expect(late.events.map((e) => [e.id, e.seq, e.sender])).toEqual([[sent.event_id, 1, { userId: 'dave' }]]);
  });

  it('cannot be impersonated by a service: a sender in a PutEvents detail is dropped', async () => {
    // Prepare
    const frank = await listener('frank', 'acme', ['news']);
    const bus = eventBridge(stack.baseUrl);
    // Act
    const eventId = await publish(bus, {
      channel: 'news',
      tenant: 'acme',
      sender: { userId: 'ceo' },
      data: 'x',
    });
    bus.destroy();
    // Assess
    await expectEveryEventReachesEveryone([frank], [eventId], 10_000);
    expect(frank.events[0]?.sender).toBeUndefined();
  });
});

describe('publishing through the SDK', () => {
  function sdkClient(sub: string): Client {
    const client = createClient({
      url: stack.websocketUrl,
      token: () => tokenFor({ sub, tenant: 'acme' }),
      WebSocket: WebSocket as never,
    });
    open.push({ close: async () => client.close() });
    return client;
  }

  it('publish() resolves with the event id, which every subscriber receives once with the sender', async () => {
    // Prepare
    const alice = sdkClient('alice');
    const bob = sdkClient('bob');
    const seen: Record<string, EventMessage[]> = { alice: [], bob: [] };
    await alice.subscribe('room:sdk', (event) => seen.alice?.push(event));
    await bob.subscribe('room:sdk', (event) => seen.bob?.push(event));
    // Act
    const published = await alice.publish('room:sdk', { text: 'hello' }, { eventType: 'chat_message' });
    // Assess
    expect(published.channel).toBe('room:sdk');
    for (const name of ['alice', 'bob']) {
      await expect.poll(() => seen[name]?.length, { timeout: 10_000 }).toBe(1);
      expect(seen[name]?.[0]).toMatchObject({
        id: published.eventId,
        channel: 'room:sdk',
        event_type: 'chat_message',
        data: { text: 'hello' },
        seq: 1,
        sender: { userId: 'alice' },
      });
    }
  });

  it('publish() rejects outside the publish policy with unauthorized, over the size limit with invalid_request, and the client keeps working', async () => {
    // Prepare
    const carol = sdkClient('carol');
    // Act
    const refused = carol.publish('news', { text: 'not allowed' });
    // Assess
    await expect(refused).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(carol.publish('room:big', 'x'.repeat(40_000))).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/the limit is 32768/),
    });
    await expect(carol.publish('chat:ok', { text: 'allowed' })).resolves.toMatchObject({
      channel: 'chat:ok',
    });
  });
});
