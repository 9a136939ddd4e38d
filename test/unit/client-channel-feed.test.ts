/**
 * The channel feed behind `useSwitchboard` (client/channel-feed.ts), driven the way React's
 * `useSyncExternalStore` drives it, over the real client and a real `ws` server on a loopback
 * port 0 that answers like Switchboard (its replies scripted per test).
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type ChannelFeed, type Client, createChannelFeed, createClient } from '../../client/index.js';

type Json = Record<string, unknown>;
const WAIT = { timeout: 2000, interval: 5 };
const now = () => new Date().toISOString();

interface Server {
  readonly url: string;
  readonly received: Json[];
  /** Sends `message` to every connected client. */
  send(message: Json): void;
  close(): Promise<void>;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Confirms subscriptions unless `refuse` names the channel, and confirms unsubscriptions. */
async function startServer(refuse: ReadonlySet<string> = new Set()): Promise<Server> {
  const wss = await new Promise<WebSocketServer>((resolve) => {
    const created = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    created.on('listening', () => resolve(created));
  });
  const received: Json[] = [];
  wss.on('connection', (socket) => {
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as Json;
      received.push(message);
      const id = message.id === undefined ? {} : { id: message.id };
      const reply =
        message.action === 'subscribe' && refuse.has(String(message.channel))
          ? { type: 'error', code: 'unauthorized', message: 'not yours', channel: message.channel, ...id }
          : message.action === 'subscribe'
            ? { type: 'subscribed', channel: message.channel, ...id }
            : message.action === 'unsubscribe'
              ? { type: 'unsubscribed', channel: message.channel, ...id }
              : undefined;
      if (reply) socket.send(JSON.stringify({ ...reply, timestamp: now() }));
    });
  });
  const server: Server = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    received,
    send: (message) => {
      for (const socket of wss.clients) socket.send(JSON.stringify(message));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  };
  cleanups.push(() => server.close());
  return server;
}

function connect(server: Server): Client {
  const client = createClient({ url: server.url, token: 'token-a', WebSocket });
  cleanups.push(() => client.close());
  return client;
}

function event(channel: string, seq: number, data: unknown = { seq }): Json {
  return {
    type: 'event',
    id: `event-${seq}`,
    channel,
    event_type: 'order_paid',
    data,
    seq,
    timestamp: now(),
  };
}

/** Listens as useSyncExternalStore does, counting the change notifications. */
function listen(feed: ChannelFeed): { changes: () => number; stop: () => void } {
  let changes = 0;
  const stop = feed.listen(() => {
    changes += 1;
  });
  cleanups.push(stop);
  return { changes: () => changes, stop };
}

describe('channel feed', () => {
  it('subscribes when the first listener comes, and holds the latest events newest first', async () => {
    // Prepare
    const server = await startServer();
    const feed = createChannelFeed(connect(server), 'orders', { keep: 2 });
    expect(feed.getSnapshot()).toMatchObject({ events: [], subscribed: false, error: undefined });
    expect(server.received).toEqual([]);

    // Act
    listen(feed);
    await vi.waitFor(
      () => expect(feed.getSnapshot()).toMatchObject({ state: 'open', subscribed: true }),
      WAIT,
    );
    for (const seq of [1, 2, 3]) server.send(event('orders', seq));

    // Assess
    await vi.waitFor(() => expect(feed.getSnapshot().events.map((e) => e.seq)).toEqual([3, 2]), WAIT);
    expect(feed.getSnapshot().events[0]?.data).toEqual({ seq: 3 });
  });

  it('returns the same snapshot until something changes, as useSyncExternalStore requires', async () => {
    // Prepare
    const server = await startServer();
    const feed = createChannelFeed(connect(server), 'orders');
    const { changes } = listen(feed);
    await vi.waitFor(() => expect(feed.getSnapshot().subscribed).toBe(true), WAIT);

    // Act
    const before = feed.getSnapshot();
    const changesBefore = changes();
    server.send(event('orders', 1));
    await vi.waitFor(() => expect(feed.getSnapshot().events).toHaveLength(1), WAIT);

    // Assess
    expect(feed.getSnapshot()).toBe(feed.getSnapshot());
    expect(feed.getSnapshot()).not.toBe(before);
    expect(changes()).toBeGreaterThan(changesBefore);
  });

  it('reports a refused subscription as its error, and keeps the client open', async () => {
    // Prepare
    const server = await startServer(new Set(['user:bob']));
    const client = connect(server);
    const feed = createChannelFeed(client, 'user:bob');

    // Act
    listen(feed);

    // Assess
    await vi.waitFor(() => expect(feed.getSnapshot().error?.code).toBe('unauthorized'), WAIT);
    expect(feed.getSnapshot().subscribed).toBe(false);
    expect(client.state).toBe('open');
  });

  it('unsubscribes on the wire when the last listener leaves, and keeps the events it held', async () => {
    // Prepare
    const server = await startServer();
    const feed = createChannelFeed(connect(server), 'orders');
    const first = listen(feed);
    const second = listen(feed);
    await vi.waitFor(() => expect(feed.getSnapshot().subscribed).toBe(true), WAIT);
    server.send(event('orders', 1));
    await vi.waitFor(() => expect(feed.getSnapshot().events).toHaveLength(1), WAIT);

    // Act
    first.stop();
    const whileOneListens = server.received.filter((m) => m.action === 'unsubscribe').length;
    second.stop();

    // Assess
    expect(whileOneListens).toBe(0);
    await vi.waitFor(
      () =>
        expect(server.received).toContainEqual(
          expect.objectContaining({ action: 'unsubscribe', channel: 'orders' }),
        ),
      WAIT,
    );
    expect(feed.getSnapshot()).toMatchObject({
      subscribed: false,
      events: [expect.objectContaining({ seq: 1 })],
    });
  });

  it('refuses a keep that is not a positive integer, naming the value', async () => {
    const server = await startServer();
    const client = connect(server);
    expect(() => createChannelFeed(client, 'orders', { keep: 0 })).toThrow(
      new RangeError('keep must be a positive integer, got 0'),
    );
    expect(() => createChannelFeed(client, 'orders', { keep: 2.5 })).toThrow(/got 2.5/);
  });
});
