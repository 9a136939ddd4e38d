/**
 * Sequence numbers, history and recovery end to end (plain clients, no SDK): `seq` on every event,
 * `since` replaying what a client missed before `subscribed`, and `recovered: false` beyond
 * retention.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';
import { type Message, TestClient } from '../support/ws-client.js';

let stack: RunningStack;
let bus: EventBridgeClient;
const clients: TestClient[] = [];

async function connect(claims: Parameters<typeof tokenFor>[0] = { sub: 'reader' }): Promise<TestClient> {
  const client = await TestClient.connect(stack.websocketUrl, { token: await tokenFor(claims) });
  clients.push(client);
  return client;
}

const eventOn = (channel: string, id?: string) => (m: Message) =>
  m.type === 'event' && m.channel === channel && (id === undefined || m.id === id);

beforeAll(async () => {
  stack = await startStack({ SWITCHBOARD_HISTORY_MAX_EVENTS: '5' });
  bus = eventBridge(stack.baseUrl);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  bus?.destroy();
  await stack?.stop();
});

describe('per-channel sequence numbers', () => {
  it('number events 1, 2, 3 per channel, separately per tenant, and subscribed tells the current one', async () => {
    // Prepare
    const plain = await connect();
    const acme = await connect({ sub: 'a', tenant: 'acme' });
    expect(await plain.request({ action: 'subscribe', channel: 'seq-a' })).toMatchObject({
      type: 'subscribed',
      seq: 0,
    });
    await acme.request({ action: 'subscribe', channel: 'seq-a' });
    // Act
    for (const n of [1, 2, 3]) await publish(bus, { channel: 'seq-a', data: n });
    await publish(bus, { channel: 'seq-a', data: 'acme', tenant: 'acme' });
    // Assess
    // EventBridge promises no order, so the numbers follow processing order, not publishing order.
    const seqs = [];
    for (let i = 0; i < 3; i++) seqs.push(Number((await plain.next(eventOn('seq-a'))).seq));
    expect(seqs.sort()).toEqual([1, 2, 3]);
    expect(await acme.next(eventOn('seq-a'))).toMatchObject({ data: 'acme', seq: 1 });
    const late = await connect();
    expect(await late.request({ action: 'subscribe', channel: 'seq-a' })).toMatchObject({ seq: 3 });
    expect(await late.request({ action: 'subscribe', channel: 'seq-a', since: 3 })).not.toHaveProperty(
      'recovered',
      false,
    );
  });
});

describe('recovery with since', () => {
  it('replays the missed events in order before subscribed, with recovered: true', async () => {
    // Prepare: a client saw up to seq 1, then lost its connection while three more were published.
    const first = await connect();
    await first.request({ action: 'subscribe', channel: 'resume' });
    const seen = await publish(bus, { channel: 'resume', data: 'seen' });
    expect(await first.next(eventOn('resume', seen))).toMatchObject({ seq: 1 });
    await first.close();
    const missed = [];
    for (const n of [2, 3, 4]) missed.push(await publish(bus, { channel: 'resume', data: n }));
    // PutEvents answers before delivery (as on AWS): wait until all three are processed.
    const probe = await connect();
    await expect
      .poll(async () => (await probe.request({ action: 'subscribe', channel: 'resume' }, 'subscribed')).seq, {
        timeout: 10_000,
        interval: 200,
      })
      .toBe(4);
    // Act
    const second = await connect();
    second.send({ action: 'subscribe', channel: 'resume', since: 1, id: 'r' });
    const replayed = [await second.next(), await second.next(), await second.next()];
    const reply = await second.next();
    // Assess
    expect(replayed.map((m) => [m.type, m.seq])).toEqual([
      ['event', 2],
      ['event', 3],
      ['event', 4],
    ]);
    expect(replayed.map((m) => m.id).sort()).toEqual([...missed].sort());
    expect(reply).toMatchObject({ type: 'subscribed', channel: 'resume', id: 'r', seq: 4, recovered: true });
    const live = await publish(bus, { channel: 'resume', data: 'live' });
    expect(await second.next(eventOn('resume', live))).toMatchObject({ seq: 5 });
  });

  it('answers recovered: false when events after since are no longer retained', async () => {
    // Prepare: 8 events on a stack that retains the latest 5.
    const ids = [];
    for (let n = 1; n <= 8; n++) ids.push(await publish(bus, { channel: 'long-gone', data: n }));
    const probe = await connect();
    await expect
      .poll(
        async () => (await probe.request({ action: 'subscribe', channel: 'long-gone' }, 'subscribed')).seq,
        { timeout: 10_000, interval: 200 },
      )
      .toBe(8);
    // Act
    const client = await connect();
    client.send({ action: 'subscribe', channel: 'long-gone', since: 1 });
    const replayed: Message[] = [];
    let reply = await client.next();
    while (reply.type === 'event') {
      replayed.push(reply);
      reply = await client.next();
    }
    // Assess
    expect(reply).toMatchObject({ type: 'subscribed', seq: 8, recovered: false });
    expect(replayed.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
  });

  it('replays nothing across tenants', async () => {
    // Prepare
    for (const n of [1, 2]) await publish(bus, { channel: 'tenant-history', data: n, tenant: 'globex' });
    const acme = await connect({ sub: 'a', tenant: 'acme' });
    // Act
    const reply = await acme.request(
      { action: 'subscribe', channel: 'tenant-history', since: 0 },
      'subscribed',
    );
    // Assess
    expect(reply).toMatchObject({ type: 'subscribed', seq: 0, recovered: true });
    expect(acme.pending().filter((m) => m.type === 'event')).toEqual([]);
  });
});
