/**
 * Hostile requests to the local stack's own HTTP endpoints (PROTOCOL §1), from where a web page
 * would send them: a cross-origin page calling the token exchange, `@connections` or `PutEvents`,
 * and a page whose DNS name was rebound to 127.0.0.1. What the SDKs send (no `Origin`, a loopback
 * `Host`) keeps working, and the stack's logs end up holding no token and no claim.
 */
import { request } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_REFUSED, ORIGIN_REFUSED } from '../../local/request-guard.js';
import { localCredentials } from '../support/dynamodb.js';
import { forgeJwt, LeakWatch, plantedClaims } from '../support/hostile-jwt.js';
import { expectCleanLogs, expectStillServing, useHostileStack } from '../support/hostile-stack.js';
import { isLoopbackAddress, listenersOf } from '../support/listeners.js';
import { type RunningStack, startStack, TEST_SECRET } from '../support/local-stack.js';
import { eventBridge } from '../support/publisher.js';
import { TestClient } from '../support/ws-client.js';

const watch = new LeakWatch();
const EVIL = 'https://evil.example';
const suite = useHostileStack();
/** A connection that stays open throughout; forged frames would land on it. */
let sentinel: TestClient;
let sentinelId: string;
const clients: TestClient[] = [];

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One request to the stack with exactly these headers (`Host` included, which fetch would set
 * itself; an empty `Host` sends none): what a browser, or a page behind DNS rebinding, would send.
 */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
  baseUrl = suite.stack.baseUrl,
): Promise<RawResponse> {
  const { hostname, port, host } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({
      host: hostname,
      port,
      method,
      path,
      setHost: false,
      headers: Object.fromEntries(
        Object.entries({ Host: host, 'Content-Length': String(Buffer.byteLength(body)), ...headers }).filter(
          ([, value]) => value !== '',
        ),
      ),
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    // An upgrade that should have been refused: report it as what it is, and drop the socket.
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.once('error', reject);
    req.end(body);
  });
}

function token(extra: Record<string, unknown> = {}): string {
  return watch.sent(
    forgeJwt({ alg: 'HS256', typ: 'JWT' }, plantedClaims(watch, extra), { hmac: TEST_SECRET }),
  );
}

beforeAll(async () => {
  sentinel = await TestClient.connect(suite.stack.websocketUrl, { token: token() });
  sentinelId = String((await sentinel.request({ action: 'whoami' })).connectionId);
});

afterAll(async () => {
  await Promise.all([...clients, sentinel].map((c) => c?.close()));
});

