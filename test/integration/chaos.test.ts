/**
 * Recovery under chaos (issue 6): SDK clients are disconnected by the server at random moments
 * (DeleteConnection on the Management API) while events are published at a steady rate. Every
 * client's handler must end with every event exactly once, in `seq` order. A client away for
 * longer than the history keeps is told `recovered: false` (a `gap`).
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { type ChannelGap, type Client, createClient, type EventMessage } from '../../client/index.js';
import { localCredentials } from '../support/dynamodb.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let bus: EventBridgeClient;
let management: ApiGatewayManagementApiClient;
const clients: Client[] = [];

const CLIENTS = 8;
const EVENTS = 60;
const PUBLISH_EVERY_MS = 25;

beforeAll(async () => {
  // History keeps 20 events: the second test outlives it on purpose. The first must not depend on
  // how fast a kicked client is back (a timing, which is the bench's business): it runs on a stack
  // of its own with the default retention, so every loss it sees is a real one.
  stack = await startStack({ SWITCHBOARD_HISTORY_MAX_EVENTS: '20' });
  bus = eventBridge(stack.baseUrl);
  management = new ApiGatewayManagementApiClient({
    endpoint: `${stack.baseUrl}/ws`,
    region: 'local',
    credentials: localCredentials,
  });
});
afterAll(async () => {
  for (const client of clients) client.close();
  bus?.destroy();
  management?.destroy();
  await stack?.stop();
});

function sdkClient(sub: string, on: RunningStack): Client {
  const client = createClient({
    url: on.websocketUrl,
    token: () => tokenFor({ sub }),
    WebSocket: WebSocket as never,
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
    gapTimeoutMs: 300,
  });
  clients.push(client);
  return client;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const random = (max: number) => Math.floor(Math.random() * max);

describe('recovery across forced disconnects', () => {
  it('delivers every event exactly once and in order to every client', async () => {
    // Prepare
    const kept = await startStack();
    onTestFinished(() => kept.stop());
    const keptBus = eventBridge(kept.baseUrl);
    onTestFinished(() => keptBus.destroy());
    const keptManagement = new ApiGatewayManagementApiClient({
      endpoint: `${kept.baseUrl}/ws`,
      region: 'local',
      credentials: localCredentials,
    });
    onTestFinished(() => keptManagement.destroy());
    const received: EventMessage[][] = [];
    const subscribed = [];
    for (let i = 0; i < CLIENTS; i++) {
      const log: EventMessage[] = [];
      received.push(log);
      const client = sdkClient(`chaos-${i}`, kept);
      subscribed.push(client.subscribe('chaos', (event) => log.push(event)));
    }
    await Promise.all(subscribed);
    // Act: publish at a steady rate while kicking random clients off.
    const published: string[] = [];
    let disconnects = 0;
    const publishing = (async () => {
      for (let n = 0; n < EVENTS; n++) {
        published.push(await publish(keptBus, { channel: 'chaos', data: n }));
        await sleep(PUBLISH_EVERY_MS);
      }
    })();
    const kicking = (async () => {
      for (let k = 0; k < 10; k++) {
        await sleep(40 + random(120));
        const victim = clients[random(CLIENTS)] as Client;
        const who = await victim.whoami().catch(() => undefined);
        if (!who) continue;
        await keptManagement.send(new DeleteConnectionCommand({ ConnectionId: who.connectionId }));
        disconnects += 1;
      }
    })();
    await Promise.all([publishing, kicking]);
    // Assess
    await expect
      .poll(() => received.map((log) => log.length), { timeout: 20_000, interval: 200 })
      .toEqual(Array(CLIENTS).fill(EVENTS));
    await sleep(300); // anything late would be a duplicate
    for (const log of received) {
      expect(log.map((e) => e.seq)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
      expect(new Set(log.map((e) => e.id)).size).toBe(EVENTS);
      expect(new Set(log.map((e) => e.id))).toEqual(new Set(published));
    }
    expect(disconnects).toBeGreaterThanOrEqual(5);
  });

  it('reports recovered: false as a gap when the client was away longer than history keeps', async () => {
    // Prepare: a client that saw the channel's first event, then cannot reconnect for a while
    // (its token provider fails, as when the network is down).
    let offline = false;
    const gaps: ChannelGap[] = [];
    const seen: EventMessage[] = [];
    const client = createClient({
      url: stack.websocketUrl,
      token: async () => {
        if (offline) throw new Error('offline');
        return tokenFor({ sub: 'away' });
      },
      WebSocket: WebSocket as never,
      reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
      gapTimeoutMs: 300,
    });
    clients.push(client);
    await client.subscribe('far-behind', (event) => seen.push(event), { onGap: (gap) => gaps.push(gap) });
    await publish(bus, { channel: 'far-behind', data: 'first' });
    await expect.poll(() => seen.length).toBe(1);
    const { connectionId } = await client.whoami();
    offline = true;
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    // Act: 30 more events while it is away; the stack keeps only the latest 20.
    const missed: string[] = [];
    for (let n = 0; n < 30; n++) missed.push(await publish(bus, { channel: 'far-behind', data: n }));
    // PutEvents answers before delivery: stay away until all 30 are processed (seq 31).
    const probe = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'probe' }) });
    await expect
      .poll(
        async () => (await probe.request({ action: 'subscribe', channel: 'far-behind' }, 'subscribed')).seq,
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .toBe(31);
    await probe.close();
    offline = false;
    // Assess: told about the gap, handed what is still retained, in order, and live events after.
    await expect.poll(() => gaps.length, { timeout: 10_000 }).toBe(1);
    expect(gaps[0]).toMatchObject({ channel: 'far-behind', reason: 'not_retained', lastSeq: 1 });
    const after = await publish(bus, { channel: 'far-behind', data: 'after' });
    await expect.poll(() => seen.at(-1)?.id, { timeout: 10_000 }).toBe(after);
    // After the gap: what was still retained when it came back, then everything live, each once,
    // in order, with nothing missing between.
    const seqs = seen.map((e) => Number(e.seq));
    const resumedAt = seqs[1] as number;
    expect(seqs[0]).toBe(1);
    expect(resumedAt).toBeGreaterThan(2);
    expect(seqs.slice(1)).toEqual(Array.from({ length: 32 - resumedAt + 1 }, (_, i) => resumedAt + i));
  });
});
