/**
 * Bursts (issue: busy channels): 1,000 events put as fast as the endpoint answers, ten entries a
 * call, reach a plain WebSocket subscriber exactly once each, numbered 1..N per channel with no
 * gap and no repeat, and nothing is dead-lettered. Functional assertions only: the rate is the
 * bench's business (`npm run bench`).
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCredentials } from '../support/dynamodb.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge } from '../support/publisher.js';
import { type Message, TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let bus: EventBridgeClient;
let sqs: SQSClient;

beforeAll(async () => {
  // One client subscribes to 50 channels in a row: a rate limit above that.
  stack = await startStack({ SWITCHBOARD_RATE_LIMIT_BURST: '100', SWITCHBOARD_RATE_LIMIT_PER_SECOND: '100' });
  bus = eventBridge(stack.baseUrl);
  sqs = new SQSClient({ endpoint: stack.baseUrl, region: 'local', credentials: localCredentials });
});
afterAll(async () => {
  bus?.destroy();
  sqs?.destroy();
  await stack?.stop();
});

/** A subscriber that records every event it receives. */
async function subscriber(channels: readonly string[]): Promise<{ client: TestClient; events: Message[] }> {
  const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor({ sub: 'watcher' }) });
  const events: Message[] = [];
  client.socket.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Message;
    if (message.type === 'event') events.push(message);
  });
  for (const channel of channels) {
    const reply = await client.request({ action: 'subscribe', channel }, 'subscribed');
    expect(reply.type).toBe('subscribed');
  }
  return { client, events };
}

/** Puts `count` events, ten a call, every call at once: as fast as the endpoint answers. */
async function burst(count: number, channelOf: (i: number) => string): Promise<string[]> {
  const calls = Array.from({ length: Math.ceil(count / 10) }, (_, call) =>
    bus.send(
      new PutEventsCommand({
        Entries: Array.from({ length: Math.min(10, count - call * 10) }, (_, j) => ({
          Source: 'burst',
          DetailType: 'tick',
          Detail: JSON.stringify({ channel: channelOf(call * 10 + j), data: { n: call * 10 + j } }),
        })),
      }),
    ),
  );
  const results = await Promise.all(calls);
  for (const result of results) expect(result.FailedEntryCount).toBe(0);
  return results.flatMap((r) => (r.Entries ?? []).map((e) => e.EventId as string));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100));
}

async function deadLettered(): Promise<number> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'switchboard-dead-letters' }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

/** Every id exactly once, and per channel the seqs 1..n exactly once. */
function expectExactlyOnceInSeqOrder(events: readonly Message[], ids: readonly string[]): void {
  const received = events.map((e) => e.id as string);
  expect(new Set(received).size).toBe(received.length);
  expect([...received].sort()).toEqual([...ids].sort());
  const byChannel = new Map<string, number[]>();
  for (const event of events) {
    const seqs = byChannel.get(event.channel as string) ?? [];
    seqs.push(event.seq as number);
    byChannel.set(event.channel as string, seqs);
  }
  for (const seqs of byChannel.values()) {
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  }
}

describe('a burst of events', () => {
  it('on one channel reaches its subscriber exactly once each, numbered 1..1000, none dead-lettered', async () => {
    // Prepare
    const { client, events } = await subscriber(['hot']);
    // Act
    const ids = await burst(1000, () => 'hot');
    await waitFor(() => events.length >= 1000, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Assess
    expect(events).toHaveLength(1000);
    expectExactlyOnceInSeqOrder(events, ids);
    expect(await deadLettered()).toBe(0);
    expect(stack.logs()).not.toContain('Task timed out');
    await client.close();
  }, 120_000);

  it('over 50 channels reaches the subscriber of all of them exactly once each, none dead-lettered', async () => {
    // Prepare
    const channels = Array.from({ length: 50 }, (_, i) => `spread-${i}`);
    const { client, events } = await subscriber(channels);
    // Act
    const ids = await burst(1000, (i) => channels[i % 50] as string);
    await waitFor(() => events.length >= 1000, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Assess
    expect(events).toHaveLength(1000);
    expectExactlyOnceInSeqOrder(events, ids);
    for (const channel of channels) expect(events.filter((e) => e.channel === channel)).toHaveLength(20);
    expect(await deadLettered()).toBe(0);
    await client.close();
  }, 120_000);
});