describe('the token exchange opens CORS to no origin by default', () => {
  it('answers a cross-origin preflight without any Access-Control-Allow-Origin', async () => {
    // Act
    const preflight = await raw('OPTIONS', '/api/v1/auth', {
      Origin: EVIL,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization',
    });
    // Assess
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('lets no cross-origin page read an exchange answer', async () => {
    // Act
    const response = await raw('POST', '/api/v1/auth', {
      Origin: EVIL,
      Authorization: `Bearer ${token()}`,
    });
    // Assess
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('a page behind DNS rebinding (a non-loopback Host) is refused with 403 everywhere', () => {
  const rebound = () => ({ Host: `rebound.evil.example:${new URL(suite.stack.baseUrl).port}` });
  const cases: Array<[name: string, method: string, path: () => string, headers?: Record<string, string>]> = [
    ['the test page', 'GET', () => '/'],
    ['the dashboard API', 'GET', () => '/admin/api/state'],
    ['GetConnection on @connections', 'GET', () => `/ws/@connections/${encodeURIComponent(sentinelId)}`],
    ['PostToConnection on @connections', 'POST', () => `/ws/@connections/${encodeURIComponent(sentinelId)}`],
    ['PutEvents', 'POST', () => '/', { 'X-Amz-Target': 'AWSEvents.PutEvents' }],
    ['the token exchange', 'POST', () => '/api/v1/auth'],
    ['a path no service answers', 'GET', () => '/nowhere'],
  ];

  it.each(cases)('%s', async (_name, method, path, headers = {}) => {
    // Act
    const response = await raw(method, path(), { ...rebound(), ...headers }, '{"forged":true}');
    // Assess
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toEqual({ message: HOST_REFUSED });
  });

  it.each([
    ['a rebound name', 'rebound.evil.example'],
    ['a name that merely starts with 127.0.0.1', '127.0.0.1.evil.example'],
    ['no Host at all', ''],
  ])(
    'refuses a WebSocket upgrade with a valid token and %s as Host, and stores nothing',
    async (_name, host) => {
      // Prepare
      const before = await suite.probe.connectionKeys();
      // Act
      const response = await raw('GET', `/ws?token=${encodeURIComponent(token())}`, {
        Host: host,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      });
      // Assess
      expect(response.status).toBe(403);
      expect([...(await suite.probe.connectionKeys())].filter((key) => !before.has(key))).toEqual([]);
    },
  );

  it.each(['127.0.0.1', 'localhost', 'LOCALHOST', '127.42.0.7', '[::1]'])(
    'answers a loopback Host, %s, with any port',
    async (name) => {
      const response = await raw('GET', `/ws/@connections/${encodeURIComponent(sentinelId)}`, {
        Host: `${name}:${new URL(suite.stack.baseUrl).port}`,
      });
      expect(response.status).toBe(200);
    },
  );
});

describe('browser cross-origin requests to @connections and PutEvents are refused with 403', () => {
  const port = () => Number(new URL(suite.stack.baseUrl).port);
  const post = (origin: string | undefined, frame: string) =>
    raw(
      'POST',
      `/ws/@connections/${encodeURIComponent(sentinelId)}`,
      { ...(origin ? { Origin: origin } : {}), 'Content-Type': 'text/plain' },
      frame,
    );
  /** The next frame the sentinel gets is the pong of a fresh ping: nothing forged arrived before it. */
  const expectNothingDelivered = async () => {
    sentinel.send({ action: 'ping', id: 'after-forgery' });
    expect(await sentinel.next()).toMatchObject({ type: 'pong', id: 'after-forgery' });
  };

  it.each([
    ['another site', EVIL],
    ['another local dev server (same host, other port)', () => `http://127.0.0.1:${port() + 1}`],
    ['the console host over https', () => `https://127.0.0.1:${port()}`],
    ['a sandboxed frame or file: page (Origin: null)', 'null'],
  ])('a text/plain POST to @connections from %s delivers nothing', async (_name, origin) => {
    // Act
    const response = await post(
      typeof origin === 'function' ? origin() : origin,
      '{"type":"event","forged":1}',
    );
    // Assess
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toEqual({ message: ORIGIN_REFUSED });
    await expectNothingDelivered();
  });

  it('a text/plain PutEvents from another site publishes nothing', async () => {
    // Prepare
    expect(await sentinel.request({ action: 'subscribe', channel: 'forged-news' })).toMatchObject({
      type: 'subscribed',
    });
    const body = JSON.stringify({
      Entries: [
        { Source: 'page', DetailType: 'x', Detail: JSON.stringify({ channel: 'forged-news', data: 1 }) },
      ],
    });
    // Act
    const response = await raw(
      'POST',
      '/',
      { Origin: EVIL, 'Content-Type': 'text/plain', 'X-Amz-Target': 'AWSEvents.PutEvents' },
      body,
    );
    // Assess
    expect(response.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expectNothingDelivered();
  });

  it.each([
    ['127.0.0.1', () => `http://127.0.0.1:${port()}`],
    ['localhost', () => `http://localhost:${port()}`],
  ])('the console’s own origin (%s) still posts to @connections', async (_name, origin) => {
    // Act
    const response = await post(origin(), '{"type":"console-frame"}');
    // Assess
    expect(response.status).toBe(200);
    expect(await sentinel.next((m) => m.type === 'console-frame')).toMatchObject({ type: 'console-frame' });
  });

  it('the SDK (no Origin) still posts to @connections', async () => {
    // Prepare
    const management = new ApiGatewayManagementApiClient({
      endpoint: `${suite.stack.baseUrl}/ws`,
      region: 'local',
      credentials: localCredentials,
    });
    // Act
    await management.send(
      new PostToConnectionCommand({ ConnectionId: sentinelId, Data: '{"type":"sdk-frame"}' }),
    );
    management.destroy();
    // Assess
    expect(await sentinel.next((m) => m.type === 'sdk-frame')).toMatchObject({ type: 'sdk-frame' });
  });

  it('leaves a cross-origin WebSocket to $connect, as on AWS: admitted when no allow-list is set', async () => {
    const client = await TestClient.connect(suite.stack.websocketUrl, {
      token: token(),
      headers: { Origin: EVIL },
    });
    clients.push(client);
    expect(await client.request({ action: 'ping', id: 'x' })).toMatchObject({ type: 'pong' });
  });
});

describe('a client that sends a flood and leaves stops costing work at once', () => {
  it('has its $disconnect run within seconds of leaving, not after its 2,000 queued 30 KB messages', async () => {
    // Prepare
    const client = await TestClient.connect(suite.stack.websocketUrl, { token: token() });
    const id = String((await client.request({ action: 'whoami' })).connectionId);
    const frame = JSON.stringify({ action: 'ping', pad: 'p'.repeat(30_000) });
    // Act
    for (let n = 0; n < 2000; n++) client.send(frame);
    await new Promise((resolve) => setTimeout(resolve, 500));
    client.socket.terminate();
    const left = Date.now();
    // Assess
    while ((await suite.probe.connectionKeys()).has(`conn#${id}`)) {
      expect(Date.now() - left, 'the connection item outlived its client by 8 s').toBeLessThan(8_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expectStillServing(sentinel);
  });
});

describe('PutEvents takes or refuses each entry on its own', () => {
  const detail = (n: number) => JSON.stringify({ channel: 'hostile-news', data: { n } });
  /** A detail nested `depth` levels in all, the detail object included. */
  const nested = (depth: number, n: number) =>
    `{"channel":"hostile-news","data":{"n":${n},"deep":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}}`;

  it('delivers the good entries of a batch that holds a 20,000-deep Detail, and refuses that one', async () => {
    // Prepare
    const reader = await TestClient.connect(suite.stack.websocketUrl, { token: token() });
    clients.push(reader);
    expect(await reader.request({ action: 'subscribe', channel: 'hostile-news' })).toMatchObject({
      type: 'subscribed',
    });
    const bus = eventBridge(suite.stack.baseUrl);
    // Act
    const result = await bus.send(
      new PutEventsCommand({
        Entries: [1, 2, 3, 4, 5].map((n) => ({
          Source: 'hostile',
          DetailType: 'deep',
          Detail: n === 2 ? nested(20_000, n) : n === 5 ? nested(1000, n) : detail(n),
        })),
      }),
    );
    const received = await Promise.all(
      [1, 3, 4, 5].map((n) => reader.next((m) => m.type === 'event' && (m.data as { n?: number }).n === n)),
    );
    bus.destroy();
    // Assess
    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'MalformedDetail',
      'ok',
      'ok',
      'ok',
    ]);
    expect(received.map((m) => m.id)).toEqual([0, 2, 3, 4].map((i) => result.Entries?.[i]?.EventId));
    await expectStillServing(sentinel);
  });
});

describe('a stack as npm start runs it: its own DynamoDB Local, the default rate limits', () => {
  let own: RunningStack;
  let dynamodbUrl: string;

  beforeAll(async () => {
    own = await startStack({ SWITCHBOARD_DYNAMODB_ENDPOINT: '', SWITCHBOARD_DYNAMODB_PORT: '0' });
    dynamodbUrl = /DynamoDB Local\s+(http:\/\/\S+)/.exec(own.logs())?.[1] ?? '';
  });
  afterAll(() => own?.stop());

  it('closes a connection that sends 300 requests in one burst, after its 20 + 50 allowed', async () => {
    // Prepare
    const client = await TestClient.connect(own.websocketUrl, { token: token() });
    clients.push(client);
    // Act
    for (let n = 0; n < 300; n++) client.send({ action: 'whoami', id: `p${n}` });
    const closed = await Promise.race([
      client.closed,
      new Promise<undefined>((resolve) => setTimeout(resolve, 15_000)),
    ]);
    // Assess
    expect(closed, 'the connection is still open 15 s after the burst').toBeDefined();
    const replies = client.pending();
    expect(replies.filter((m) => m.type === 'connected').length).toBeLessThanOrEqual(25);
    expect(replies.length).toBeLessThan(100);
  });

  it('binds every listener to loopback: the HTTP port and DynamoDB Local, none on a wildcard', () => {
    // Act
    const listeners = listenersOf(own.pid);
    // Assess
    expect(listeners.map((l) => l.port)).toEqual(
      expect.arrayContaining([Number(new URL(own.baseUrl).port), Number(new URL(dynamodbUrl).port)]),
    );
    expect(new Set(listeners.map((l) => l.pid)).size).toBeGreaterThan(1);
    expect(listeners.filter((l) => !isLoopbackAddress(l.address))).toEqual([]);
  });

  it('DynamoDB Local answers a loopback Host and refuses a rebound one with 403', async () => {
    // Prepare
    const listTables = (host: string) =>
      raw(
        'POST',
        '/',
        {
          Host: host,
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': 'DynamoDB_20120810.ListTables',
          Authorization:
            'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
        },
        '{}',
        dynamodbUrl,
      );
    const port = new URL(dynamodbUrl).port;
    // Act
    const rebound = await listTables(`rebound.evil.example:${port}`);
    const loopback = await listTables(`localhost:${port}`);
    // Assess
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('TableNames');
    expect(loopback.status).toBe(200);
    expect(JSON.parse(loopback.body)).toHaveProperty('TableNames');
  });
});

describe('afterwards', () => {
  it('the stack still serves, and its logs hold no token, no planted claim and no handler failure', async () => {
    await expectStillServing(sentinel);
    expectCleanLogs(suite.stack.logs(), watch);
  });
});
