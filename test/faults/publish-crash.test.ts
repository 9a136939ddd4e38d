/**
 * The publish function crashing mid-fan-out: after k `@connections` posts the invocation dies (the
 * posts it had not made are never made), and the event bus retries the same event, as Lambda's
 * asynchronous invocation does. Subscribers may then get an event twice: only ever with the same
 * `id` and the same `seq`.
 */
import { describe, expect, it } from 'vitest';
import {
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  publishRetries,
  useFaultSuite,
} from '../support/faults.js';
import { publish } from '../support/publisher.js';

const suite = useFaultSuite();

describe('a publish invocation that crashes after k posts', () => {
  it('is retried with the same event: everyone gets it, and the k early ones get the very same copy again', async () => {
    // Prepare: two events already on the channel, so the crashing one has seq 3.
    const crowd = await suite.audience('crashy', 6);
    const before = [
      await publish(suite.bus, { channel: 'crashy', tenant: 'acme', data: 1 }),
      await publish(suite.bus, { channel: 'crashy', tenant: 'acme', data: 2 }),
    ];
    await expectEveryEventReachesEveryone(crowd.healthy, before);
    await suite.faults.set({ publish: { crashAfterPosts: 2 } });
    // Act
    const eventId = await publish(suite.bus, { channel: 'crashy', tenant: 'acme', data: 3 });
    // Assess: delivered to all after the event bus's retry (1 s later).
    await expectEveryEventReachesEveryone(crowd.healthy, [eventId], 8_000);
    const state = await suite.faults.state();
    expect(state.counts.crashedInvocations).toBe(1);
    expect(publishRetries(suite.stack, eventId)).toHaveLength(1);
    expect(suite.stack.logs()).toContain(
      `fault: the publish invocation of event ${eventId} crashed at its post #3`,
    );
    // The two posts made before the crash landed; the attempt after it posted to everyone again.
    const copies = crowd.healthy.map((listener) => listener.copies(eventId)).sort();
    expect(copies).toEqual([1, 1, 1, 1, 2, 2]);
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(2);
    for (const listener of crowd.healthy) {
      expect(listener.events.filter((event) => event.id === eventId).map((event) => event.seq)).toEqual(
        Array(listener.copies(eventId)).fill(3),
      );
    }
    // The crashed invocation made no post after its k-th: the rest were refused, never delivered.
    expect(state.counts.management).toMatchObject({ crashed: 4 });
    await expectOutsidersSawNothing(crowd);
  });

  it('survives crashing twice on an event sent to two channels: the third attempt delivers, seqs unchanged', async () => {
    // Prepare: the first two invocations die at their first post, on either channel.
    const crowd = await suite.audience('twice-a', 3);
    for (const listener of crowd.healthy) await listener.subscribe('twice-b');
    await suite.faults.set({ publish: { crashAfterPosts: 0, invocations: 2 } });
    // Act
    const eventId = await publish(suite.bus, { channels: ['twice-a', 'twice-b'], tenant: 'acme', data: 'x' });
    // Assess: attempts 1 and 2 failed before any post; attempt 3 (3 s later) delivered both.
    await expect
      .poll(() => crowd.healthy.map((listener) => listener.copies(eventId)), {
        timeout: 10_000,
        interval: 100,
      })
      .toEqual([2, 2, 2]);
    expect((await suite.faults.state()).counts.crashedInvocations).toBe(2);
    expect(publishRetries(suite.stack, eventId)).toHaveLength(2);
    for (const listener of crowd.healthy) {
      expect(
        listener.events
          .map(({ channel, id, seq }) => ({ channel, id, seq }))
          .sort((a, b) => a.channel.localeCompare(b.channel)),
      ).toEqual([
        { channel: 'twice-a', id: eventId, seq: 1 },
        { channel: 'twice-b', id: eventId, seq: 1 },
      ]);
    }
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    await expectOutsidersSawNothing(crowd);
  }, 20_000);
});
