/**
 * The client SDK against a scripted server: a real `ws` WebSocketServer on a loopback port 0, whose
 * handshakes (accept, or refuse with a status) and replies each test scripts. The SDK's real code
 * runs over real sockets; only the browser-only behaviour uses an injected fake WebSocket.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  type Client,
  type ClientEvents,
  type ClientOptions,
  ClientOptionsError,
  createClient,
  type EventMessage,
  SwitchboardError,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../../client/index.js';
import { DEFAULTS } from '../../client/options.js';

type Json = Record<string, unknown>;

interface ServerConnection {
  readonly socket: WebSocket;
  readonly token: string | undefined;
  readonly url: string;
  readonly received: Json[];
  send(message: Json): void;
  publish(channel: string, eventId: string, eventType?: string, data?: unknown): void;
}

/** The server's answer to one client message: the messages to send back. */
type Respond = (message: Json, connection: ServerConnection) => Json[];

const now = () => new Date().toISOString();

/** What a healthy Switchboard answers. */
const happyPath: Respond = (message, connection) => {
  const id = message.id === undefined ? {} : { id: message.id };
  switch (message.action) {
    case 'subscribe':
      return [{ type: 'subscribed', channel: message.channel, ...id, timestamp: now() }];
    case 'unsubscribe':
      return [{ type: 'unsubscribed', channel: message.channel, ...id, timestamp: now() }];
    case 'ping':
      return [{ type: 'pong', ...id, timestamp: now() }];
    case 'keepalive':
      // API Gateway's mock route: one-way, nothing comes back.
      return [];
    case 'whoami':
      return [
        {
          type: 'connected',
          ...id,
          connectionId: `connection-${connection.token}`,
          user: { userId: 'alice', roles: ['reader'] },
          authorizedChannels: ['*'],
          expiresAt: '2030-01-01T00:00:00.000Z',
          timestamp: now(),
        },
      ];
    case 'refresh':
      return [{ type: 'refreshed', ...id, expiresAt: '2031-01-01T00:00:00.000Z', timestamp: now() }];
    case 'publish':
      return [{ type: 'published', ...id, channel: message.channel, event_id: 'evt-1', timestamp: now() }];
    default:
      return [{ type: 'error', code: 'invalid_request', message: 'unknown action', ...id, timestamp: now() }];
  }
};

function tokenOf(request: IncomingMessage): string | undefined {
  const fromQuery = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  if (fromQuery !== null) return fromQuery;
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((value) => value.trim());
  return offered.find((value) => value.startsWith('token-'))?.slice('token-'.length);
}

