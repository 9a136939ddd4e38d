/**
 * What the fault suite (test/faults) needs around a running local stack: the stack with fault
 * injection on, the fault plan's HTTP API, and an audience of real `ws` clients — healthy
 * subscribers plus outsiders who must never see an event (another tenant, no tenant, not
 * subscribed) — with the checks every fault test makes on them.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { channelPartition, connectionKey } from '../../adapters/dynamo-store.js';
import type { FaultPlanInput, FaultState } from '../../local/faults/fault-plan.js';
import { testDocumentClient } from './dynamodb.js';
import { type RunningStack, startStack, type TokenClaims, tokenFor } from './local-stack.js';
import { eventBridge } from './publisher.js';
import { type Message, TestClient } from './ws-client.js';

/** The local stack as `npm start` runs it, plus `SWITCHBOARD_LOCAL_FAULTS=1`. */
export function startFaultStack(env: Record<string, string> = {}): Promise<RunningStack> {
  return startStack({ SWITCHBOARD_LOCAL_FAULTS: '1', ...env });
}

/** `GET` / `PUT` / `DELETE /local/faults`, as a test drives them. */
export class FaultControl {
  constructor(private readonly baseUrl: string) {}

  private async call(method: 'GET' | 'PUT' | 'DELETE', plan?: FaultPlanInput): Promise<FaultState> {
    const response = await fetch(`${this.baseUrl}/local/faults`, {
      method,
      ...(plan === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan) }),
    });
    const body = (await response.json()) as { success: boolean; data?: FaultState };
    if (!response.ok || !body.data) {
      throw new Error(`${method} /local/faults answered ${response.status}: ${JSON.stringify(body)}`);
    }
    return body.data;
  }

  /** Replaces the plan; resolves once it is in force (DynamoDB down, if planned). */
  set(plan: FaultPlanInput): Promise<FaultState> {
    return this.call('PUT', plan);
  }

  /** No faults any more; the counters of the last plan are kept. */
  clear(): Promise<FaultState> {
    return this.call('DELETE');
  }

  state(): Promise<FaultState> {
    return this.call('GET');
  }
}

interface Closable {
  close(): Promise<unknown>;
}

/** What a fault test file shares across its tests; read it inside a test or hook (set by `beforeAll`). */
export interface FaultSuite {
  readonly stack: RunningStack;
  /** The fault plan's API (`faults: false`: the stack has none, and this is not to be used). */
  readonly faults: FaultControl;
  /** An EventBridge client of the stack's local bus, as services publish. */
  readonly bus: EventBridgeClient;
  /** A DynamoDB client of DynamoDB Local, to look at the table. */
  readonly db: ReturnType<typeof testDocumentClient>;
  /** Closed after the test that opened it (once the fault plan is cleared). */
  closeAfterTest<T extends Closable>(closable: T): T;
  /** Closed once the file's tests are done: an audience that several tests share. */
  closeAtEnd<T extends Closable>(closable: T): T;
  /** `gatherAudience` on this stack, closed after the test. */
  audience(channel: string, healthy?: number): Promise<Audience>;
}

/**
 * The set-up and tear-down every file of the fault suite repeats, registered once: a stack
 * (`startFaultStack`, or with `faults: false` the stack as `npm start` runs it), the clients a
 * test drives it with, the plan cleared after each test, and everything opened closed.
 */
