/**
 * The local API Gateway emulator on a loopback port 0, with stand-in handlers (no DynamoDB, no
 * JVM), driven by a real `ws` client and the real AWS SDK clients, as the handlers drive it.
 */
import { createServer, type Server } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SETTINGS } from '../../adapters/settings-table.js';
import { EventBridgeEndpoint } from '../../local/emulator/eventbridge-endpoint.js';
import { createLocalFunction, type LambdaHandler } from '../../local/emulator/lambda-runtime.js';
import { createManagementApi } from '../../local/emulator/management-api.js';
import type { EventEnvelope } from '../../local/emulator/put-events.js';
import { startSweepSchedule } from '../../local/emulator/sweep-schedule.js';
import type { WebSocketEvent } from '../../local/emulator/websocket-events.js';
import {
  type GatewayFaults,
  type GatewayObserver,
  MAX_WAITING_MESSAGES,
  WebSocketGateway,
} from '../../local/emulator/websocket-gateway.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
/** What the local stack passes the gateway when nothing is set: the settings table's defaults. */
const GATEWAY_SETTINGS = {
  stage: SETTINGS.stageName.default,
  idleTimeoutSeconds: SETTINGS.idleTimeoutSeconds.default,
  maxConnectionSeconds: SETTINGS.maxConnectionSeconds.default,
};

type Handlers = Partial<Record<string, (event: WebSocketEvent) => unknown>>;

