/**
 * Services that publish where they may not (issue 10, item 3): a source the stack does not accept,
 * a source bound to tenant `acme` publishing to `globex` or to no tenant at all, and such an event
 * put straight on the publish queue, past the rule (as a redrive or a hand-edited rule would). None
 * is delivered; the allowed ones are. The stack runs as `npm start` would with
 * `SWITCHBOARD_EVENT_SOURCES` and `SWITCHBOARD_SOURCE_TENANTS` set (PROTOCOL §1, §6).
 */
import { randomUUID } from 'node:crypto';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_QUEUE_NAMES } from '../../local/emulator/sqs-queue.js';
import { localCredentials } from '../support/dynamodb.js';
import { LeakWatch } from '../support/hostile-jwt.js';
import { expectCleanLogs, expectStillServing, startHostileStack } from '../support/hostile-stack.js';
import { type RunningStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { type Message, TestClient } from '../support/ws-client.js';

const CHANNEL = 'invoices';
const watch = new LeakWatch();
let stack: RunningStack;
let bus: EventBridgeClient;
let sqs: SQSClient;
const readers: Record<'acme' | 'globex' | 'none', TestClient> = {} as never;

const eventWithId = (id: string) => (m: Message) => m.type === 'event' && m.id === id;

/** Publishes as `source`; resolves with the EventBridge event id (the entry itself is accepted). */
const publishAs = (source: string, tenant?: string, data: unknown = source) =>
  publish(bus, { channel: CHANNEL, data, ...(tenant ? { tenant } : {}) }, { Source: source });

/**
 * Proves a negative: a marker `orders` publishes to the reader's tenant after `id` arrives, and
 * `id` never did.
 */
async function expectNotDelivered(reader: keyof typeof readers, id: string): Promise<void> {
  const marker = await publishAs('orders', reader === 'none' ? undefined : reader, 'marker');
  await readers[reader].next(eventWithId(marker));
  expect(readers[reader].pending().filter((m) => m.id === id)).toEqual([]);
}

/** The rule stopped it: publish never saw it (it logs every event id it reads, refused or not). */
const expectStoppedByRule = (id: string) => expect(stack.logs()).not.toContain(id);

beforeAll(async () => {
  stack = await startHostileStack({
    SWITCHBOARD_EVENT_SOURCES: 'billing,orders',
    SWITCHBOARD_SOURCE_TENANTS: JSON.stringify({ billing: ['acme'] }),
  });
  bus = eventBridge(stack.baseUrl);
  sqs = new SQSClient({ endpoint: stack.baseUrl, region: 'local', credentials: localCredentials });
  for (const tenant of ['acme', 'globex', 'none'] as const) {
    const reader = await TestClient.connect(stack.websocketUrl, {
      token: watch.sent(
        await tokenFor({ sub: `reader-${tenant}`, ...(tenant === 'none' ? {} : { tenant }) }),
      ),
    });
    expect(await reader.request({ action: 'subscribe', channel: CHANNEL })).toMatchObject({
      type: 'subscribed',
    });
    readers[tenant] = reader;
  }
});

afterAll(async () => {
  await Promise.all(Object.values(readers).map((reader) => reader?.close()));
  bus?.destroy();
  sqs?.destroy();
  await stack?.stop();
});

describe('the rule: sources and their tenants', () => {
  it('delivers what a bound source sends to its own tenant, and what an unbound source sends anywhere (control)', async () => {
    // Act
    const billing = await publishAs('billing', 'acme');
    const orders = await publishAs('orders', 'globex');
    // Assess
    expect(await readers.acme.next(eventWithId(billing))).toMatchObject({
      channel: CHANNEL,
      data: 'billing',
    });
    expect(await readers.globex.next(eventWithId(orders))).toMatchObject({
      channel: CHANNEL,
      data: 'orders',
    });
  });

  it('does not deliver an event from a source the stack does not accept', async () => {
    // Act
    const id = await publishAs('mallory', 'acme');
    // Assess
    await expectNotDelivered('acme', id);
    expectStoppedByRule(id);
  });

  it("does not let a source bound to acme publish to globex's channels", async () => {
    // Act
    const id = await publishAs('billing', 'globex');
    // Assess
    await expectNotDelivered('globex', id);
    expectStoppedByRule(id);
  });

  it('does not let a bound source publish without a tenant', async () => {
    // Act
    const id = await publishAs('billing');
    // Assess
    await expectNotDelivered('none', id);
    expectStoppedByRule(id);
  });

  it('does not let a bound source broadcast to another tenant', async () => {
    // Act
    const id = await publish(bus, { broadcast: true, tenant: 'globex', data: 'x' }, { Source: 'billing' });
    // Assess
    await expectNotDelivered('globex', id);
    expectStoppedByRule(id);
  });
});

describe('publish checks again what the rule let through', () => {
  it('refuses and logs an event put on the publish queue past the rule, and delivers nothing of it', async () => {
    // Prepare: the envelope the rule would have put there, had it matched.
    const id = randomUUID();
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: LOCAL_QUEUE_NAMES.publish }));
    // Act
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: JSON.stringify({
          version: '0',
          id,
          'detail-type': 'forged',
          source: 'billing',
          account: '000000000000',
          time: new Date().toISOString(),
          region: 'local',
          resources: [],
          detail: { channel: CHANNEL, tenant: 'globex', data: 'forged' },
        }),
      }),
    );
    // Assess: refused once publish has read it, and never delivered.
    await expect
      .poll(
        () =>
          stack.logs().includes(id) &&
          stack.logs().includes('event refused: its source may not publish there'),
      )
      .toBe(true);
    await expectNotDelivered('globex', id);
  });
});

describe('afterwards', () => {
  it('the stack still serves, and its logs hold no token and no handler failure', async () => {
    await expectStillServing(readers.acme);
    expectCleanLogs(stack.logs(), watch);
  });
});
