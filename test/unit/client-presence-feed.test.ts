/**
 * The presence feed behind `usePresence` (client/presence-feed.ts), driven the way React's
 * `useSyncExternalStore` drives it, over the real client and a real `ws` server on a loopback
 * port 0 that answers like Switchboard.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Client, createClient, createPresenceFeed, type PresenceFeed } from '../../client/index.js';

type Json = Record<string, unknown>;
const WAIT = { timeout: 2000, interval: 5 };
const now = () => new Date().toISOString();

interface Server {
  readonly url: string;
  readonly received: Json[];
  /** Who the server says is in the channel, answered to every `presence`. */
  members: string[];
  send(message: Json): void;
  /** Drops every connection (the client reconnects). */
  drop(): void;
  close(): Promise<void>;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(refusePresence = false): Promise<Server> {
  const wss = await new Promise<WebSocketServer>((resolve) => {
    const created = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    created.on('listening', () => resolve(created));
  });
  const server: Server = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    received: [],
    members: ['alice'],
    send: (message) => {
      for (const socket of wss.clients) socket.send(JSON.stringify({ ...message, timestamp: now() }));
    },
    drop: () => {
      for (const socket of wss.clients) socket.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (socket) => {
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as Json;
      server.received.push(message);
      const id = message.id === undefined ? {} : { id: message.id };
      const reply =
        message.action === 'subscribe'
          ? { type: 'subscribed', channel: message.channel, seq: 0, ...id }
          : message.action === 'unsubscribe'
            ? { type: 'unsubscribed', channel: message.channel, ...id }
            : message.action === 'presence' && refusePresence
              ? { type: 'error', code: 'invalid_request', message: 'presence is not tracked', ...id }
              : message.action === 'presence'
                ? {
                    type: 'presence',
                    channel: message.channel,
                    members: server.members.map((userId) => ({ userId, connections: 1 })),
                    count: server.members.length,
                    ...id,
                  }
                : undefined;
      if (reply) socket.send(JSON.stringify({ ...reply, timestamp: now() }));
    });
  });
  cleanups.push(() => server.close());
  return server;
}

function connect(server: Server): Client {
  const client = createClient({ url: server.url, token: 'token-a', WebSocket });
  cleanups.push(() => client.close());
  return client;
}

function listen(feed: PresenceFeed): () => void {
  const stop = feed.listen(() => {});
  cleanups.push(stop);
  return stop;
}

describe('the presence feed', () => {
  it('subscribes, asks presence once confirmed, then follows joins and leaves of its channel only', async () => {
    // Prepare
    const server = await startServer();
    const feed = createPresenceFeed(connect(server), 'room:1');
    // Act
    listen(feed);
    await vi.waitFor(() => expect(feed.getSnapshot().known).toBe(true), WAIT);
    server.send({ type: 'presence_join', channel: 'room:1', user: { userId: 'bob' } });
    server.send({ type: 'presence_join', channel: 'room:2', user: { userId: 'carol' } });
    server.send({ type: 'presence_leave', channel: 'room:1', user: { userId: 'alice' } });
    // Assess
    await vi.waitFor(() => expect(feed.getSnapshot().members).toEqual(['bob']), WAIT);
    expect(feed.getSnapshot()).toMatchObject({ count: 1, truncated: false, error: undefined });
    const actions = server.received.map((m) => m.action);
    expect(actions.indexOf('subscribe')).toBeLessThan(actions.indexOf('presence'));
  });

  it('asks again after a reconnection, since notices sent meanwhile are gone', async () => {
    // Prepare
    const server = await startServer();
    const feed = createPresenceFeed(connect(server), 'room:1');
    listen(feed);
    await vi.waitFor(() => expect(feed.getSnapshot().members).toEqual(['alice']), WAIT);
    // Act: bob and dave arrive while the client is away
    server.members = ['alice', 'bob', 'dave'];
    server.drop();
    // Assess
    await vi.waitFor(() => expect(feed.getSnapshot().members).toEqual(['alice', 'bob', 'dave']), WAIT);
    expect(feed.getSnapshot().count).toBe(3);
  });

  it('reports the refusal of a channel without presence, and unsubscribes when the last listener leaves', async () => {
    // Prepare
    const server = await startServer(true);
    const feed = createPresenceFeed(connect(server), 'news');
    const stop = listen(feed);
    // Act
    await vi.waitFor(() => expect(feed.getSnapshot().error?.code).toBe('invalid_request'), WAIT);
    stop();
    // Assess
    await vi.waitFor(
      () =>
        expect(server.received.some((m) => m.action === 'unsubscribe' && m.channel === 'news')).toBe(true),
      WAIT,
    );
    expect(feed.getSnapshot().known).toBe(false);
  });
});
