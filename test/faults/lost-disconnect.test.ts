/**
 * `$disconnect` never delivered (API Gateway promises it on a best-effort basis only): the entries
 * of a connection that is gone stay in the table until something notices. Two things do, and each
 * is shown here: the sweep, which asks API Gateway about every registered connection each period
 * (`GET @connections/{id}` answers 410 for a gone one), and a publish to one of its channels (the
 * post answers 410, and the entries go at once). The sweep runs every second here; "gone within
 * two sweep periods" is measured from the moment the connection closed, for connections older than
 * the sweep's connect grace (a 410 while `$connect` may still run proves nothing).
 */
import { describe, expect, it } from 'vitest';
import { CONNECT_GRACE_SECONDS } from '../../core/sweep.js';
import {
  type Audience,
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  gatherAudience,
  Listener,
  tableEntriesOf,
  useFaultSuite,
} from '../support/faults.js';
import { publish } from '../support/publisher.js';

const SWEEP_PERIOD_MS = 1_000;
/** How late a poll at 100 ms may notice a removal, on a busy two-core machine. */
const OBSERVATION_SLACK_MS = 300;

const suite = useFaultSuite({ env: { SWITCHBOARD_SWEEP_INTERVAL_SECONDS: String(SWEEP_PERIOD_MS / 1000) } });
/** The healthy audience and the outsiders, shared by both tests. */
let crowd: Audience | undefined;

const entries = (listener: Listener, channel: string) =>
  tableEntriesOf(suite.db, suite.stack.tableName, listener.connectionId, [{ tenant: 'acme', channel }]);

/** Polls until the connection's entries are gone; resolves with when that was seen (epoch ms). */
async function removedAt(listener: Listener, channel: string, timeoutMs: number): Promise<number> {
  await expect
    .poll(() => entries(listener, channel), { timeout: timeoutMs, interval: 100 })
    .toEqual({ connection: false, subscriptions: 0 });
  return Date.now();
}

describe('connections whose $disconnect never came', () => {
  it('are forgotten by the sweep within two periods of their close: API Gateway answers 410', async () => {
    // Prepare: healthy subscribers, two connections that will lose their $disconnect, a control.
    crowd = suite.closeAtEnd(await gatherAudience(suite.stack, { channel: 'lost', healthy: 3 }));
    const quiet = await Listener.open(suite.stack, { sub: 'gone-a', tenant: 'acme' }, ['quiet']);
    const busy = await Listener.open(suite.stack, { sub: 'gone-b', tenant: 'acme' }, ['lost']);
    const control = await Listener.open(suite.stack, { sub: 'gone-c', tenant: 'acme' }, ['lost']);
    await suite.faults.set({ dropDisconnect: [quiet.connectionId, busy.connectionId] });
    await new Promise((resolve) => setTimeout(resolve, (CONNECT_GRACE_SECONDS + 1) * 1000));
    // Act: all three go away.
    const closedAt = Date.now();
    await Promise.all([quiet, busy, control].map((listener) => listener.close()));
    // Assess: the control's $disconnect ran; the sweep found the other two gone.
    await removedAt(control, 'lost', 3_000);
    expect((await suite.faults.state()).counts.droppedDisconnects).toBe(2);
    const goneAt = await Promise.all([removedAt(quiet, 'quiet', 5_000), removedAt(busy, 'lost', 5_000)]);
    for (const at of goneAt) {
      expect(at - closedAt).toBeLessThanOrEqual(2 * SWEEP_PERIOD_MS + OBSERVATION_SLACK_MS);
    }
    // Healthy connections are asked about every period and kept.
    const eventId = await publish(suite.bus, { channel: 'lost', tenant: 'acme', data: 'after the sweep' });
    await expectEveryEventReachesEveryone(crowd.healthy, [eventId]);
  }, 40_000);

  it('are forgotten by a publish to one of their channels when the post answers 410', async () => {
    // Prepare: a connection that loses its $disconnect, and whose sweep checks fail (500) so that
    // only the publish can notice it.
    crowd ??= suite.closeAtEnd(await gatherAudience(suite.stack, { channel: 'lost', healthy: 3 }));
    const published = await Listener.open(suite.stack, { sub: 'gone-d', tenant: 'acme' }, ['lost']);
    await suite.faults.set({
      dropDisconnect: [published.connectionId],
      management: [{ answer: 500, methods: ['GET'], connectionIds: [published.connectionId] }],
    });
    await published.close();
    await new Promise((resolve) => setTimeout(resolve, 2 * SWEEP_PERIOD_MS));
    expect(await entries(published, 'lost')).toEqual({ connection: true, subscriptions: 1 });
    // Act: a publish to its channel; the post answers a real 410.
    const eventId = await publish(suite.bus, { channel: 'lost', tenant: 'acme', data: 'x' });
    // Assess: the entries go, healthy ones get the event.
    await expectEveryEventReachesEveryone(crowd.healthy, [eventId]);
    await removedAt(published, 'lost', SWEEP_PERIOD_MS);
    const outcomes = (await suite.faults.state()).requests[published.connectionId] ?? [];
    expect(outcomes).toContain('passed');
    expect(outcomes.filter((o) => o !== '500' && o !== 'passed')).toEqual([]);
    // Nobody healthy lost anything, nobody else saw anything.
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    await expectOutsidersSawNothing(crowd);
  }, 20_000);
});