export function useFaultSuite(
  options: { readonly env?: Record<string, string>; readonly faults?: boolean } = {},
): FaultSuite {
  const injecting = options.faults !== false;
  let running: { stack: RunningStack; faults: FaultControl; bus: EventBridgeClient } | undefined;
  let db: ReturnType<typeof testDocumentClient> | undefined;
  const afterTest: Closable[] = [];
  const atEnd: Closable[] = [];
  const ready = () => {
    if (!running || !db) throw new Error('the fault suite is read before its beforeAll ran');
    return { ...running, db };
  };

  beforeAll(async () => {
    const stack = injecting ? await startFaultStack(options.env) : await startStack(options.env);
    running = { stack, faults: new FaultControl(stack.baseUrl), bus: eventBridge(stack.baseUrl) };
    db = testDocumentClient();
  });
  afterEach(async () => {
    if (injecting) await running?.faults.clear();
    await Promise.all(afterTest.splice(0).map((closable) => closable.close()));
  });
  afterAll(async () => {
    await Promise.all(atEnd.splice(0).map((closable) => closable.close()));
    running?.bus.destroy();
    db?.destroy();
    await running?.stack.stop();
  });

  const suite: FaultSuite = {
    get stack() {
      return ready().stack;
    },
    get faults() {
      return ready().faults;
    },
    get bus() {
      return ready().bus;
    },
    get db() {
      return ready().db;
    },
    closeAfterTest(closable) {
      afterTest.push(closable);
      return closable;
    },
    closeAtEnd(closable) {
      atEnd.push(closable);
      return closable;
    },
    async audience(channel, healthy = 3) {
      return suite.closeAfterTest(await gatherAudience(suite.stack, { channel, healthy }));
    },
  };
  return suite;
}

export type EventMessage = Message & { type: 'event'; id: string; channel: string; seq: number };

/** A `ws` client that records every `event` it receives. */
export class Listener {
  readonly events: EventMessage[] = [];

  private constructor(
    readonly name: string,
    readonly client: TestClient,
    readonly connectionId: string,
  ) {
    client.socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Message;
      if (message.type === 'event') this.events.push(message as EventMessage);
    });
  }

  /** Connects with `token`, learns its connection id and subscribes to `channels`. */
  static async connect(url: string, name: string, token: string, channels: readonly string[] = []) {
    const client = await TestClient.connect(url, { token });
    const who = await client.request({ action: 'whoami' }, 'connected');
    if (typeof who.connectionId !== 'string')
      throw new Error(`${name}: no connectionId in ${JSON.stringify(who)}`);
    const listener = new Listener(name, client, who.connectionId);
    for (const channel of channels) await listener.subscribe(channel);
    return listener;
  }

  /** Connects with a token for `claims` (see `tokenFor`). */
  static async open(stack: RunningStack, claims: TokenClaims, channels: readonly string[] = []) {
    return Listener.connect(stack.websocketUrl, claims.sub, await tokenFor(claims), channels);
  }

  async subscribe(channel: string): Promise<void> {
    const reply = await this.client.request({ action: 'subscribe', channel }, 'subscribed');
    if (reply.type !== 'subscribed')
      throw new Error(`${this.name} could not subscribe: ${JSON.stringify(reply)}`);
  }

  /** The distinct event ids received. */
  ids(): Set<string> {
    return new Set(this.events.map((event) => event.id));
  }

  /** How many times this event arrived. */
  copies(eventId: string): number {
    return this.events.filter((event) => event.id === eventId).length;
  }

  close(): Promise<unknown> {
    return this.client.close();
  }
}

/** Healthy subscribers of one channel in one tenant, and outsiders who must see nothing of it. */
export interface Audience {
  readonly channel: string;
  readonly tenant: string;
  readonly healthy: readonly Listener[];
  /** Same channel name in another tenant, same channel name without a tenant, same tenant but not subscribed. */
  readonly outsiders: readonly Listener[];
  close(): Promise<void>;
}

export async function gatherAudience(
  stack: RunningStack,
  options: { readonly channel: string; readonly tenant?: string; readonly healthy?: number },
): Promise<Audience> {
  const { channel } = options;
  const tenant = options.tenant ?? 'acme';
  const healthy = await Promise.all(
    Array.from({ length: options.healthy ?? 3 }, (_, i) =>
      Listener.open(stack, { sub: `healthy-${i}`, tenant }, [channel]),
    ),
  );
  const outsiders = await Promise.all([
    Listener.open(stack, { sub: 'other-tenant', tenant: `${tenant}-rival` }, [channel]),
    Listener.open(stack, { sub: 'no-tenant' }, [channel]),
    Listener.open(stack, { sub: 'not-subscribed', tenant }, [`${channel}.elsewhere`]),
  ]);
  return {
    channel,
    tenant,
    healthy,
    outsiders,
    async close() {
      await Promise.all([...healthy, ...outsiders].map((listener) => listener.close()));
    },
  };
}

