/**
 * A replay larger than one route invocation may post (issue 9, item 7; PROTOCOL §4): 1,000 events
 * are replayed in parts, each answered by `subscribed` with `next` until the last, against the real
 * local stack. History is seeded through the real `DynamoChannelHistory` on the stack's table,
 * which is what publish stores, without waiting for 1,000 fan-outs.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DynamoChannelHistory } from '../../adapters/dynamo-history.js';
import {
  type ChannelGap,
  type Client,
  createClient,
  type EventMessage,
  type SwitchboardError,
} from '../../client/index.js';
import { REPLAY_MAX_EVENTS } from '../../core/messages.js';
import { serverMessage } from '../../core/protocol.js';
import { localCredentials, testDocumentClient } from '../support/dynamodb.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { type Message, TestClient } from '../support/ws-client.js';

const EVENTS = 1000;

let stack: RunningStack;
let db: DynamoDBDocumentClient;
let management: ApiGatewayManagementApiClient;
let reader: TestClient | undefined;
/** What the SDK client saw on `sdk-backlog`, subscribed there before its events were stored. */
const sdk = {
  client: undefined as Client | undefined,
  connectionId: '',
  seen: [] as EventMessage[],
  gaps: [] as ChannelGap[],
  errors: [] as SwitchboardError[],
};
const ids = { backlog: [] as string[], sdkBacklog: [] as string[] };

beforeAll(async () => {
  stack = await startStack();
  db = testDocumentClient();
  management = new ApiGatewayManagementApiClient({
    endpoint: `${stack.baseUrl}/ws`,
    region: 'local',
    credentials: localCredentials,
  });
  // The SDK client subscribes to an empty channel, so its baseline is 0.
  const client = createClient({
    url: stack.websocketUrl,
    token: () => tokenFor({ sub: 'sdk-reader' }),
    WebSocket: WebSocket as never,
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
  });
  sdk.client = client;
  client.on('gap', (gap) => sdk.gaps.push(gap));
  client.on('error', (error) => sdk.errors.push(error));
  await client.subscribe('sdk-backlog', (event) => sdk.seen.push(event));
  sdk.connectionId = (await client.whoami()).connectionId;
  // 1,000 appends per channel take a while: both channels at once, before the tests.
  [ids.backlog, ids.sdkBacklog] = await Promise.all([seed('backlog'), seed('sdk-backlog')]);
});
afterAll(async () => {
  sdk.client?.close();
  await reader?.close();
  management?.destroy();
  db?.destroy();
  await stack?.stop();
});

/** Stores events 1..EVENTS on `channel` as publish does, returning their ids in `seq` order. */
async function seed(channel: string): Promise<string[]> {
  // The stack's default retention: 1 hour and 1,000 events.
  const history = new DynamoChannelHistory(db, stack.tableName, { seconds: 3600, maxEvents: EVENTS });
  const now = Math.floor(Date.now() / 1000);
  const stored: string[] = [];
  for (let n = 1; n <= EVENTS; n++) {
    const id = `${channel}-${n}`;
    const render = (seq: number) =>
      JSON.stringify(serverMessage({ type: 'event', id, channel, event_type: 'seeded', data: { n }, seq }));
    const [stored1] = await history.append(
      [{ tenant: undefined, channel, events: [{ eventId: id, render }] }],
      now,
    );
    const seq = stored1?.[0]?.seq;
    if (seq !== n) throw new Error(`seeded ${id} as seq ${seq}`);
    stored.push(id);
  }
  return stored;
}

const oneToEvents = Array.from({ length: EVENTS }, (_, i) => i + 1);

describe('a replay over budget, with a plain WebSocket client', () => {
  it('replays 1,000 events in parts, each ended by subscribed with next, until one without next', {
    timeout: 90_000,
  }, async () => {
    // Prepare
    const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'reader' }) });
    reader = client;

    // Act: subscribe with since 0, then with since: next while the reply carries next.
    const events: Message[] = [];
    const replies: Message[] = [];
    let since: number | undefined = 0;
    while (since !== undefined) {
      client.send({ action: 'subscribe', channel: 'backlog', since, id: `part-${replies.length}` });
      let message = await client.next();
      while (message.type === 'event') {
        events.push(message);
        message = await client.next();
      }
      replies.push(message);
      since = message.type === 'subscribed' && typeof message.next === 'number' ? message.next : undefined;
      if (replies.length > EVENTS) throw new Error('next never ended');
    }

    // Assess: every seq once, in order; every reply a subscribed, complete, and with next exactly
    // where its part ended; each part within the size budget.
    expect(events.map((e) => e.seq)).toEqual(oneToEvents);
    expect(events.map((e) => e.id)).toEqual(ids.backlog);
    expect(replies.map((r) => r.type)).toEqual(Array(replies.length).fill('subscribed'));
    for (const reply of replies)
      expect(reply).toMatchObject({ channel: 'backlog', seq: EVENTS, recovered: true });
    expect(replies.length).toBeGreaterThanOrEqual(EVENTS / REPLAY_MAX_EVENTS);
    expect(replies.at(-1)).not.toHaveProperty('next');
    let start = 0;
    for (const reply of replies.slice(0, -1)) {
      const next = Number(reply.next);
      expect(next - start).toBeLessThanOrEqual(REPLAY_MAX_EVENTS);
      expect(next).toBeGreaterThan(start);
      start = next;
    }
    expect(client.pending()).toEqual([]);
    expect(stack.logs()).not.toMatch(/timed out|internal_error|message handling failed/i);
  });
});

describe('a replay over budget, with the SDK', () => {
  it('resumes 1,000 missed events after a reconnection by following next, each once, in seq order, without a gap', {
    timeout: 90_000,
  }, async () => {
    // Prepare: the events were stored behind the subscribed client's back (seeding fans nothing
    // out), so only a replay can bring them.
    const { seen, gaps, errors } = sdk;
    expect(seen).toEqual([]);

    // Act: the server drops the connection; the SDK reconnects and resubscribes with since 0.
    await management.send(new DeleteConnectionCommand({ ConnectionId: sdk.connectionId }));
    await expect.poll(() => seen.length, { timeout: 60_000, interval: 100 }).toBe(EVENTS);

    // Assess
    expect(seen.map((e) => e.seq)).toEqual(oneToEvents);
    expect(seen.map((e) => e.id)).toEqual(ids.sdkBacklog);
    expect(gaps).toEqual([]);
    expect(errors).toEqual([]);
    expect(stack.logs()).not.toMatch(/timed out|internal_error|message handling failed/i);
  });
});
