/**
 * Wildcard subscribers of a channel past the fan-out threshold (3 here): the shard tasks read the
 * channel's exact partition and each prefix's pattern partition within their connection-id range,
 * so every subscriber, however subscribed, is posted each event once, by one shard.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEveryEventReachesEveryone, Listener } from '../support/faults.js';
import { type RunningStack, startStack } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

let stack: RunningStack;
let bus: EventBridgeClient;
const open: Listener[] = [];

beforeAll(async () => {
  stack = await startStack({ SWITCHBOARD_FANOUT_THRESHOLD: '3', SWITCHBOARD_CALLBACKS_PER_SECOND: '400' });
  bus = eventBridge(stack.baseUrl);
});
afterAll(async () => {
  await Promise.all(open.map((listener) => listener.close()));
  bus?.destroy();
  await stack?.stop();
});

const group = (name: string, count: number, names: string[]) =>
  Promise.all(
    Array.from({ length: count }, (_, i) =>
      Listener.open(stack, { sub: `${name}-${i}`, tenant: 'acme' }, names),
    ),
  );

describe('a big channel with pattern subscribers', () => {
  it('is sharded, and each subscriber gets each event once however it subscribed', async () => {
    // Prepare: 3 exact, 3 by `big:*`, 3 by `big:room.*`, 3 every way at once: 12, past the
    // threshold.
    const everyone = (
      await Promise.all([
        group('exact', 3, ['big:room.1']),
        group('short', 3, ['big:*']),
        group('long', 3, ['big:room.*']),
        group('all', 3, ['big:room.1', 'big:*', 'big:room.*']),
      ])
    ).flat();
    open.push(...everyone);
    const bystander = await Listener.open(stack, { sub: 'bystander', tenant: 'acme' }, ['big:room.*']);
    open.push(bystander);
    // Act
    const events = [
      await publish(bus, { channel: 'big:room.1', tenant: 'acme', data: 1 }),
      await publish(bus, { channel: 'big:room.1', tenant: 'acme', data: 2 }),
    ];
    const elsewhere = await publish(bus, { channel: 'big:hall', tenant: 'acme', data: 3 });
    // Assess
    await expectEveryEventReachesEveryone(everyone, events, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const listener of everyone) {
      expect(
        listener.events
          .filter((e) => e.channel === 'big:room.1')
          .map((e) => e.seq)
          .sort(),
      ).toEqual([1, 2]);
    }
    const shardLines = stack
      .logs()
      .split('\n')
      .filter((line) => line.includes('"fan-out shard done"') && line.includes('"channel":"big:room.1"'));
    expect(shardLines.length).toBe(32);
    // `big:hall` reaches `big:*` subscribers only.
    expect(bystander.ids().has(elsewhere)).toBe(false);
    expect(
      everyone
        .filter((l) => l.ids().has(elsewhere))
        .map((l) => l.name)
        .sort(),
    ).toEqual([...Array(3).keys()].flatMap((i) => [`all-${i}`, `short-${i}`]).sort());
  });
});
