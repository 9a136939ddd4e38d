/**
 * Direct messages from services (PROTOCOL §6): `Detail.user` reaches every connection of that
 * user in the tenant, subscribed or not, as channel `user:{id}` with history; `Detail.connection_id`
 * reaches that one connection, unnumbered, only if it belongs to the event's tenant.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectEveryEventReachesEveryone, Listener } from '../support/faults.js';
import { type RunningStack, startStack } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

let stack: RunningStack;
let bus: EventBridgeClient;
const open: Listener[] = [];

beforeAll(async () => {
  stack = await startStack();
  bus = eventBridge(stack.baseUrl);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((listener) => listener.close()));
});
afterAll(async () => {
  bus?.destroy();
  await stack?.stop();
});

async function listener(sub: string, tenant?: string, channels: string[] = []): Promise<Listener> {
  const opened = await Listener.open(stack, { sub, ...(tenant ? { tenant } : {}) }, channels);
  open.push(opened);
  return opened;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

describe('a message to a user', () => {
  it("reaches every connection of that user in the tenant, subscribed or not, and nobody else's", async () => {
    // Prepare
    const phone = await listener('alice', 'acme');
    const laptop = await listener('alice', 'acme', ['news']);
    const bob = await listener('bob', 'acme', ['news']);
    const otherAlice = await listener('alice', 'beta');
    // Act
    const eventId = await publish(bus, { user: 'alice', tenant: 'acme', data: { note: 'hi' } });
    // Assess
    await expectEveryEventReachesEveryone([phone, laptop], [eventId], 10_000);
    await settle();
    for (const device of [phone, laptop]) {
      expect(device.events.map((e) => [e.channel, e.id, e.seq])).toEqual([['user:alice', eventId, 1]]);
    }
    expect(bob.events).toEqual([]);
    expect(otherAlice.events).toEqual([]);
  });

  it.each([
    ['action', 'gamma'],
    ['type', 'delta'],
  ])(
    'is kept in the history of user:alice, so a client recovers it with since (%s style)',
    async (style, tenant) => {
      // Prepare: a message while alice is away.
      const eventId = await publish(bus, { user: 'alice', tenant, data: 1 });
      await settle();
      const alice = await listener('alice', tenant);
      // Act
      const reply = await alice.client.request(
        { [style]: 'subscribe', channel: 'user:alice', since: 0 },
        'subscribed',
      );
      // Assess
      expect(reply).toMatchObject({ type: 'subscribed', channel: 'user:alice', seq: 1, recovered: true });
      expect(alice.events.map((e) => [e.channel, e.id, e.seq])).toEqual([['user:alice', eventId, 1]]);
    },
  );
});

describe('a message to one connection', () => {
  it('reaches that connection only, unnumbered, on channel connection:{id}', async () => {
    // Prepare
    const target = await listener('carol', 'acme');
    const sameUser = await listener('carol', 'acme');
    // Act
    const eventId = await publish(bus, {
      connection_id: target.connectionId,
      tenant: 'acme',
      data: { cmd: 'reload' },
    });
    // Assess
    await expectEveryEventReachesEveryone([target], [eventId], 10_000);
    await settle();
    expect(target.events).toHaveLength(1);
    expect(target.events[0]).toMatchObject({ channel: `connection:${target.connectionId}`, id: eventId });
    expect(target.events[0]?.seq).toBeUndefined();
    expect(sameUser.events).toEqual([]);
  });

  it('is not posted to a connection of another tenant (nor one without a tenant)', async () => {
    // Prepare
    const victim = await listener('dave', 'beta');
    const plain = await listener('erin');
    // Act
    await publish(bus, { connection_id: victim.connectionId, tenant: 'acme', data: 'forged' });
    await publish(bus, { connection_id: plain.connectionId, tenant: 'acme', data: 'forged' });
    await settle();
    // Assess
    expect(victim.events).toEqual([]);
    expect(plain.events).toEqual([]);
    expect(stack.logs()).toContain('direct message to no connection of its tenant');
  });
});
