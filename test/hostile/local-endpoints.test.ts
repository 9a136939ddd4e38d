/**
 * Hostile requests to the local stack's own HTTP endpoints (PROTOCOL §1), from where a web page
 * would send them: a cross-origin page calling the token exchange, `@connections` or `PutEvents`,
 * and a page whose DNS name was rebound to 127.0.0.1. What the SDKs send (no `Origin`, a loopback
 * `Host`) keeps working, and the stack's logs end up holding no token and no claim.
 */
import { request } from 'node:http';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeJwt, LeakWatch, plantedClaims } from '../support/hostile-jwt.js';
import { expectCleanLogs, expectStillServing, startHostileStack } from '../support/hostile-stack.js';
import { type RunningStack, TEST_SECRET } from '../support/local-stack.js';
import { eventBridge } from '../support/publisher.js';
import { TestClient } from '../support/ws-client.js';

const watch = new LeakWatch();
const EVIL = 'https://evil.example';
let stack: RunningStack;
let sentinel: TestClient;
const clients: TestClient[] = [];

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One request to the stack with exactly these headers (`Host` included, which fetch would set
 * itself): what a browser, or a page behind DNS rebinding, would send.
 */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<RawResponse> {
  const { hostname, port, host } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({
      host: hostname,
      port,
      method,
      path,
      setHost: false,
      headers: { Host: host, 'Content-Length': String(Buffer.byteLength(body)), ...headers },
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
  stack = await startHostileStack();
  sentinel = await TestClient.connect(stack.websocketUrl, { token: token() });
});

afterAll(async () => {
  await Promise.all([...clients, sentinel].map((c) => c?.close()));
  await stack?.stop();
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

describe('PutEvents takes or refuses each entry on its own', () => {
  const detail = (n: number) => JSON.stringify({ channel: 'hostile-news', data: { n } });
  /** A detail nested `depth` levels in all, the detail object included. */
  const nested = (depth: number, n: number) =>
    `{"channel":"hostile-news","data":{"n":${n},"deep":${'['.repeat(depth - 2)}${']'.repeat(depth - 2)}}}`;

  it('delivers the good entries of a batch that holds a 20,000-deep Detail, and refuses that one', async () => {
    // Prepare
    const reader = await TestClient.connect(stack.websocketUrl, { token: token() });
    clients.push(reader);
    expect(await reader.request({ action: 'subscribe', channel: 'hostile-news' })).toMatchObject({
      type: 'subscribed',
    });
    const bus = eventBridge(stack.baseUrl);
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

describe('afterwards', () => {
  it('the stack still serves, and its logs hold no token, no planted claim and no handler failure', async () => {
    await expectStillServing(sentinel);
    expectCleanLogs(stack.logs(), watch);
  });
});