/** Every listener receives every event (at least once) within `timeoutMs`. */
export async function expectEveryEventReachesEveryone(
  listeners: readonly Listener[],
  eventIds: readonly string[],
  timeoutMs = 10_000,
): Promise<void> {
  await expect
    .poll(
      () =>
        listeners
          .map((listener) => ({
            name: listener.name,
            missing: eventIds.filter((id) => !listener.ids().has(id)),
          }))
          .filter((entry) => entry.missing.length > 0),
      { timeout: timeoutMs, interval: 50 },
    )
    .toEqual([]);
}

/**
 * Any duplicate is a redelivery of the same event: same `id`, `channel` and `seq` (and the same
 * payload). Returns how many extra copies there were across the listeners.
 */
export function expectOnlyFaithfulDuplicates(listeners: readonly Listener[]): number {
  let extra = 0;
  for (const listener of listeners) {
    const byId = new Map<string, EventMessage[]>();
    for (const event of listener.events) {
      const key = `${event.channel}#${event.id}`;
      byId.set(key, [...(byId.get(key) ?? []), event]);
    }
    for (const copies of byId.values()) {
      const [first, ...rest] = copies;
      extra += rest.length;
      for (const copy of rest) {
        expect(
          { seq: copy.seq, data: copy.data, event_type: copy.event_type },
          `${listener.name}: a copy of ${first?.id} differs`,
        ).toEqual({ seq: first?.seq, data: first?.data, event_type: first?.event_type });
      }
    }
    // Distinct events of one channel never share a seq.
    const seqs = [...byId.values()].map((copies) => `${copies[0]?.channel}#${copies[0]?.seq}`);
    expect(new Set(seqs).size, `${listener.name}: two events with one seq`).toBe(seqs.length);
  }
  return extra;
}

/** After `graceMs` (for anything late), no outsider has received a single event. */
export async function expectOutsidersSawNothing(audience: Audience, graceMs = 300): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  expect(audience.outsiders.map((listener) => ({ name: listener.name, events: listener.events }))).toEqual(
    audience.outsiders.map((listener) => ({ name: listener.name, events: [] })),
  );
}

/** What the table holds about a connection: its entry and its subscription entries. */
export async function tableEntriesOf(
  db: ReturnType<typeof testDocumentClient>,
  tableName: string,
  connectionId: string,
  subscriptions: readonly { readonly tenant?: string; readonly channel: string }[],
): Promise<{ connection: boolean; subscriptions: number }> {
  const { Item } = await db.send(
    new GetCommand({ TableName: tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
  );
  let count = 0;
  for (const { tenant, channel } of subscriptions) {
    const { Items } = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': channelPartition(tenant, channel), ':sk': connectionId },
        ConsistentRead: true,
      }),
    );
    count += Items?.length ?? 0;
  }
  return { connection: Item !== undefined, subscriptions: count };
}

/** The local stack's log lines about the event bus retrying this event's publish. */
export function publishRetries(stack: RunningStack, eventId: string): string[] {
  return stack
    .logs()
    .split('\n')
    .filter((line) => line.includes(`publish of event ${eventId} failed`));
}

/** The publish function's `events published` report of the batch that held this event (Powertools JSON), if logged. */
export function publishReport(stack: RunningStack, eventId: string): Record<string, unknown> | undefined {
  for (const line of stack.logs().split('\n')) {
    if (!line.includes('"events published"') || !line.includes(eventId)) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      // Not a whole JSON line (interleaved output): keep looking.
    }
  }
  return undefined;
}
