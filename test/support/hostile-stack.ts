/**
 * What the hostile suite needs around a running local stack: loopback servers that record every
 * request (a JWKS endpoint, and a trap for `jku`/`x5u` URLs), a look into the stack's table to
 * prove that a refusal stored nothing, and the check that the stack's logs hold no secrets.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect } from 'vitest';
import { connectionKey } from '../../adapters/dynamo-store.js';
import { testDocumentClient } from './dynamodb.js';
import { JOSE_ERROR_NAMES, type LeakWatch, leakableParts } from './hostile-jwt.js';
import { type RunningStack, startStack } from './local-stack.js';
import { HandshakeStatusError, TestClient } from './ws-client.js';

/**
 * Starts the local stack like the integration tests do, with the per-connection rate limit out of
 * the way: rate limiting is not under test here, and a hostile file sends hundreds of messages on
 * one connection within seconds.
 */
export function startHostileStack(env: Record<string, string> = {}): Promise<RunningStack> {
  return startStack({
    SWITCHBOARD_RATE_LIMIT_BURST: '10000',
    SWITCHBOARD_RATE_LIMIT_PER_SECOND: '10000',
    ...env,
  });
}

interface Closable {
  close(): Promise<unknown> | unknown;
}

/** What a hostile test file shares across its tests; read it inside a test or hook (set by `beforeAll`). */
export interface HostileSuite {
  readonly stack: RunningStack;
  /** A read-only look into the stack's table. */
  readonly probe: TableProbe;
  /** Closed once the file's tests are done, before the stack stops. */
  closeAtEnd<T extends Closable>(closable: T): T;
}

/**
 * The set-up and tear-down every hostile file repeats, registered once: `startHostileStack` with
 * `env` (a function when the environment names servers the file must start first), a
 * `TableProbe` on its table, and at the end everything handed to `closeAtEnd`, the stack, the probe.
 * A file's own `beforeAll` runs after this one (vitest runs them in order), so it can use the stack.
 */
export function useHostileStack(
  env: Record<string, string> | (() => Promise<Record<string, string>>) = {},
): HostileSuite {
  let running: { stack: RunningStack; probe: TableProbe } | undefined;
  const atEnd: Closable[] = [];
  const ready = () => {
    if (!running) throw new Error('the hostile suite is read before its beforeAll ran');
    return running;
  };

  beforeAll(async () => {
    const stack = await startHostileStack(typeof env === 'function' ? await env() : env);
    running = { stack, probe: new TableProbe(stack.tableName) };
  });
  afterAll(async () => {
    await Promise.all(atEnd.splice(0).map((closable) => closable.close()));
    await running?.stack.stop();
    running?.probe.destroy();
  });

  return {
    get stack() {
      return ready().stack;
    },
    get probe() {
      return ready().probe;
    },
    closeAtEnd(closable) {
      atEnd.push(closable);
      return closable;
    },
  };
}

export interface RecordingServer {
  /** `http://127.0.0.1:{port}` */
  readonly url: string;
  /** Every request received, as `METHOD /path?query`. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** An HTTP server on a free loopback port that records every request and answers with `respond`. */
export async function startRecordingServer(
  respond: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(404).end();
  },
): Promise<RecordingServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RsaKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWK with `kid`, `alg: RS256` and `use: sig`. */
  readonly jwk: Record<string, unknown>;
}

export function rsaKey(kid = `kid-${randomUUID().slice(0, 8)}`): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

export interface JwksServer extends RecordingServer {
  /** The URL to configure as `SWITCHBOARD_AUTH_JWKS_URL`. */
  readonly jwksUrl: string;
  readonly key: RsaKey;
}

export const JWKS_PATH = '/.well-known/jwks.json';

/** A loopback JWKS endpoint publishing one RS256 key at `JWKS_PATH`. */
export async function startJwksServer(): Promise<JwksServer> {
  const key = rsaKey();
  const server = await startRecordingServer((req, res) => {
    if (req.url !== JWKS_PATH) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [key.jwk] }));
  });
  return { ...server, jwksUrl: `${server.url}${JWKS_PATH}`, key };
}

/** A read-only look into a local stack's table. */
export class TableProbe {
  private readonly db: DynamoDBDocumentClient = testDocumentClient();

  constructor(private readonly tableName: string) {}

