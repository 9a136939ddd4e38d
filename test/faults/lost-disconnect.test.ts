/**
 * `$disconnect` never delivered (API Gateway promises it on a best-effort basis only): the entries
 * of a connection that is gone stay in the table until something notices. Three things do, and
 * each is shown here: a publish to one of its channels (the post answers 410, and the entries go
 * at once), the sweep once its token expires, and the sweep once it has been silent past the idle
 * timeout. The sweep runs every second here; "gone within two sweep periods" is measured from the
 * moment an entry becomes stale.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionKey } from '../../adapters/dynamo-store.js';
import { testDocumentClient } from '../support/dynamodb.js';
import {
  type Audience,
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  FaultControl,
  gatherAudience,
  Listener,
  startFaultStack,
  tableEntriesOf,
} from '../support/faults.js';
import { type RunningStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

const SWEEP_PERIOD_MS = 1_000;
/** How late a poll at 100 ms may notice a removal, on a busy two-core machine. */
const OBSERVATION_SLACK_MS = 300;

let stack: RunningStack;
let faults: FaultControl;
let bus: EventBridgeClient;
let db: ReturnType<typeof testDocumentClient>;
let crowd: Audience | undefined;

beforeAll(async () => {
  stack = await startFaultStack({ SWITCHBOARD_SWEEP_INTERVAL_SECONDS: String(SWEEP_PERIOD_MS / 1000) });
  faults = new FaultControl(stack.baseUrl);
  bus = eventBridge(stack.baseUrl);
  db = testDocumentClient();
});
afterAll(async () => {
  await faults?.clear();
  await crowd?.close();
  bus?.destroy();
  db?.destroy();
  await stack?.stop();
});

const entries = (listener: Listener, channel: string) =>
  tableEntriesOf(db, stack.tableName, listener.connectionId, [{ tenant: 'acme', channel }]);

/** Polls until the connection's entries are gone; resolves with when that was seen (epoch ms). */
async function removedAt(listener: Listener, channel: string, timeoutMs: number): Promise<number> {
  await expect
    .poll(() => entries(listener, channel), { timeout: timeoutMs, interval: 100 })
    .toEqual({ connection: false, subscriptions: 0 });
  return Date.now();
}

const expiryOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }).exp * 1000;

describe('connections whose $disconnect never came', () => {
  it('are forgotten by the next publish, or by the sweep within two periods of going stale', async () => {
    // Prepare: healthy subscribers, and four connections about to close: three lose their $disconnect.
    crowd = await gatherAudience(stack, { channel: 'lost', healthy: 3 });
    const published = await Listener.open(stack, { sub: 'gone-b', tenant: 'acme' }, ['lost']);
    const shortToken = await tokenFor({ sub: 'gone-c', tenant: 'acme', ttlSeconds: 3 });
    const expiring = await Listener.connect(stack.websocketUrl, 'gone-c', shortToken, ['quiet']);
    const silent = await Listener.open(stack, { sub: 'gone-d', tenant: 'acme' }, ['quiet']);
    const control = await Listener.open(stack, { sub: 'gone-e', tenant: 'acme' }, ['lost']);
    const lost = [published, expiring, silent];
    await faults.set({ dropDisconnect: lost.map((listener) => listener.connectionId) });
    // Act: all four go away.
    await Promise.all([...lost, control].map((listener) => listener.close()));
    // Assess: only the control's $disconnect ran; the others' entries are still there.
    await removedAt(control, 'lost', 3_000);
    expect((await faults.state()).counts.droppedDisconnects).toBe(3);
    expect(await entries(published, 'lost')).toEqual({ connection: true, subscriptions: 1 });
    expect(await entries(expiring, 'quiet')).toEqual({ connection: true, subscriptions: 1 });
    expect(await entries(silent, 'quiet')).toEqual({ connection: true, subscriptions: 1 });

    // 1. A publish to its channel: the post answers a real 410, the entries go, healthy ones get it.
    const eventId = await publish(bus, { channel: 'lost', tenant: 'acme', data: 'x' });
    await expectEveryEventReachesEveryone(crowd.healthy, [eventId]);
    await removedAt(published, 'lost', 2 * SWEEP_PERIOD_MS);
    expect((await faults.state()).requests[published.connectionId]).toEqual(['passed']);

    // 2. Token expired: stale at `exp`; the sweep removes it within two periods.
    const expiredAt = expiryOf(shortToken);
    const expiredGoneAt = await removedAt(expiring, 'quiet', expiredAt - Date.now() + 5_000);
    expect(expiredGoneAt - expiredAt).toBeLessThanOrEqual(2 * SWEEP_PERIOD_MS + OBSERVATION_SLACK_MS);

    // 3. Silent: it goes stale once the idle timeout (plus a 60 s grace) has passed without a word.
    // Instead of waiting that long, its liveness is moved into the past, as time would.
    const past = Math.floor(Date.now() / 1000) - 1;
    await db.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: connectionKey(silent.connectionId),
        UpdateExpression: 'SET liveUntil = :past, sweepAt = :past',
        ExpressionAttributeValues: { ':past': past },
      }),
    );
    const staleSince = Date.now();
    const silentGoneAt = await removedAt(silent, 'quiet', 5_000);
    expect(silentGoneAt - staleSince).toBeLessThanOrEqual(2 * SWEEP_PERIOD_MS + OBSERVATION_SLACK_MS);

    // Nobody healthy lost anything, nobody else saw anything.
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    await expectOutsidersSawNothing(crowd);
  }, 20_000);
});
