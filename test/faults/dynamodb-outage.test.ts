/**
 * DynamoDB unavailable, then back. The fault plan puts a proxy between the handlers and DynamoDB
 * and plays a restart on it: open connections reset, new ones refused, then accepted again. (A
 * real restart of DynamoDB Local would lose its `-inMemory` data and take seconds of JVM start;
 * the handlers cannot tell the difference.)
 *
 * The outage is kept SHORTER than the local event bus's retry window (attempts at 0, +1 s and
 * +2 s after that): a publish that fails during the outage succeeds on a retry. On AWS the window
 * is the rule's retry policy (up to its maximum event age), far longer than any outage here.
 */
import { describe, expect, it } from 'vitest';
import {
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  publishRetries,
  tableEntriesOf,
  useFaultSuite,
} from '../support/faults.js';
import { publish } from '../support/publisher.js';

const OUTAGE_MS = 1_500;

const suite = useFaultSuite();

describe('DynamoDB unavailable for a moment', () => {
  it('loses no event published during the outage, and the connections survive it', async () => {
    // Prepare
    const crowd = await suite.audience('outage', 3);
    const [watcher] = crowd.healthy;
    if (!watcher) throw new Error('no healthy listener');
    const warmUp = await publish(suite.bus, { channel: 'outage', tenant: 'acme', data: 'before' });
    await expectEveryEventReachesEveryone(crowd.healthy, [warmUp]);
    // Act: DynamoDB goes away; events are published while it is gone; it comes back by itself.
    const down = await suite.faults.set({ dynamodb: { down: true, forMs: OUTAGE_MS } });
    const outageStarted = Date.now();
    const during = [
      await publish(suite.bus, { channel: 'outage', tenant: 'acme', data: 'during-1' }),
      await publish(suite.bus, { channel: 'outage', tenant: 'acme', data: 'during-2' }),
      await publish(suite.bus, { channel: 'outage', tenant: 'acme', data: 'during-3' }),
    ];
    // A client message that needs the table is answered with an error; the socket stays open.
    // (A ping needs none: it is answered as ever, see test/integration/keep-alive.test.ts.)
    const duringOutage = await watcher.client.request({ action: 'whoami', id: 'w1' }, 'connected');
    // The data is all still there (the handlers cannot reach it; this test reads it directly).
    const entries = await tableEntriesOf(suite.db, suite.stack.tableName, watcher.connectionId, [
      { tenant: 'acme', channel: 'outage' },
    ]);
    // Assess
    expect(Date.now() - outageStarted, 'the outage outlasted the events published in it').toBeLessThan(
      OUTAGE_MS,
    );
    expect(down.counts.dynamodb).toMatchObject({ available: false, outages: 1 });
    expect(duringOutage).toMatchObject({ type: 'error', code: 'internal_error', id: 'w1' });
    expect(entries).toEqual({ connection: true, subscriptions: 1 });
    await expectEveryEventReachesEveryone(crowd.healthy, during, 10_000);
    // The outage was felt: each publish failed at least once and was retried by the event bus.
    for (const eventId of during)
      expect(publishRetries(suite.stack, eventId).length).toBeGreaterThanOrEqual(1);
    expect(suite.stack.logs()).not.toContain('dead-letter queue');
    expect((await suite.faults.state()).counts.dynamodb).toMatchObject({ available: true, outages: 1 });
    expect(await watcher.client.request({ action: 'ping', id: 'p2' }, 'pong')).toMatchObject({
      type: 'pong',
      id: 'p2',
    });
    // Numbered once each, in the order they were processed, with nothing lost or repeated.
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    const seqs = watcher.events.map((event) => event.seq).sort((a, b) => a - b);
    expect(seqs).toEqual([1, 2, 3, 4]);
    await expectOutsidersSawNothing(crowd);
  }, 20_000);
});