  private async scan(prefix: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'begins_with(pk, :prefix)',
          ExpressionAttributeValues: { ':prefix': prefix },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The keys of every connection item (`conn#…`). */
  async connectionKeys(): Promise<Set<string>> {
    return new Set((await this.scan('conn#')).map((item) => String(item.pk)));
  }

  /**
   * Everything stored about one connection's subscriptions: the partitions of its `chan#…` items
   * and the channels recorded on its connection item.
   */
  async subscriptionsOf(connectionId: string): Promise<{ items: string[]; channels: string[] }> {
    const items = (await this.scan('chan#'))
      .filter((item) => item.sk === connectionId)
      .map((i) => String(i.pk));
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
    );
    const channels = Item?.channels instanceof Set ? [...Item.channels].map(String) : [];
    return { items: items.sort(), channels: channels.sort() };
  }

  /** The `chan#…` partitions that exist right now. */
  async channelPartitions(): Promise<Set<string>> {
    return new Set((await this.scan('chan#')).map((item) => String(item.pk)));
  }

  destroy(): void {
    this.db.destroy();
  }
}

export type HandshakeOptions = Parameters<typeof TestClient.connect>[1];

/** The outcome of one handshake attempt: its HTTP status (101 if it opened) and the connection items it left. */
export interface HandshakeOutcome {
  readonly status: number;
  /** `conn#…` items that appeared during the attempt. */
  readonly stored: string[];
}

/** An attempt's HTTP status, and how to drop the connection when it opened. */
interface Attempt {
  readonly status: number;
  readonly drop?: () => Promise<void> | void;
}

/**
 * Runs one handshake attempt and reports its status and what it stored. Within one test file
 * handshakes run one at a time, so a `conn#` item that appears meanwhile belongs to this attempt.
 * An opened connection is dropped only after the look, or its `$disconnect` could remove the item
 * first.
 */
async function observeHandshake(
  probe: TableProbe,
  attempt: () => Promise<Attempt>,
): Promise<HandshakeOutcome> {
  const before = await probe.connectionKeys();
  const { status, drop } = await attempt();
  const stored = [...(await probe.connectionKeys())].filter((key) => !before.has(key));
  await drop?.();
  return { status, stored };
}

/** Attempts a handshake with the test client (101 if it opened; it is then closed). */
export function attemptHandshake(
  probe: TableProbe,
  url: string,
  options: HandshakeOptions = {},
): Promise<HandshakeOutcome> {
  return observeHandshake(probe, async () => {
    try {
      const client = await TestClient.connect(url, options);
      return { status: 101, drop: async () => void (await client.close()) };
    } catch (error) {
      if (!(error instanceof HandshakeStatusError)) throw error;
      return { status: error.status };
    }
  });
}

/**
 * Attempts a handshake with exactly these extra header lines, repeats and odd cases included,
 * which `ws` (and browsers) would never send: the answer's status is all that is looked at, and
 * an opened socket is dropped.
 */
export function attemptRawHandshake(
  probe: TableProbe,
  url: string,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<HandshakeOutcome> {
  const target = new URL(url);
  const lines = [
    ['Host', target.host],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'websocket'],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ...headers,
  ].flat();
  return observeHandshake(
    probe,
    () =>
      new Promise<Attempt>((resolve, reject) => {
        const req = request({
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          headers: lines,
          setHost: false,
        });
        req.once('upgrade', (res, socket) => {
          resolve({ status: res.statusCode ?? 0, drop: () => void socket.destroy() });
        });
        req.once('response', (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        });
        req.once('error', reject);
        req.end();
      }),
  );
}

/** Proves the stack still serves: a ping on a connection opened earlier gets its pong. */
export async function expectStillServing(client: TestClient): Promise<void> {
  const id = `alive-${randomUUID().slice(0, 8)}`;
  client.send({ action: 'ping', id });
  const reply = await client.next((m) => m.id === id);
  expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'pong', id });
}

/** Handler failures the local stack logs; none may appear after hostile input. */
const HANDLER_FAILURES =
  /connect failed|message handling failed|admission failed|\$connect \S+ failed|failed: /;

/**
 * The stack's logs hold no token (nor its payload segment), no planted claim value, no jose error
 * name, and no handler failure.
 */
export function expectCleanLogs(logs: string, watch: LeakWatch): void {
  expect(leakableParts(watch).filter((part) => logs.includes(part))).toEqual([]);
  expect([...watch.planted].filter((value) => logs.includes(value))).toEqual([]);
  expect(JOSE_ERROR_NAMES.filter((name) => logs.includes(name))).toEqual([]);
  expect(logs).not.toMatch(HANDLER_FAILURES);
}
