/**
 * Faults of the `@connections` Management API: 410 Gone, 429 throttling, 500 errors and requests
 * that time out, played by the local stack's fault plan on the wire, so the real SDK and the real
 * publish function see exactly what API Gateway would send them.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { describe, expect, it } from 'vitest';
import { localCredentials } from '../support/dynamodb.js';
import {
  expectEveryEventReachesEveryone,
  expectOnlyFaithfulDuplicates,
  expectOutsidersSawNothing,
  Listener,
  publishReport,
  publishRetries,
  tableEntriesOf,
  useFaultSuite,
} from '../support/faults.js';
import { publish } from '../support/publisher.js';

const suite = useFaultSuite();

async function subscriber(sub: string, channel: string, tenant = 'acme'): Promise<Listener> {
  const listener = await Listener.open(suite.stack, { sub, tenant }, [channel]);
  return suite.closeAfterTest(listener);
}

describe('the @connections fault plan', () => {
  it('answers 410, 429 and 500 as API Gateway does, so the SDK raises the same exceptions', async () => {
    // Prepare: one connection whose next three posts get 410, 429 and 500, then pass.
    const target = await subscriber('wire', 'wire');
    await suite.faults.set({
      management: [
        { answer: 410, connectionIds: [target.connectionId], first: 1 },
        { answer: 429, connectionIds: [target.connectionId], first: 1 },
        { answer: 500, connectionIds: [target.connectionId], first: 1 },
      ],
    });
    const management = new ApiGatewayManagementApiClient({
      endpoint: `${suite.stack.baseUrl}/ws`,
      region: 'local',
      credentials: localCredentials,
      maxAttempts: 1,
    });
    const post = (text: string) =>
      management
        .send(
          new PostToConnectionCommand({
            ConnectionId: target.connectionId,
            Data: new TextEncoder().encode(text),
          }),
        )
        .then(
          () => 'ok' as const,
          (error: unknown) => error as Error & { $metadata: { httpStatusCode?: number } },
        );
    // Act
    const results = [await post('"one"'), await post('"two"'), await post('"three"'), await post('"four"')];
    management.destroy();
    // Assess
    const [gone, throttled, failed, passed] = results;
    expect(gone).toBeInstanceOf(GoneException);
    expect(throttled).toBeInstanceOf(LimitExceededException);
    expect(failed).toMatchObject({
      name: 'InternalServerErrorException',
      $metadata: { httpStatusCode: 500 },
    });
    expect(passed).toBe('ok');
    // Only the post that passed reached the client (posts are JSON strings here).
    await expect.poll(() => target.client.pending() as unknown[]).toContain('four');
    expect(target.client.pending() as unknown[]).not.toContain('one');
    expect(target.client.pending() as unknown[]).not.toContain('two');
    expect(target.client.pending() as unknown[]).not.toContain('three');
    expect((await suite.faults.state()).requests[target.connectionId]).toEqual([
      '410',
      '429',
      '500',
      'passed',
    ]);
  });

  it('410: the gone connection is forgotten at once and never retried; everyone else gets every event', async () => {
    // Prepare
    const crowd = await suite.audience('gone-news');
    const victim = await subscriber('victim', 'gone-news');
    await suite.faults.set({ management: [{ answer: 410, connectionIds: [victim.connectionId] }] });
    // Act
    const first = await publish(suite.bus, { channel: 'gone-news', tenant: 'acme', data: 1 });
    await expectEveryEventReachesEveryone(crowd.healthy, [first]);
    const second = await publish(suite.bus, { channel: 'gone-news', tenant: 'acme', data: 2 });
    // Assess
    await expectEveryEventReachesEveryone(crowd.healthy, [first, second]);
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    expect(victim.events).toEqual([]);
    // One 410, not retried; the second event no longer even tries the forgotten connection.
    const state = await suite.faults.state();
    expect(state.requests[victim.connectionId]).toEqual(['410']);
    expect(
      await tableEntriesOf(suite.db, suite.stack.tableName, victim.connectionId, [
        { tenant: 'acme', channel: 'gone-news' },
      ]),
    ).toEqual({ connection: false, subscriptions: 0 });
    // The client still holds its socket: it is told to reconnect when it next makes a request
    // (a ping is answered from the message alone, so it learns nothing from one).
    expect(await victim.client.request({ action: 'whoami' }, 'connected')).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    expect(publishRetries(suite.stack, first)).toEqual([]);
    await expectOutsidersSawNothing(crowd);
  });

  it('429: the publisher backs off and slows down, and every subscriber gets every event once', async () => {
    // Prepare: each connection's first three requests are throttled.
    const crowd = await suite.audience('busy', 12);
    await suite.faults.set({ management: [{ answer: 429, first: 3 }] });
    // Act
    const first = await publish(suite.bus, { channel: 'busy', tenant: 'acme', data: 'first' });
    await expectEveryEventReachesEveryone(crowd.healthy, [first]);
    const later = [
      await publish(suite.bus, { channel: 'busy', tenant: 'acme', data: 'second' }),
      await publish(suite.bus, { channel: 'busy', tenant: 'acme', data: 'third' }),
    ];
    // Assess
    await expectEveryEventReachesEveryone(crowd.healthy, [first, ...later]);
    expect(expectOnlyFaithfulDuplicates(crowd.healthy)).toBe(0);
    const state = await suite.faults.state();
    expect(state.counts.management).toMatchObject({ '429': 36, passed: 36 });
    for (const listener of crowd.healthy) {
      expect(state.requests[listener.connectionId]).toEqual([
        '429',
        '429',
        '429',
        'passed',
        'passed',
        'passed',
      ]);
    }
    // The publish function's own report: throttles absorbed, nothing failed, no redelivery.
    await expect
      .poll(() => publishReport(suite.stack, first))
      .toMatchObject({ throttled: 36, deliveries: 12, failed: 0 });
    await expect
      .poll(() => publishReport(suite.stack, later[1] as string))
      .toMatchObject({ throttled: 0, deliveries: 12 });
    expect(publishRetries(suite.stack, first)).toEqual([]);
    await expectOutsidersSawNothing(crowd);
  });

  it('500: the failing connection is retried and gets the event once the fault clears', async () => {
    // Prepare: every request to the victim fails until the fault is cleared.
    const crowd = await suite.audience('flaky');
    const victim = await subscriber('victim-500', 'flaky');
    await suite.faults.set({ management: [{ answer: 500, connectionIds: [victim.connectionId] }] });
    // Act
    const eventId = await publish(suite.bus, { channel: 'flaky', tenant: 'acme', data: 'x' });
    await expectEveryEventReachesEveryone(crowd.healthy, [eventId]);
    await expect.poll(async () => (await suite.faults.state()).counts.management['500']).toBeGreaterThan(0);
    const cleared = await suite.faults.clear();
    // Assess: retried (within the invocation, or by the event bus), then delivered.
    await expectEveryEventReachesEveryone([victim], [eventId], 8_000);
    expect(cleared.counts.management['500']).toBeGreaterThanOrEqual(1);
    const outcomes = (await suite.faults.state()).requests[victim.connectionId] ?? [];
    expect(outcomes.at(-1)).toBe('passed');
    expect(outcomes.slice(0, -1).every((outcome) => outcome === '500')).toBe(true);
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
    expectOnlyFaithfulDuplicates([...crowd.healthy, victim]);
    await expectOutsidersSawNothing(crowd);
  });

  it('timeout: healthy subscribers are not held up, and the hung post is retried within the budget', async () => {
    // Prepare: the victim's first request hangs past the SDK's 5 s request timeout.
    const crowd = await suite.audience('slow');
    const victim = await subscriber('victim-timeout', 'slow');
    await suite.faults.set({
      management: [{ answer: 'timeout', connectionIds: [victim.connectionId], first: 1 }],
    });
    // Act
    const started = Date.now();
    const eventId = await publish(suite.bus, { channel: 'slow', tenant: 'acme', data: 'x' });
    await expectEveryEventReachesEveryone(crowd.healthy, [eventId], 3_000);
    const healthyAfter = Date.now() - started;
    await expectEveryEventReachesEveryone([victim], [eventId], 12_000);
    // Assess
    expect(healthyAfter).toBeLessThan(3_000);
    const state = await suite.faults.state();
    // The SDK gave up on the held request (it was never processed) and core posted again.
    expect(state.requests[victim.connectionId]).toEqual(['timeout:abandoned', 'passed']);
    expect(victim.copies(eventId)).toBe(1);
    expect(expectOnlyFaithfulDuplicates([...crowd.healthy, victim])).toBe(0);
    // Within the invocation's budget: the event bus did not have to retry.
    expect(publishRetries(suite.stack, eventId)).toEqual([]);
    await expectOutsidersSawNothing(crowd);
  }, 30_000);
});