class ScriptedServer {
  readonly connections: ServerConnection[] = [];
  /** Every handshake, accepted or not. */
  readonly handshakes: Array<{ readonly token: string | undefined; readonly protocols: string | undefined }> =
    [];
  /** The HTTP status to refuse a handshake with, or undefined to accept it. */
  refuse: (token: string | undefined) => number | undefined = () => undefined;
  respond: Respond = happyPath;

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (socket, request) => {
      const received: Json[] = [];
      const connection: ServerConnection = {
        socket,
        token: tokenOf(request),
        url: request.url ?? '',
        received,
        send: (message) => socket.send(JSON.stringify(message)),
        publish: (channel, eventId, eventType = 'created', data = {}) =>
          connection.send({
            type: 'event',
            id: eventId,
            channel,
            event_type: eventType,
            data,
            timestamp: now(),
          }),
      };
      this.connections.push(connection);
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as Json;
        received.push(message);
        for (const reply of this.respond(message, connection)) connection.send(reply);
      });
    });
  }

  static async start(): Promise<ScriptedServer> {
    let server: ScriptedServer | undefined;
    const wss = await new Promise<WebSocketServer>((resolve) => {
      const created: WebSocketServer = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        verifyClient: (info, done) => {
          const token = tokenOf(info.req);
          server?.handshakes.push({ token, protocols: info.req.headers['sec-websocket-protocol'] });
          const status = server?.refuse(token);
          if (status === undefined) done(true);
          else done(false, status);
        },
        // Answer the non-token subprotocol, as the protocol requires.
        handleProtocols: (protocols) => (protocols.has('switchboard.v1') ? 'switchboard.v1' : false),
      });
      created.on('listening', () => resolve(created));
    });
    server = new ScriptedServer(wss);
    servers.push(server);
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws`;
  }

  /** The `index`-th accepted connection, once it exists. */
  async connection(index: number): Promise<ServerConnection> {
    await vi.waitFor(() => expect(this.connections.length).toBeGreaterThan(index), WAIT);
    return this.connections[index] as ServerConnection;
  }

  /** The first message matching `where` that `connection` received, once it arrives. */
  async received(connection: ServerConnection, where: Partial<Json>): Promise<Json> {
    await vi.waitFor(() => expect(connection.received).toContainEqual(expect.objectContaining(where)), WAIT);
    return connection.received.find((message) =>
      Object.entries(where).every(([k, v]) => message[k] === v),
    ) as Json;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

const WAIT = { timeout: 2000, interval: 5 };
const servers: ScriptedServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  vi.unstubAllGlobals();
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A client with small timers, so every state transition happens within milliseconds. */
function connect(server: ScriptedServer, options: Partial<ClientOptions> = {}): Client {
  const client = createClient({
    url: server.url,
    token: 'token-a',
    WebSocket,
    reconnect: { baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
  clients.push(client);
  return client;
}

/** Every client event, in order, as `name` or `name:detail`. */
function record(client: Client): string[] {
  const log: string[] = [];
  client.on('connecting', () => log.push('connecting'));
  client.on('open', ({ reconnected }) => log.push(reconnected ? 'open:reconnected' : 'open'));
  client.on('reconnecting', ({ attempt }) => log.push(`reconnecting:${attempt}`));
  client.on('closed', ({ error }) => log.push(error === undefined ? 'closed' : `closed:${error.code}`));
  return log;
}

function nextEvent<K extends keyof ClientEvents>(client: Client, event: K): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const off = client.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<SwitchboardError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SwitchboardError);
  return error as SwitchboardError;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A browser-like WebSocket whose handshakes all fail the way browsers report a refused one:
 * an `error` event without detail, then close 1006, never `open`.
 */
function refusedInBrowser(): { readonly WebSocket: WebSocketConstructor; readonly urls: string[] } {
  const urls: string[] = [];
  class RefusedWebSocket implements WebSocketLike {
    readyState = 0;
    onopen: WebSocketLike['onopen'] = null;
    onmessage: WebSocketLike['onmessage'] = null;
    onclose: WebSocketLike['onclose'] = null;
    onerror: WebSocketLike['onerror'] = null;
    constructor(url: string) {
      urls.push(url);
      setTimeout(() => {
        this.readyState = 3;
        this.onerror?.({ type: 'error' });
        this.onclose?.({ code: 1006, reason: '' });
      }, 1);
    }
    send(): void {
      throw new Error('not open');
    }
    close(): void {}
  }
  return { WebSocket: RefusedWebSocket, urls };
}

describe('connecting', () => {
  it('connects with a string token sent as the token query parameter', async () => {
    // Prepare
    const server = await ScriptedServer.start();

    // Act
    const client = connect(server, { token: 'jwt-1' });
    await nextEvent(client, 'open');

    // Assess
    const connection = await server.connection(0);
    expect(connection.url).toBe('/ws?token=jwt-1');
    expect(server.handshakes[0]?.protocols).toBeUndefined();
    expect(client.state).toBe('open');
  });

  it('asks the token provider for a fresh token before every connection', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    let issued = 0;
    const client = connect(server, { token: async () => `short-lived-${++issued}` });
    await nextEvent(client, 'open');

    // Act
    (await server.connection(0)).socket.terminate();
    await nextEvent(client, 'open');

    // Assess
    expect(server.connections.map((connection) => connection.token)).toEqual([
      'short-lived-1',
      'short-lived-2',
    ]);
  });

  it('offers switchboard.v1 and token-<jwt> as subprotocols when tokenTransport is protocol', async () => {
    // Prepare
    const server = await ScriptedServer.start();

    // Act
    const client = connect(server, { token: 'jwt-2', tokenTransport: 'protocol' });
    await nextEvent(client, 'open');

    // Assess
    const connection = await server.connection(0);
    expect(server.handshakes[0]?.protocols).toBe('switchboard.v1,token-jwt-2');
    expect(connection.url).toBe('/ws');
    expect(connection.socket.protocol).toBe('switchboard.v1');
  });

  it('accepts both the browser WebSocket and the ws constructor as its implementation', () => {
    // Prepare, Act: compile-time checks; the browser's is only a type on Node 20.
    const fromWs: WebSocketConstructor = WebSocket;
    const fromBrowser: WebSocketConstructor | undefined = globalThis.WebSocket as
      | typeof globalThis.WebSocket
      | undefined;

    // Assess
    expect(fromWs).toBe(WebSocket);
    expect(fromBrowser === undefined || typeof fromBrowser === 'function').toBe(true);
  });

  it('refuses options it cannot work with, naming the option and the value received', () => {
    // Prepare, Act, Assess
    expect(() => createClient({ url: 'ws://127.0.0.1:1/ws' })).toThrow(/no WebSocket implementation/);
    expect(() => createClient({ url: 'http://example.com/ws?token=secret', WebSocket })).toThrow(
      new ClientOptionsError('url must be a ws:// or wss:// URL; received http://example.com/ws'),
    );
    expect(() => createClient({ url: 'ws://x/ws', WebSocket, reconnect: { baseDelayMs: -1 } })).toThrow(
      /reconnect.baseDelayMs must be a number of at least 1 .*; received -1/,
    );
    expect(() => createClient({ url: 'ws://x/ws', WebSocket, heartbeatIntervalMs: 2 ** 40 })).toThrow(
      /heartbeatIntervalMs .* \(or Infinity\); received/,
    );
  });
});

describe('subscribing', () => {
  it('resolves once the server confirms, after an action-style request with a correlation id', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);

    // Act
    const subscription = client.subscribe('cluster_code_16', () => {});
    await subscription;

    // Assess
    const connection = await server.connection(0);
    expect(connection.received).toEqual([
      { action: 'subscribe', channel: 'cluster_code_16', id: expect.any(String) },
    ]);
    expect(subscription.channel).toBe('cluster_code_16');
  });

  it('rejects with a SwitchboardError carrying the protocol code when the server refuses the channel', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      message.action === 'subscribe' && message.channel === 'system:audit'
        ? [
            {
              type: 'error',
              code: 'subscription_failed',
              message: 'not allowed',
              id: message.id,
              channel: 'system:audit',
              timestamp: now(),
            },
          ]
        : happyPath(message, connection);
    const client = connect(server);
    const reported: SwitchboardError[] = [];
    client.on('error', (error) => reported.push(error));

    // Act
    const error = await rejection(client.subscribe('system:audit', () => {}));

    // Assess
    expect(error).toMatchObject({
      code: 'subscription_failed',
      channel: 'system:audit',
      message: 'not allowed',
    });
    expect(reported).toEqual([error]);
    // A refused channel is not resubscribed after a reconnection.
    (await server.connection(0)).socket.terminate();
    await client.subscribe('other', () => {});
    const second = await server.connection(1);
    expect(second.received.map((message) => message.channel)).toEqual(['other']);
  });

  it('rejects with timeout when the server never answers the subscription', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = () => [];
    const client = connect(server, { requestTimeoutMs: 30 });

    // Act
    const error = await rejection(client.subscribe('silent', () => {}));

    // Assess
    expect(error).toMatchObject({ code: 'timeout', channel: 'silent' });
  });

  it('matches replies that carry no correlation id by channel', async () => {
    // Prepare: a server of the older style, which never echoes ids.
    const server = await ScriptedServer.start();
    server.respond = (message, connection) => {
      const { id: _ignored, ...replies } = happyPath(message, connection)[0] as Json;
      return [replies];
    };
    const client = connect(server);

    // Act, Assess
    await expect(client.subscribe('apps:created', () => {})).resolves.toBeUndefined();
  });

  it('calls the handlers of a handler map by event_type and ignores other types', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const created: unknown[] = [];
    const deleted: unknown[] = [];
    await client.subscribe('cluster_code_16', {
      workspace_created: (event) => created.push(event.data),
      workspace_deleted: (event) => deleted.push(event.data),
    });
    const connection = await server.connection(0);

    // Act
    connection.publish('cluster_code_16', 'e1', 'workspace_created', { id: 11 });
    connection.publish('cluster_code_16', 'e2', 'workspace_renamed', { id: 11 });
    connection.publish('cluster_code_16', 'e3', 'workspace_deleted', { id: 12 });

    // Assess
    await vi.waitFor(() => expect(deleted).toEqual([{ id: 12 }]), WAIT);
    expect(created).toEqual([{ id: 11 }]);
  });

  it('delivers a redelivered event once per channel, and the same event on another channel too', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const seen: string[] = [];
    const handler = (event: EventMessage) => seen.push(`${event.channel}/${event.id}`);
    await Promise.all([client.subscribe('a', handler), client.subscribe('b', handler)]);
    const connection = await server.connection(0);

    // Act
    connection.publish('a', 'e1');
    connection.publish('a', 'e1');
    connection.publish('b', 'e1');
    connection.publish('a', 'e2');
    connection.publish('a', 'e1');

    // Assess
    await vi.waitFor(() => expect(seen).toEqual(['a/e1', 'b/e1', 'a/e2']), WAIT);
    await sleep(20);
    expect(seen).toEqual(['a/e1', 'b/e1', 'a/e2']);
  });

  it('stops delivering after unsubscribe, and unsubscribes on the wire only when the last handler leaves', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const first: string[] = [];
    const second: string[] = [];
    const one = client.subscribe('news', (event) => first.push(event.id));
    const two = client.subscribe('news', (event) => second.push(event.id));
    await Promise.all([one, two]);
    const connection = await server.connection(0);

    // Act
    await one.unsubscribe();
    connection.publish('news', 'e1');
    await vi.waitFor(() => expect(second).toEqual(['e1']), WAIT);
    await two.unsubscribe();
    await two.unsubscribe();
    connection.publish('news', 'e2');
    await sleep(20);

    // Assess
    expect(first).toEqual([]);
    expect(second).toEqual(['e1']);
    expect(connection.received.map((message) => message.action)).toEqual(['subscribe', 'unsubscribe']);
  });

  it('rejects a subscription with cancelled when it is unsubscribed before the server confirms it', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      message.action === 'subscribe' ? [] : happyPath(message, connection);
    const client = connect(server);
    const subscription = client.subscribe('slow', () => {});
    await server.received(await server.connection(0), { action: 'subscribe' });

    // Act
    await subscription.unsubscribe();

    // Assess
    expect(await rejection(subscription)).toMatchObject({ code: 'cancelled', channel: 'slow' });
  });

  it('retries a subscription that the server rate-limited, and resolves when it succeeds', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    let refusals = 0;
    server.respond = (message, connection) => {
      if (message.action === 'subscribe' && refusals < 2) {
        refusals += 1;
        return [
          { type: 'error', code: 'rate_limited', message: 'slow down', id: message.id, timestamp: now() },
        ];
      }
      return happyPath(message, connection);
    };
    const client = connect(server);

    // Act
    await client.subscribe('busy', () => {});

    // Assess
    const connection = await server.connection(0);
    expect(connection.received.filter((message) => message.action === 'subscribe')).toHaveLength(3);
  });
  it('keeps calling the other handlers when one throws, and rethrows its error outside the client', async () => {
    // Prepare
    const thrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    vi.stubGlobal('queueMicrotask', (callback: () => void) =>
      original(() => {
        try {
          callback();
        } catch (error) {
          thrown.push(error);
        }
      }),
    );
    const server = await ScriptedServer.start();
    const client = connect(server);
    const seen: string[] = [];
    await client.subscribe('a', () => {
      throw new Error('handler bug');
    });
    await client.subscribe('a', (event) => seen.push(event.id));

    // Act
    (await server.connection(0)).publish('a', 'e1');

    // Assess
    await vi.waitFor(() => expect(thrown).toEqual([new Error('handler bug')]), WAIT);
    expect(seen).toEqual(['e1']);
  });
});

describe('reconnecting', () => {
  it('reconnects after a drop with a randomised delay and resubscribes every channel', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server, { reconnect: { baseDelayMs: 20, maxDelayMs: 100 } });
    const events: string[] = [];
    await Promise.all([
      client.subscribe('a', (event) => events.push(event.id)),
      client.subscribe('b', (event) => events.push(event.id)),
    ]);
    const reconnecting = nextEvent(client, 'reconnecting');

    // Act
    (await server.connection(0)).socket.terminate();

    // Assess
    const { attempt, delayMs, error } = await reconnecting;
    expect(attempt).toBe(1);
    expect(delayMs).toBeGreaterThanOrEqual(0);
    expect(delayMs).toBeLessThan(20);
    expect(error.code).toBe('connection_failed');
    const second = await server.connection(1);
    await server.received(second, { action: 'subscribe', channel: 'b' });
    expect(second.received.map((message) => message.channel).sort()).toEqual(['a', 'b']);
    second.publish('b', 'after');
    await vi.waitFor(() => expect(events).toEqual(['after']), WAIT);
  });

  it('resumes a channel after the last seq delivered, delivering the replay once and in order', async () => {
    // Prepare: a server with history, answering subscribe with the channel's sequence.
    const server = await ScriptedServer.start();
    const frame = (id: string, seq: number) => ({
      type: 'event',
      id,
      channel: 'news',
      event_type: 'created',
      data: {},
      seq,
      timestamp: now(),
    });
    server.respond = (message, connection) => {
      if (message.action !== 'subscribe') return happyPath(message, connection);
      const confirm = { type: 'subscribed', channel: 'news', id: message.id, timestamp: now() };
      // The replay after `since`, one event of it also arriving live, then the reply.
      return message.since === undefined
        ? [{ ...confirm, seq: 0 }]
        : [frame('e3', 3), frame('e2', 2), frame('e3', 3), { ...confirm, seq: 3, recovered: true }];
    };
    const client = connect(server);
    const seen: string[] = [];
    await client.subscribe('news', (event) => seen.push(`${event.id}@${event.seq}`));
    (await server.connection(0)).send(frame('e1', 1));
    await vi.waitFor(() => expect(seen).toEqual(['e1@1']), WAIT);

    // Act
    (await server.connection(0)).socket.terminate();
    const second = await server.connection(1);

    // Assess
    const resubscribe = await server.received(second, { action: 'subscribe' });
    expect(resubscribe).toEqual({ action: 'subscribe', channel: 'news', id: expect.any(String), since: 1 });
    await vi.waitFor(() => expect(seen).toEqual(['e1@1', 'e2@2', 'e3@3']), WAIT);
  });

  it('doubles the delay ceiling on each failed attempt and gives up after maxAttempts', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.refuse = () => 503;
    const delays: number[] = [];
    const client = connect(server, { reconnect: { baseDelayMs: 4, maxDelayMs: 10, maxAttempts: 3 } });
    client.on('reconnecting', ({ delayMs }) => delays.push(delayMs));

    // Act
    const { error } = await nextEvent(client, 'closed');

    // Assess
    expect(error).toMatchObject({
      code: 'connection_failed',
      message: 'gave up after 3 reconnection attempts',
    });
    expect(error?.cause).toMatchObject({ message: 'the handshake failed with HTTP 503' });
    expect(server.handshakes).toHaveLength(4);
    expect(delays[0]).toBeLessThan(4);
    expect(delays[1]).toBeLessThan(8);
    expect(delays[2]).toBeLessThan(10);
    expect(client.state).toBe('closed');
  });

  it('resets the attempt counter once a connection has stayed open for stableAfterMs', async () => {
    // Prepare: the first handshake fails, the first connection drops at once.
    const server = await ScriptedServer.start();
    let handshakes = 0;
    server.refuse = () => (++handshakes === 1 ? 503 : undefined);
    const client = connect(server, { reconnect: { baseDelayMs: 2, maxDelayMs: 5, stableAfterMs: 150 } });
    const log = record(client);
    await nextEvent(client, 'open');
    (await server.connection(0)).socket.terminate();
    await nextEvent(client, 'open');

    // Act: the second connection outlives stableAfterMs before it drops.
    await sleep(200);
    (await server.connection(1)).socket.terminate();
    await nextEvent(client, 'open');

    // Assess
    expect(log).toEqual([
      'connecting',
      'reconnecting:1',
      'open',
      'reconnecting:2',
      'open:reconnected',
      'reconnecting:1',
      'open:reconnected',
    ]);
  });

  it('retries a handshake refused with a 5xx status', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    let handshakes = 0;
    server.refuse = () => (++handshakes <= 2 ? 502 : undefined);
    const client = connect(server);

    // Act
    await nextEvent(client, 'open');

    // Assess
    expect(server.handshakes).toHaveLength(3);
  });

  it('stops after a 401 refusal when the token is a fixed string', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.refuse = () => 401;
    const client = connect(server, { token: 'expired' });
    const log = record(client);
    const pending = client.subscribe('a', () => {});

    // Act
    const { error } = await nextEvent(client, 'closed');
    await sleep(30);

    // Assess
    expect(error).toMatchObject({ code: 'unauthorized', message: 'the handshake was refused with HTTP 401' });
    expect(server.handshakes).toHaveLength(1);
    expect(log).toEqual(['connecting', 'closed:unauthorized']);
    expect(await rejection(pending)).toBe(error);
  });

  it('stops after a 401 refusal when the token provider returns the refused token again', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.refuse = () => 401;
    const provider = vi.fn(async () => 'stale');
    const client = connect(server, { token: provider });

    // Act
    const { error } = await nextEvent(client, 'closed');

    // Assess
    expect(error?.code).toBe('unauthorized');
    expect(server.handshakes).toHaveLength(1);
    expect(provider).toHaveBeenCalledTimes(2);
  });

  it('reconnects after a 401 refusal when the token provider yields a new token', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.refuse = (token) => (token === 'old' ? 401 : undefined);
    const tokens = ['old', 'new'];
    const client = connect(server, { token: () => tokens.shift() ?? 'newer' });
    const log = record(client);

    // Act
    await nextEvent(client, 'open');

    // Assess
    expect(server.handshakes.map((handshake) => handshake.token)).toEqual(['old', 'new']);
    expect(log).toEqual(['connecting', 'reconnecting:1', 'open']);
  });

  it('infers a refusal when a browser closes two handshakes with 1006 before open for the same token', async () => {
    // Prepare
    const browser = refusedInBrowser();
    const client = createClient({
      url: 'wss://example.invalid/ws',
      token: 'same',
      WebSocket: browser.WebSocket,
      reconnect: { baseDelayMs: 2, maxDelayMs: 5 },
    });
    clients.push(client);
    const log = record(client);

    // Act
    const { error } = await nextEvent(client, 'closed');

    // Assess
    expect(error).toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('twice with the same token'),
    });
    expect(browser.urls).toHaveLength(2);
    expect(log).toEqual(['connecting', 'reconnecting:1', 'closed:unauthorized']);
  });

  it('keeps retrying 1006 handshake failures in browsers while the token provider gives new tokens', async () => {
    // Prepare
    const browser = refusedInBrowser();
    let issued = 0;
    const client = createClient({
      url: 'wss://example.invalid/ws',
      token: () => `token-${++issued}`,
      WebSocket: browser.WebSocket,
      reconnect: { baseDelayMs: 2, maxDelayMs: 5, maxAttempts: 4 },
    });
    clients.push(client);

    // Act
    const { error } = await nextEvent(client, 'closed');

    // Assess: it gave up because of maxAttempts, never inferring a refusal.
    expect(error?.code).toBe('connection_failed');
    expect(browser.urls).toHaveLength(5);
  });

  it('re-sends a whoami that was in flight when the connection dropped', async () => {
    // Prepare: the first connection never answers whoami.
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      message.action === 'whoami' && connection === server.connections[0]
        ? []
        : happyPath(message, connection);
    let issued = 0;
    const client = connect(server, { token: () => `t${++issued}` });
    const identity = client.whoami();
    const first = await server.connection(0);
    await server.received(first, { action: 'whoami' });

    // Act
    first.socket.terminate();

    // Assess
    await expect(identity).resolves.toMatchObject({ connectionId: 'connection-t2' });
  });
});

describe('heartbeat', () => {
  it('keeps the connection alive with a one-way {"action":"keepalive"} every 9 minutes by default', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server, { heartbeatIntervalMs: 15, pongTimeoutMs: 5 });
    await nextEvent(client, 'open');
    const connection = await server.connection(0);

    // Act: nothing answers a keep-alive, for far longer than pongTimeoutMs.
    await vi.waitFor(() => expect(connection.received.length).toBeGreaterThanOrEqual(3), WAIT);

    // Assess
    expect(connection.received.slice(0, 3)).toEqual([
      { action: 'keepalive' },
      { action: 'keepalive' },
      { action: 'keepalive' },
    ]);
    expect(client.state).toBe('open');
    expect(server.connections.length).toBe(1);
    expect(DEFAULTS).toMatchObject({ heartbeatIntervalMs: 9 * 60_000, heartbeat: 'keepalive' });
    expect(() =>
      createClient({
        url: 'ws://x/ws',
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        heartbeat: 'pong' as 'ping',
      }),
    ).toThrow("heartbeat must be 'keepalive' or 'ping'; received pong");
  });

  it('sends {"action":"ping"} at the heartbeat interval in ping mode', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server, { heartbeatIntervalMs: 15, heartbeat: 'ping' });
    await nextEvent(client, 'open');
    const connection = await server.connection(0);

    // Act
    await vi.waitFor(() => expect(connection.received.length).toBeGreaterThanOrEqual(3), WAIT);

    // Assess
    expect(connection.received.slice(0, 3)).toEqual([
      { action: 'ping' },
      { action: 'ping' },
      { action: 'ping' },
    ]);
    expect(client.state).toBe('open');
  });

  it('replaces a connection that receives nothing within pongTimeoutMs of a ping', async () => {
    // Prepare: the first connection is a black hole (half-open from the client's point of view).
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      connection === server.connections[0] ? [] : happyPath(message, connection);
    const client = connect(server, { heartbeatIntervalMs: 20, pongTimeoutMs: 20, heartbeat: 'ping' });
    const reconnecting = nextEvent(client, 'reconnecting');
    const subscription = client.subscribe('a', () => {});
    await server.received(await server.connection(0), { action: 'ping' });

    // Act
    const { error } = await reconnecting;

    // Assess
    expect(error).toMatchObject({ code: 'timeout', message: 'no reply to a heartbeat within 20 ms' });
    await subscription;
    const second = await server.connection(1);
    expect(second.received).toContainEqual(expect.objectContaining({ action: 'subscribe', channel: 'a' }));
  });
});

describe('handover before the connection time limit', () => {
  it('opens and resubscribes a new connection before closing the old one, without a gap or duplicates', async () => {
    // Prepare: when the new connection subscribes, the same event is published on both
    // connections (the overlap), before the server confirms.
    const server = await ScriptedServer.start();
    let issued = 0;
    const client = connect(server, { token: () => `t${++issued}`, maxConnectionAgeMs: 60 });
    const log = record(client);
    const seen: string[] = [];
    await client.subscribe('a', (event) => seen.push(event.id));
    const old = await server.connection(0);
    const oldClosed = new Promise<number>((resolve) => old.socket.once('close', (code) => resolve(code)));
    server.respond = (message, connection) => {
      if (message.action === 'subscribe' && connection === server.connections[1]) {
        expect(old.socket.readyState).toBe(WebSocket.OPEN);
        old.publish('a', 'overlap');
        connection.publish('a', 'overlap');
      }
      return happyPath(message, connection);
    };

    // Act
    const replacement = await server.connection(1);
    const closeCode = await oldClosed;
    replacement.publish('a', 'after');

    // Assess
    expect(replacement.token).toBe('t2');
    expect(replacement.received).toContainEqual(
      expect.objectContaining({ action: 'subscribe', channel: 'a' }),
    );
    expect(closeCode).toBe(1000);
    await vi.waitFor(() => expect(seen).toEqual(['overlap', 'after']), WAIT);
    expect(log).toEqual(['connecting', 'open']);
    expect(client.state).toBe('open');
  });
  it('promotes the new connection at once when the old one drops during a handover', async () => {
    // Prepare: the new connection's resubscriptions stay unanswered, so the handover is mid-way.
    const server = await ScriptedServer.start();
    let issued = 0;
    const client = connect(server, {
      token: () => `t${++issued}`,
      maxConnectionAgeMs: 40,
      requestTimeoutMs: 5000,
    });
    const log = record(client);
    await client.subscribe('a', () => {});
    const old = await server.connection(0);
    server.respond = (message, connection) =>
      message.action === 'subscribe' && connection !== old ? [] : happyPath(message, connection);
    const replacement = await server.connection(1);
    await server.received(replacement, { action: 'subscribe', channel: 'a' });

    // Act
    old.socket.terminate();
    const identity = await client.whoami();

    // Assess
    expect(identity.connectionId).toBe('connection-t2');
    expect(log).toEqual(['connecting', 'open']);
    expect(server.connections).toHaveLength(2);
  });

  it('keeps the current connection when the handshake of a handover is refused', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.refuse = (token) => (token === 't2' ? 401 : undefined);
    let issued = 0;
    const client = connect(server, { token: () => `t${++issued}`, maxConnectionAgeMs: 30 });
    const log = record(client);
    await nextEvent(client, 'open');

    // Act
    const reported = await nextEvent(client, 'error');

    // Assess
    expect(reported).toMatchObject({ code: 'connection_failed' });
    expect(server.handshakes.map((handshake) => handshake.token)).toEqual(['t1', 't2']);
    expect((await client.whoami()).connectionId).toBe('connection-t1');
    expect(log).toEqual(['connecting', 'open']);
  });
});

describe('whoami and refresh', () => {
  it('whoami waits for the connection and resolves with its identity', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server, { token: 'jwt-w' });

    // Act
    const identity = await client.whoami();

    // Assess
    expect(identity).toEqual({
      connectionId: 'connection-jwt-w',
      user: { userId: 'alice', roles: ['reader'] },
      authorizedChannels: ['*'],
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('refresh resolves with the new expiry, and later reconnections use the refreshed token', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server, { token: 'first' });
    await nextEvent(client, 'open');

    // Act
    const refreshed = await client.refresh('second');
    (await server.connection(0)).socket.terminate();
    await nextEvent(client, 'open');

    // Assess
    expect(refreshed).toEqual({ expiresAt: '2031-01-01T00:00:00.000Z' });
    const first = await server.connection(0);
    expect(first.received).toEqual([{ action: 'refresh', token: 'second', id: expect.any(String) }]);
    expect(server.handshakes.map((handshake) => handshake.token)).toEqual(['first', 'second']);
  });

  it('rejects a refresh the server refuses with its error code', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      message.action === 'refresh'
        ? [
            {
              type: 'error',
              code: 'unauthorized',
              message: 'different subject',
              id: message.id,
              timestamp: now(),
            },
          ]
        : happyPath(message, connection);
    const client = connect(server);

    // Act
    const error = await rejection(client.refresh('someone-else'));

    // Assess
    expect(error).toMatchObject({ code: 'unauthorized', message: 'different subject' });
  });
});

describe('publishing', () => {
  it('sends publish with channel, data and event_type, and resolves with the event id', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);

    // Act
    const published = await client.publish('room:42', { text: 'hello' }, { eventType: 'chat_message' });

    // Assess
    expect(published).toEqual({ channel: 'room:42', eventId: 'evt-1' });
    const first = await server.connection(0);
    expect(first.received).toEqual([
      {
        action: 'publish',
        channel: 'room:42',
        data: { text: 'hello' },
        event_type: 'chat_message',
        id: expect.any(String),
      },
    ]);
  });

  it('leaves event_type to the server when none is given, and waits for a connection', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);

    // Act: called before the connection opened
    const published = client.publish('chat:lobby', 'hi');

    // Assess
    await expect(published).resolves.toEqual({ channel: 'chat:lobby', eventId: 'evt-1' });
    expect((await server.connection(0)).received).toEqual([
      { action: 'publish', channel: 'chat:lobby', data: 'hi', id: expect.any(String) },
    ]);
  });

  it('rejects with the server error code when the publish is refused, and the client keeps working', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      message.action === 'publish'
        ? [
            {
              type: 'error',
              code: 'unauthorized',
              message: 'publishing to news is not allowed',
              id: message.id,
              channel: message.channel,
              timestamp: now(),
            },
          ]
        : happyPath(message, connection);
    const client = connect(server);

    // Act
    const error = await rejection(client.publish('news', { text: 'x' }));

    // Assess
    expect(error).toMatchObject({ code: 'unauthorized', channel: 'news' });
    await expect(client.whoami()).resolves.toMatchObject({ user: { userId: 'alice' } });
  });

  it('does not send a publish twice: one in flight when the connection drops rejects with connection_lost', async () => {
    // Prepare: the first connection never answers the publish.
    const server = await ScriptedServer.start();
    server.respond = (message, connection) =>
      message.action === 'publish' && connection === server.connections[0]
        ? []
        : happyPath(message, connection);
    let issued = 0;
    const client = connect(server, { token: () => `t${++issued}` });
    const published = client.publish('room:1', { n: 1 });
    const first = await server.connection(0);
    await server.received(first, { action: 'publish' });

    // Act
    first.socket.terminate();

    // Assess
    const error = await rejection(published);
    expect(error.code).toBe('connection_lost');
    await nextEvent(client, 'open');
    await expect(client.publish('room:1', { n: 2 })).resolves.toMatchObject({ eventId: 'evt-1' });
    const second = await server.connection(1);
    expect(second.received.filter((m) => m.action === 'publish')).toEqual([
      { action: 'publish', channel: 'room:1', data: { n: 2 }, id: expect.any(String) },
    ]);
  });

  it('refuses a call without a channel or without data before sending anything', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);

    // Act
    const noChannel = client.publish('', { n: 1 });
    const noData = client.publish('room:1', undefined);

    // Assess
    await expect(noChannel).rejects.toThrow(TypeError);
    await expect(noData).rejects.toThrow(TypeError);
    await nextEvent(client, 'open');
    expect((await server.connection(0)).received).toEqual([]);
  });
});

describe('events sent without a subscription', () => {
  it('hands broadcasts and messages to this user or connection to direct listeners, and drops others', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const direct: EventMessage[] = [];
    client.on('direct', (event) => direct.push(event));
    await nextEvent(client, 'open');
    const connection = await server.connection(0);
    // Act
    connection.publish('broadcast', 'b1', 'notice');
    connection.publish('user:alice', 'u1', 'mention');
    connection.publish('connection:abc=', 'c1', 'command');
    connection.publish('news', 'n1', 'story');
    // Assess
    await vi.waitFor(() => expect(direct.map((e) => e.id)).toEqual(['b1', 'u1', 'c1']));
  });

  it('delivers a broadcast to the subscription, not to direct listeners, once subscribed to broadcast', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const direct: EventMessage[] = [];
    const subscribed: EventMessage[] = [];
    client.on('direct', (event) => direct.push(event));
    await client.subscribe('broadcast', (event) => subscribed.push(event));
    // Act
    (await server.connection(0)).publish('broadcast', 'b1', 'notice');
    // Assess
    await vi.waitFor(() => expect(subscribed.map((e) => e.id)).toEqual(['b1']));
    expect(direct).toEqual([]);
  });
});

describe('state and closing', () => {
  it('emits connecting, open, reconnecting, open and closed in order', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const log = record(client);
    await nextEvent(client, 'open');

    // Act
    (await server.connection(0)).socket.terminate();
    await nextEvent(client, 'open');
    client.close();

    // Assess
    expect(log).toEqual(['connecting', 'open', 'reconnecting:1', 'open:reconnected', 'closed']);
    expect(client.state).toBe('closed');
  });

  it('close() is idempotent, stops reconnecting and rejects whatever was pending', async () => {
    // Prepare: the server is down (503), so the client is between attempts.
    const server = await ScriptedServer.start();
    server.refuse = () => 503;
    const client = connect(server, { reconnect: { baseDelayMs: 30, maxDelayMs: 30 } });
    const log = record(client);
    const subscription = client.subscribe('a', () => {});
    const identity = rejection(client.whoami());
    await nextEvent(client, 'reconnecting');
    const handshakes = server.handshakes.length;

    // Act
    client.close();
    client.close();
    await sleep(60);

    // Assess
    expect(log).toEqual(['connecting', 'reconnecting:1', 'closed']);
    expect(server.handshakes).toHaveLength(handshakes);
    expect(await rejection(subscription)).toMatchObject({ code: 'closed' });
    expect(await identity).toMatchObject({ code: 'closed' });
    expect(await rejection(client.subscribe('b', () => {}))).toMatchObject({ code: 'closed', channel: 'b' });
    expect(await rejection(client.whoami())).toMatchObject({ code: 'closed' });
  });

  it('closes its open connection with code 1000', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    await nextEvent(client, 'open');
    const connection = await server.connection(0);
    const closed = new Promise<number>((resolve) => connection.socket.once('close', (code) => resolve(code)));

    // Act
    client.close();

    // Assess
    expect(await closed).toBe(1000);
  });

  it('reports an error reply that answers no request through the error event', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    await nextEvent(client, 'open');
    const reported = nextEvent(client, 'error');

    // Act
    (await server.connection(0)).send({
      type: 'error',
      code: 'rate_limited',
      message: 'too many',
      timestamp: now(),
    });

    // Assess
    expect(await reported).toMatchObject({ code: 'rate_limited', message: 'too many' });
  });
});

describe('presence', () => {
  /** The healthy server, answering `presence` for `room:1` with two members. */
  const withPresence: Respond = (message, connection) => {
    if (message.action !== 'presence') return happyPath(message, connection);
    if (message.channel !== 'room:1') {
      return [
        {
          type: 'error',
          code: 'unauthorized',
          message: `presence of "${String(message.channel)}" is for its subscribers; subscribe first`,
          id: message.id,
          channel: message.channel,
          timestamp: now(),
        },
      ];
    }
    return [
      {
        type: 'presence',
        id: message.id,
        channel: 'room:1',
        members: [
          { userId: 'alice', connections: 2 },
          { userId: 'bob', connections: 1 },
        ],
        count: 2,
        timestamp: now(),
      },
    ];
  };

  it('presence() asks for a channel and resolves with its members and count', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = withPresence;
    const client = connect(server);

    // Act
    const snapshot = await client.presence('room:1');

    // Assess
    expect(snapshot).toEqual({
      channel: 'room:1',
      members: [
        { userId: 'alice', connections: 2 },
        { userId: 'bob', connections: 1 },
      ],
      count: 2,
      truncated: false,
    });
    const connection = await server.connection(0);
    expect(connection.received).toEqual([{ action: 'presence', channel: 'room:1', id: expect.any(String) }]);
  });

  it('presence() rejects with the code the server refuses with, and the client goes on', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    server.respond = withPresence;
    const client = connect(server);

    // Act
    const error = await rejection(client.presence('room:2'));
    const after = await client.presence('room:1');

    // Assess
    expect(error).toMatchObject({ code: 'unauthorized', channel: 'room:2' });
    expect(after.count).toBe(2);
    expect(client.state).toBe('open');
  });

  it('presence() refuses an empty channel name without asking the server', async () => {
    const server = await ScriptedServer.start();
    const client = connect(server);
    await expect(client.presence('')).rejects.toThrow(TypeError);
  });

  it('emits presence_join and presence_leave notices, and drops malformed ones', async () => {
    // Prepare
    const server = await ScriptedServer.start();
    const client = connect(server);
    const seen: string[] = [];
    client.on('presence_join', ({ channel, user }) => seen.push(`join ${channel} ${user.userId}`));
    client.on('presence_leave', ({ channel, user }) => seen.push(`leave ${channel} ${user.userId}`));
    await nextEvent(client, 'open');
    const connection = await server.connection(0);

    // Act
    connection.send({ type: 'presence_join', channel: 'room:1', user: { userId: 'bob' }, timestamp: now() });
    connection.send({ type: 'presence_join', channel: 'room:1', user: 'mallory', timestamp: now() });
    connection.send({ type: 'presence_leave', channel: 'room:1', timestamp: now() });
    connection.send({ type: 'presence_leave', channel: 'room:1', user: { userId: 'bob' }, timestamp: now() });

    // Assess
    await vi.waitFor(() => expect(seen).toHaveLength(2), WAIT);
    expect(seen).toEqual(['join room:1 bob', 'leave room:1 bob']);
  });
});