interface Harness {
  readonly port: number;
  readonly url: string;
  readonly gateway: WebSocketGateway;
  readonly events: WebSocketEvent[];
  readonly management: ApiGatewayManagementApiClient;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/** A gateway with `$connect` admitting everyone unless told otherwise, and `$default` echoing. */
async function startGateway(
  handlers: Handlers = {},
  props: {
    idleTimeoutSeconds?: number;
    faults?: GatewayFaults;
    mockRoutes?: ReadonlyMap<string, string>;
    observer?: GatewayObserver;
  } = {},
): Promise<Harness> {
  const events: WebSocketEvent[] = [];
  const all: Handlers = {
    $connect: () => ({ statusCode: 200 }),
    $disconnect: () => ({ statusCode: 200 }),
    $default: (event) => ({ statusCode: 200, body: `echo:${event.body}` }),
    ...handlers,
  };
  const functions = new Map(
    Object.entries(all).map(([routeKey, handler]) => {
      const recorded: LambdaHandler = (async (event: WebSocketEvent) => {
        events.push(event);
        return handler?.(event);
      }) as LambdaHandler;
      return [routeKey, createLocalFunction({ name: routeKey, handler: recorded, timeoutMs: 2_000 })];
    }),
  );
  const gateway = new WebSocketGateway({
    functions,
    twoWayRoutes: new Set(['$default', 'ping']),
    ...GATEWAY_SETTINGS,
    ...props,
  });
  const managementApi = createManagementApi({ gateway });
  const server = createServer((req, res) => {
    void managementApi(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  const port = await listen(server);
  const management = new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${port}/ws`,
    region: 'local',
    credentials,
  });
  const harness: Harness = {
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    gateway,
    events,
    management,
    close: async () => {
      await gateway.close();
      management.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  cleanups.push(harness.close);
  return harness;
}

interface Client {
  readonly socket: WebSocket;
  readonly messages: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
  next(): Promise<string>;
}

function connect(url: string, protocols?: string[]): Promise<Client> {
  const socket = new WebSocket(url, protocols);
  const messages: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  socket.on('message', (data) => {
    const text = data.toString();
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else messages.push(text);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  cleanups.push(async () => {
    socket.terminate();
  });
  const client: Client = {
    socket,
    messages,
    closed,
    next: () => {
      const queued = messages.shift();
      return queued !== undefined ? Promise.resolve(queued) : new Promise((resolve) => waiting.push(resolve));
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
  });
}

/** The HTTP status of a handshake that is refused (no WebSocket is opened). */
function refusedStatus(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.on('open', () => reject(new Error('the handshake was accepted')));
    socket.on('error', () => {});
  });
}

const routeKeys = (events: WebSocketEvent[]) => events.map((e) => e.requestContext.routeKey);
const until = async (condition: () => boolean, timeoutMs = 3_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('the handshake', () => {
  it('runs $connect before the upgrade and writes a refusal as that HTTP status, with no WebSocket', async () => {
    // Prepare
    const harness = await startGateway({
      $connect: (event) =>
        event.queryStringParameters?.token === 'good'
          ? { statusCode: 200 }
          : { statusCode: 401, body: 'Unauthorized' },
    });
    // Act
    const refused = await refusedStatus(harness.url);
    const client = await connect(`${harness.url}?token=good`);
    // Assess
    expect(refused).toEqual({ status: 401, body: 'Unauthorized' });
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(routeKeys(harness.events)).toEqual(['$connect', '$connect']);
  });

  it('answers 502 when $connect throws, like a failed Lambda proxy integration', async () => {
    // Prepare
    const harness = await startGateway({
      $connect: () => {
        throw new Error('boom');
      },
    });
    // Act
    const refused = await refusedStatus(harness.url);
    // Assess
    expect(refused.status).toBe(502);
    expect(harness.gateway.connections.size).toBe(0);
  });

  it('answers with the subprotocol the $connect handler returned', async () => {
    // Prepare
    const harness = await startGateway({
      $connect: () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'switchboard.v1' } }),
    });
    // Act
    const client = await connect(harness.url, ['token-abc', 'switchboard.v1']);
    // Assess
    expect(client.socket.protocol).toBe('switchboard.v1');
    expect(harness.events[0]?.headers?.['Sec-WebSocket-Protocol']).toBe('token-abc,switchboard.v1');
  });

  it('answers @connections with 410 while $connect runs, so the SDK raises GoneException', async () => {
    // Prepare
    let duringConnect: unknown;
    let management: ApiGatewayManagementApiClient | undefined;
    const harness = await startGateway({
      $connect: async (event) => {
        duringConnect = await management
          ?.send(
            new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: 'early' }),
          )
          .catch((error: unknown) => error);
        return { statusCode: 200 };
      },
    });
    management = harness.management;
    // Act
    await connect(harness.url);
    // Assess
    expect(duringConnect).toBeInstanceOf(GoneException);
  });
});

describe('messages', () => {
  it('routes on action, sends two-way replies back, and invokes one connection’s handlers in order', async () => {
    // Prepare
    const harness = await startGateway({
      ping: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { statusCode: 200, body: 'pong' };
      },
    });
    const client = await connect(harness.url);
    // Act
    client.socket.send('{"action":"ping"}');
    client.socket.send('plain text');
    const replies = [await client.next(), await client.next()];
    // Assess
    expect(replies).toEqual(['pong', 'echo:plain text']);
    expect(routeKeys(harness.events)).toEqual(['$connect', 'ping', '$default']);
  });

  it('answers a failing handler with API Gateway’s internal error frame and keeps the connection open', async () => {
    // Prepare
    const harness = await startGateway({
      $default: () => {
        throw new Error('boom');
      },
    });
    const client = await connect(harness.url);
    // Act
    client.socket.send('hello');
    const frame = JSON.parse(await client.next()) as Record<string, string>;
    // Assess
    const event = harness.events.at(-1);
    expect(frame).toEqual({
      message: 'Internal server error',
      connectionId: event?.requestContext.connectionId,
      requestId: event?.requestContext.requestId,
    });
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes the connection with 1003 on a binary frame and reports it to $disconnect', async () => {
    // Prepare
    const harness = await startGateway();
    const client = await connect(harness.url);
    // Act
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    const closed = await client.closed;
    await until(() => routeKeys(harness.events).includes('$disconnect'));
    // Assess
    expect(closed.code).toBe(1003);
    expect(harness.events.at(-1)?.requestContext.disconnectStatusCode).toBe(1003);
  });

  it('closes the connection with 1009 on a message over 128 KB', async () => {
    // Prepare
    const harness = await startGateway();
    const client = await connect(harness.url);
    // Act
    client.socket.send('x'.repeat(128 * 1024 + 1));
    const closed = await client.closed;
    await until(() => routeKeys(harness.events).includes('$disconnect'));
    // Assess
    expect(closed.code).toBe(1009);
    expect(harness.events.at(-1)?.requestContext.disconnectStatusCode).toBe(1009);
  });

  it('closes an idle connection with 1001 "Going away"', async () => {
    // Prepare
    const harness = await startGateway({}, { idleTimeoutSeconds: 1 });
    const client = await connect(harness.url);
    // Act
    const closed = await client.closed;
    await until(() => routeKeys(harness.events).includes('$disconnect'));
    // Assess
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    expect(harness.events.at(-1)?.requestContext).toMatchObject({
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    });
  });
});

describe('a MOCK route (API Gateway answers it itself)', () => {
  it('runs no function, sends nothing back, and keeps the connection from going idle', async () => {
    // Prepare: a one-way mock route, an idle timeout of 1 s, and an observer of handled messages.
    const handled: string[] = [];
    const harness = await startGateway(
      {},
      {
        idleTimeoutSeconds: 1,
        mockRoutes: new Map([['keepalive', '{"statusCode": 200}']]),
        observer: { messageHandled: (_id, routeKey) => handled.push(routeKey) },
      },
    );
    const client = await connect(harness.url);
    // Act: a keep-alive every 400 ms for 1.6 s, then an echo to show the connection still works.
    for (let i = 0; i < 4; i++) {
      client.socket.send('{"action":"keepalive"}');
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    client.socket.send('still here');
    // Assess
    expect(await client.next()).toBe('echo:still here');
    expect(client.messages).toEqual([]);
    expect(routeKeys(harness.events)).toEqual(['$connect', '$default']);
    expect(handled).toEqual(['keepalive', 'keepalive', 'keepalive', 'keepalive', '$default']);
  });

  it('refuses, when built, a request template it cannot evaluate as API Gateway would', () => {
    expect(
      () =>
        new WebSocketGateway({
          functions: new Map(),
          twoWayRoutes: new Set(),
          ...GATEWAY_SETTINGS,
          mockRoutes: new Map([['keepalive', '#if($input.body) {"statusCode": 200} #end']]),
        }),
    ).toThrow(/directives are not emulated locally/);
  });
});

/** One open connection whose `$default` handler finishes no message until `release()`. */
async function blockedConnection() {
  let release: () => void = () => {};
  const blocked = new Promise<void>((resolve) => {
    release = resolve;
  });
  const harness = await startGateway({ $default: () => blocked.then(() => ({ statusCode: 200 })) });
  const client = await connect(harness.url);
  await until(() => harness.gateway.connections.size === 1);
  const [id = ''] = harness.gateway.connections.keys();
  return { harness, client, id, release: () => release() };
}

describe('a burst of messages on one connection', () => {
  it('stamps each message with its arrival, not with the moment its handler runs', async () => {
    // Prepare: a handler slow enough that three messages wait for each other.
    const harness = await startGateway({
      $default: async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return { statusCode: 200, body: 'ok' };
      },
    });
    const client = await connect(harness.url);
    // Act
    for (const n of [1, 2, 3]) client.socket.send(`{"n":${n}}`);
    for (let i = 0; i < 3; i++) await client.next();
    // Assess
    const stamps = harness.events
      .filter((e) => e.requestContext.routeKey === '$default')
      .map((e) => e.requestContext.requestTimeEpoch);
    expect(stamps).toHaveLength(3);
    expect(Math.max(...stamps) - Math.min(...stamps)).toBeLessThan(100);
  });

  it(`keeps at most ${MAX_WAITING_MESSAGES} messages waiting, reading the rest only as they drain`, async () => {
    // Prepare: the first message's handler does not finish until released.
    const { harness, client, id, release } = await blockedConnection();
    const frame = (n: number) => `{"n":${n},"pad":"${'p'.repeat(1000)}"}`;
    // Act
    for (let n = 0; n < 1000; n++) client.socket.send(frame(n));
    await until(() => harness.gateway.waiting(id) >= MAX_WAITING_MESSAGES - 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const waitingWhileBlocked = harness.gateway.waiting(id);
    release();
    // Assess: the bound, plus at most the frames of the one socket read that crossed it; and
    // nothing was dropped, all were handled in the end.
    expect(waitingWhileBlocked).toBeLessThanOrEqual(
      MAX_WAITING_MESSAGES + Math.ceil(65_536 / frame(0).length),
    );
    await until(
      () => harness.events.filter((e) => e.requestContext.routeKey === '$default').length === 1000,
      10_000,
    );
  });

  it('hands no waiting message to its handler once the client has left; $disconnect follows at once', async () => {
    // Prepare
    const { harness, client, id, release } = await blockedConnection();
    for (let n = 0; n < 50; n++) client.socket.send(`{"n":${n}}`);
    await until(() => harness.gateway.waiting(id) === 49);
    // Act
    client.socket.terminate();
    await until(() => harness.gateway.connections.size === 0);
    release();
    // Assess
    await until(() => routeKeys(harness.events).includes('$disconnect'));
    expect(routeKeys(harness.events)).toEqual(['$connect', '$default', '$disconnect']);
  });
});

describe('the @connections API, through the real SDK', () => {
  it('posts, describes and deletes a connection, and then answers GoneException', async () => {
    // Prepare
    const harness = await startGateway();
    const client = await connect(harness.url);
    const connectionId = String(harness.events[0]?.requestContext.connectionId);
    // Act
    await harness.management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'hi' }));
    const posted = await client.next();
    const described = await harness.management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    await harness.management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    const closed = await client.closed;
    await until(() => routeKeys(harness.events).includes('$disconnect'));
    const after = await harness.management
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' }))
      .catch((error: unknown) => error);
    // Assess
    expect(posted).toBe('hi');
    expect(described.ConnectedAt).toBeInstanceOf(Date);
    expect(described.Identity?.SourceIp).toBe('127.0.0.1');
    expect(closed.code).toBe(1000);
    expect(harness.events.at(-1)?.requestContext).toMatchObject({
      disconnectStatusCode: 1000,
      disconnectReason: 'Connection Closed Normally',
    });
    expect(after).toBeInstanceOf(GoneException);
  });

  it('refuses a payload over 128 KB with PayloadTooLargeException', async () => {
    // Prepare
    const harness = await startGateway();
    await connect(harness.url);
    const connectionId = String(harness.events[0]?.requestContext.connectionId);
    // Act
    const error = await harness.management
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) }))
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeException);
  });

  it('loses $disconnect for a connection the dropDisconnect fault names', async () => {
    // Prepare
    const harness = await startGateway({}, { faults: { dropDisconnect: () => true } });
    const client = await connect(harness.url);
    // Act
    client.socket.close(1000);
    await client.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Assess
    expect(routeKeys(harness.events)).toEqual(['$connect']);
    expect(harness.gateway.connections.size).toBe(0);
  });
});

describe('the EventBridge PutEvents endpoint, through the real SDK', () => {
  async function startBus() {
    const delivered: EventEnvelope[] = [];
    const bus = new EventBridgeEndpoint({
      target: { send: (body) => delivered.push(JSON.parse(body) as EventEnvelope) },
      busName: SETTINGS.eventBusName.default,
    });
    const server = createServer((req, res) => {
      void bus.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    const port = await listen(server);
    const client = new EventBridgeClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'local',
      credentials,
    });
    cleanups.push(async () => {
      bus.close();
      client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    });
    return { bus, client, delivered };
  }

  it('answers with event ids and puts only entries that match Switchboard’s rule on the publish queue', async () => {
    // Prepare
    const { client, delivered } = await startBus();
    // Act
    const response = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'svc', DetailType: 'created', Detail: '{"channel":"news","data":1}' },
          { Source: 'svc', DetailType: 'other', Detail: '{"unrelated":true}' },
          { Source: 'svc', DetailType: 'bad', Detail: 'not json' },
        ],
      }),
    );
    // Assess
    expect(response.FailedEntryCount).toBe(1);
    expect(response.Entries?.[2]?.ErrorCode).toBe('MalformedDetail');
    expect(delivered.map((e) => e.id)).toEqual([response.Entries?.[0]?.EventId]);
    expect(delivered[0]).toMatchObject({
      'detail-type': 'created',
      source: 'svc',
      detail: { channel: 'news' },
    });
  });

  it('refuses more than ten entries with a ValidationException the SDK raises', async () => {
    // Prepare
    const { client } = await startBus();
    const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 't', Detail: '{}' }));
    // Act
    const error = await client.send(new PutEventsCommand({ Entries: entries })).catch((e: unknown) => e);
    // Assess
    expect((error as Error).name).toBe('ValidationException');
  });
});

describe('the local Lambda runtime and schedule', () => {
  it('rejects an invocation that outlives its timeout with Lambda’s message', async () => {
    // Prepare
    const fn = createLocalFunction({
      name: 'slow',
      handler: (() => new Promise((resolve) => setTimeout(resolve, 500))) as LambdaHandler,
      timeoutMs: 50,
    });
    // Act
    const error = await fn.invoke({}).catch((e: unknown) => e);
    // Assess
    expect((error as Error).message).toBe('Task timed out after 0.05 seconds');
  });

  it('hands the handler a context whose remaining time counts down from the timeout', async () => {
    // Prepare
    let remaining = 0;
    const fn = createLocalFunction({
      name: 'ctx',
      handler: ((_event: unknown, context: { getRemainingTimeInMillis(): number }) => {
        remaining = context.getRemainingTimeInMillis();
      }) as LambdaHandler,
      timeoutMs: 30_000,
    });
    // Act
    await fn.invoke({});
    // Assess
    expect(remaining).toBeGreaterThan(29_000);
    expect(remaining).toBeLessThanOrEqual(30_000);
  });

  it('never runs the sweep twice at once', async () => {
    // Prepare
    let runs = 0;
    const schedule = startSweepSchedule({
      sweep: createLocalFunction({
        name: 'sweep',
        handler: (async (event: { 'detail-type': string }) => {
          expect(event['detail-type']).toBe('Scheduled Event');
          runs += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }) as LambdaHandler,
      }),
      intervalSeconds: 3600,
    });
    cleanups.push(() => schedule.close());
    // Act
    await Promise.all([schedule.runNow(), schedule.runNow()]);
    // Assess
    expect(runs).toBe(1);
  });
});
