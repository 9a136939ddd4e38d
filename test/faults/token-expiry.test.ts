/**
 * Tokens expiring mid-connection. No fault needs injecting: a short token minted by the local
 * console (`POST /local/token`) expires while its connection is open and subscribed, and the
 * sweep (every second here) must close the connection and forget its entries, while a connection
 * that refreshed its token in time stays, and everyone else keeps getting every event.
 */
import { describe, expect, it } from 'vitest';
import {
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  Listener,
  tableEntriesOf,
  useFaultSuite,
} from '../support/faults.js';
import { tokenFor } from '../support/local-stack.js';
import { publish } from '../support/publisher.js';

const SWEEP_PERIOD_MS = 1_000;
/** How late the client may notice the close after the sweep sent it, on a busy two-core machine. */
const OBSERVATION_SLACK_MS = 300;

const suite = useFaultSuite({
  // No fault plan: expiry is ordinary life; only the sweep period is shortened.
  faults: false,
  env: { SWITCHBOARD_SWEEP_INTERVAL_SECONDS: String(SWEEP_PERIOD_MS / 1000) },
});

/** A token from the console's minter, as the test page gets one; `exp` in epoch ms. */
async function mint(sub: string, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
  const response = await fetch(`${suite.stack.baseUrl}/local/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, tenant: 'acme', ttlSeconds }),
  });
  const body = (await response.json()) as { data: { token: string } };
  const token = body.data.token;
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    exp: number;
  };
  return { token, expiresAt: exp * 1000 };
}

describe('a token that expires while its connection is open', () => {
  it('gets the connection closed by the sweep within two periods, its entries removed, and nobody else disturbed', async () => {
    // Prepare: healthy subscribers, one connection with a 3 s token, one that will refresh in time.
    const crowd = await suite.audience('ticking', 3);
    const brief = await mint('brief', 3);
    const expiring = await Listener.connect(suite.stack.websocketUrl, 'brief', brief.token, ['ticking']);
    const renewed = await mint('renewed', 3);
    const refreshing = await Listener.connect(suite.stack.websocketUrl, 'renewed', renewed.token, [
      'ticking',
    ]);
    suite.closeAfterTest(expiring);
    suite.closeAfterTest(refreshing);
    const closed = expiring.client.closed.then((how) => ({ ...how, at: Date.now() }));
    const before = await publish(suite.bus, { channel: 'ticking', tenant: 'acme', data: 'before expiry' });
    await expectEveryEventReachesEveryone([...crowd.healthy, expiring, refreshing], [before]);
    const refreshed = await refreshing.client.request(
      { action: 'refresh', token: await tokenFor({ sub: 'renewed', tenant: 'acme', ttlSeconds: 600 }) },
      'refreshed',
    );
    expect(refreshed).toMatchObject({ type: 'refreshed' });
    // Act: the short token expires.
    const { code, at } = await closed;
    // Assess: closed by the server (1000, as DeleteConnection does) no earlier than the expiry
    // and within two sweep periods of it; its entries are gone.
    expect(code).toBe(1000);
    expect(at).toBeGreaterThanOrEqual(brief.expiresAt - 50);
    expect(at - brief.expiresAt).toBeLessThanOrEqual(2 * SWEEP_PERIOD_MS + OBSERVATION_SLACK_MS);
    await expect
      .poll(
        () =>
          tableEntriesOf(suite.db, suite.stack.tableName, expiring.connectionId, [
            { tenant: 'acme', channel: 'ticking' },
          ]),
        { timeout: 2 * SWEEP_PERIOD_MS, interval: 100 },
      )
      .toEqual({ connection: false, subscriptions: 0 });
    // The refreshed connection outlives its first token by two sweep periods, and still works.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, renewed.expiresAt + 2 * SWEEP_PERIOD_MS - Date.now())),
    );
    expect(await refreshing.client.request({ action: 'ping', id: 'still' }, 'pong')).toMatchObject({
      type: 'pong',
      id: 'still',
    });
    const after = await publish(suite.bus, { channel: 'ticking', tenant: 'acme', data: 'after expiry' });
    await expectEveryEventReachesEveryone([...crowd.healthy, refreshing], [before, after]);
    expect(expiring.ids()).toEqual(new Set([before]));
    expect(expectOnlyFaithfulDuplicates([...crowd.healthy, refreshing])).toBe(0);
    await expectOutsidersSawNothing(crowd);
  }, 20_000);
});
