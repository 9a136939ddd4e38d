/**
 * Big channels and broadcast, against the local stack with a low fan-out threshold (3), so a
 * channel of 40 subscribers is split into shards that the fan-out workers post in parallel,
 * through the fan-out queue, each shard in its own invocation.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient, type EventMessage } from '../../client/index.js';
import {
  type Audience,
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  FaultControl,
  gatherAudience,
  Listener,
  startFaultStack,
} from '../support/faults.js';
import { type RunningStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

let stack: RunningStack;
let faults: FaultControl;
let bus: EventBridgeClient;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  stack = await startFaultStack({
    SWITCHBOARD_FANOUT_THRESHOLD: '3',
    SWITCHBOARD_CALLBACKS_PER_SECOND: '400',
    SWITCHBOARD_LOCAL_RETRY_SECONDS: '0.5',
  });
  faults = new FaultControl(stack.baseUrl);
  bus = eventBridge(stack.baseUrl);
});
afterEach(async () => {
  await faults.clear();
  await Promise.all(open.splice(0).map((o) => o.close()));
});
afterAll(async () => {
  bus?.destroy();
  await stack?.stop();
});

async function audience(channel: string, healthy: number): Promise<Audience> {
  const gathered = await gatherAudience(stack, { channel, healthy });
  open.push(gathered);
  return gathered;
}

/** The fan-out workers' reports in the stack's log, for one channel. */
function shardReports(channel: string): Record<string, unknown>[] {
  return stack
    .logs()
    .split('\n')
    .filter((line) => line.includes('"fan-out shard done"') && line.includes(`"channel":"${channel}"`))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

describe('a channel past the fan-out threshold', () => {
  it('is posted by several worker invocations, shard by shard, and everyone gets each event once', async () => {
    // Prepare: 40 subscribers in acme, and outsiders of every kind.
    const crowd = await audience('stadium', 40);
    // Act
    const events = [
      await publish(bus, { channel: 'stadium', tenant: 'acme', data: 1 }),
      await publish(bus, { channel: 'stadium', tenant: 'acme', data: 2 }),
    ];
    // Assess
    await expectEveryEventReachesEveryone(crowd.healthy, events, 20_000);
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    for (const listener of crowd.healthy) {
      expect(listener.events.map((e) => e.seq).sort()).toEqual([1, 2]);
    }
    const reports = shardReports('stadium');
    // 16 shards per event, each its own invocation, together posting 40 deliveries per event.
    expect(reports.length).toBe(32);
    expect(reports.reduce((sum, r) => sum + Number(r.deliveries), 0)).toBe(80);
    expect(reports.filter((r) => Number(r.deliveries) > 0).length).toBeGreaterThan(2);
    await expectOutsidersSawNothing(crowd);
  });

  it('retries a failing connection alone: the others get the event once, the victim once it recovers', async () => {
    // Prepare: every post to the victim fails until the fault is cleared.
    const crowd = await audience('arena', 12);
    const [victim, ...others] = crowd.healthy;
    if (!victim) throw new Error('no victim');
    await faults.set({ management: [{ answer: 500, connectionIds: [victim.connectionId] }] });
    // Act
    const eventId = await publish(bus, { channel: 'arena', tenant: 'acme', data: 'x' });
    await expectEveryEventReachesEveryone(others, [eventId], 20_000);
    await expect
      .poll(() => stack.logs().includes('queued again for those connections only'), { timeout: 20_000 })
      .toBe(true);
    await faults.clear();
    // Assess
    await expectEveryEventReachesEveryone([victim], [eventId], 20_000);
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    for (const listener of crowd.healthy) expect(listener.copies(eventId)).toBe(1);
    await expectOutsidersSawNothing(crowd);
  }, 60_000);
});

describe('a channel of exactly the fan-out threshold', () => {
  it('is posted by the publish function itself, not handed to the fan-out workers', async () => {
    // Prepare: as many subscribers as the threshold (3). A Query page that reaches its Limit
    // carries a LastEvaluatedKey even when nothing follows, so a page of exactly 3 says nothing.
    const crowd = await Promise.all(
      [0, 1, 2].map((i) => Listener.open(stack, { sub: `edge-${i}`, tenant: 'acme' }, ['edge'])),
    );
    open.push(...crowd);
    // Act
    const eventId = await publish(bus, { channel: 'edge', tenant: 'acme', data: 'x' });
    // Assess
    await expectEveryEventReachesEveryone(crowd, [eventId], 20_000);
    expect(shardReports('edge')).toEqual([]);
  });
});

describe('a broadcast', () => {
  it('reaches every live connection of the tenant, subscribed or not, and nobody else', async () => {
    // Prepare
    const acme = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        Listener.open(stack, { sub: `a${i}`, tenant: 'acme' }, i % 2 ? ['news'] : []),
      ),
    );
    const beta = await Promise.all([0, 1].map((i) => Listener.open(stack, { sub: `b${i}`, tenant: 'beta' })));
    const plain = await Promise.all([0, 1].map((i) => Listener.open(stack, { sub: `p${i}` })));
    open.push(...acme, ...beta, ...plain);
    // Act
    const toAcme = await publish(bus, { broadcast: true, tenant: 'acme', data: { notice: 'all hands' } });
    const toPlain = await publish(bus, { broadcast: true, data: { notice: 'maintenance' } });
    // Assess
    await expectEveryEventReachesEveryone(acme, [toAcme], 20_000);
    await expectEveryEventReachesEveryone(plain, [toPlain], 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const listener of acme) {
      expect(listener.events.map((e) => [e.channel, e.id, e.seq])).toEqual([['broadcast', toAcme, 1]]);
    }
    for (const listener of plain) {
      expect(listener.events.map((e) => [e.channel, e.id])).toEqual([['broadcast', toPlain]]);
    }
    for (const listener of beta) expect(listener.events).toEqual([]);
  });
});

describe('broadcasts through the SDK', () => {
  it('reach a client subscribed to the reserved channel broadcast, numbered, like any event', async () => {
    // Prepare
    const client = createClient({
      url: stack.websocketUrl,
      token: () => tokenFor({ sub: 'sdk-user', tenant: 'gamma' }),
      WebSocket: WebSocket as never,
    });
    open.push({ close: async () => client.close() });
    const received: EventMessage[] = [];
    await client.subscribe('broadcast', (event) => received.push(event));
    // Act
    const first = await publish(bus, { broadcast: true, tenant: 'gamma', data: { n: 1 } });
    const second = await publish(bus, { broadcast: true, tenant: 'gamma', data: { n: 2 } });
    // Assess: each once, in seq order, on channel broadcast. Numbers follow the order Switchboard
    // processes events, which need not be the order they were put in (PROTOCOL §4).
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.map((e) => [e.channel, e.seq])).toEqual([
      ['broadcast', 1],
      ['broadcast', 2],
    ]);
    expect(new Set(received.map((e) => e.id))).toEqual(new Set([first, second]));
  });
});
