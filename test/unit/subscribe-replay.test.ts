/**
 * The budgets of a replay (PROTOCOL §4): a `subscribe` with `since` posts at most
 * `REPLAY_MAX_EVENTS`, stops early when the invocation runs short of time, and then answers
 * `subscribed` with `next`, the last `seq` replayed, from which a new `subscribe` continues.
 * Core only, against in-memory ports.
 */
import { describe, expect, it } from 'vitest';
import type { TokenVerifier } from '../../core/identity.js';
import { handleClientMessage, type MessageDeps, REPLAY_MAX_EVENTS } from '../../core/messages.js';
import type {
  ChannelHistory,
  ConnectionGateway,
  ConnectionRecord,
  ConnectionStore,
  ReplayResult,
} from '../../core/ports.js';
import { coreSettings } from '../support/core-settings.js';

const NOW_MS = Date.UTC(2026, 10, 21, 12);
const now = Math.floor(NOW_MS / 1000);

const connection: ConnectionRecord = {
  connectionId: 'c1',
  identity: { userId: 'reader', roles: [], anonymous: false },
  connectedAt: now,
  tokenExpiresAt: now + 3600,
  endsAt: now + 7200,
  channels: [],
};

/** A channel holding events 1..`latest`, of which those from `oldest` on are still retained. */
class FakeHistory implements ChannelHistory {
  readonly limits: Array<number | undefined> = [];
  constructor(
    private readonly latest: number,
    private readonly oldest = 1,
  ) {}

  append(): never {
    throw new Error('not used');
  }

  events(): never {
    throw new Error('not used');
  }

  async current(): Promise<number> {
    return this.latest;
  }

  async replay(
    _tenant: string | undefined,
    _channel: string,
    after: number,
    upTo: number,
    _now: number,
    limit?: number,
  ): Promise<ReplayResult> {
    this.limits.push(limit);
    if (after >= upTo) return { events: [], complete: after === upTo, settled: after, more: false };
    const events = [];
    for (let seq = Math.max(after + 1, this.oldest); seq <= upTo && events.length < (limit ?? upTo); seq++)
      events.push({ seq, payload: JSON.stringify({ type: 'event', seq }) });
    const last = events.at(-1)?.seq ?? upTo;
    return { events, complete: events[0]?.seq === after + 1, settled: last, more: last < upTo };
  }
}

/** Records what is posted; each post spends `msPerPost` of the invocation's `remainingMs`. */
class FakeGateway implements ConnectionGateway {
  readonly posted: number[] = [];
  constructor(
    public remainingMs = Number.POSITIVE_INFINITY,
    private readonly msPerPost = 0,
  ) {}

  async post(_connectionId: string, data: string): Promise<'delivered'> {
    this.posted.push(Number((JSON.parse(data) as { seq: number }).seq));
    this.remainingMs -= this.msPerPost;
    return 'delivered';
  }

  async close(): Promise<'delivered'> {
    return 'delivered';
  }
}

function depsFor(history: ChannelHistory, gateway: FakeGateway) {
  const store = {
    getConnection: async () => connection,
    recordMessage: async () => 'recorded' as const,
    addSubscription: async () => 'added' as const,
  } as unknown as ConnectionStore;
  const deps: MessageDeps = {
    store,
    history,
    gateway,
    verifier: {} as TokenVerifier,
    settings: coreSettings({ rateLimit: { burst: 1000, perSecond: 1000, closeAfter: 1000 } }),
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now: () => NOW_MS,
    remainingTimeMs: () => gateway.remainingMs,
  };
  return deps;
}

const subscribe = (deps: MessageDeps, since: number) =>
  handleClientMessage(
    {
      connectionId: 'c1',
      body: JSON.stringify({ action: 'subscribe', channel: 'orders', since }),
      isBase64Encoded: false,
    },
    deps,
  );

describe('the size budget of a replay', () => {
  it('replays at most REPLAY_MAX_EVENTS per subscribe and answers next, and following next ends with every event once', async () => {
    // Prepare
    const history = new FakeHistory(250);
    const gateway = new FakeGateway();
    const deps = depsFor(history, gateway);

    // Act
    const replies = [];
    let since: number | undefined = 0;
    while (since !== undefined) {
      const reply = await subscribe(deps, since);
      replies.push(reply);
      since = reply.type === 'subscribed' ? reply.next : undefined;
    }

    // Assess
    expect(REPLAY_MAX_EVENTS).toBe(100);
    expect(replies).toMatchObject([
      { type: 'subscribed', channel: 'orders', seq: 250, recovered: true, next: 100 },
      { type: 'subscribed', seq: 250, recovered: true, next: 200 },
      { type: 'subscribed', seq: 250, recovered: true },
    ]);
    expect(replies[2]).not.toHaveProperty('next');
    expect(gateway.posted).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(history.limits).toEqual([100, 100, 100]);
  });

  it('answers without next when the size budget ends exactly at the latest event', async () => {
    // Prepare
    const gateway = new FakeGateway();
    const deps = depsFor(new FakeHistory(REPLAY_MAX_EVENTS), gateway);

    // Act
    const reply = await subscribe(deps, 0);

    // Assess
    expect(reply).toMatchObject({ type: 'subscribed', seq: REPLAY_MAX_EVENTS, recovered: true });
    expect(reply).not.toHaveProperty('next');
    expect(gateway.posted).toHaveLength(REPLAY_MAX_EVENTS);
  });

  it('says recovered: false on the reply whose first events were no longer retained, and true on its continuation', async () => {
    // Prepare: events 1..50 are past retention.
    const gateway = new FakeGateway();
    const deps = depsFor(new FakeHistory(250, 51), gateway);

    // Act
    const first = await subscribe(deps, 0);
    const second = await subscribe(deps, 150);

    // Assess
    expect(first).toMatchObject({ type: 'subscribed', seq: 250, recovered: false, next: 150 });
    expect(second).toMatchObject({ type: 'subscribed', seq: 250, recovered: true });
    expect(second).not.toHaveProperty('next');
    expect(gateway.posted).toEqual(Array.from({ length: 200 }, (_, i) => i + 51));
  });
});

describe('the time budget of a replay', () => {
  it('stops posting once less than the margin is left, and answers next with the last seq posted', async () => {
    // Prepare: 3.5 s left, and each post takes 200 ms of it.
    const gateway = new FakeGateway(3_500, 200);
    const deps = depsFor(new FakeHistory(50), gateway);

    // Act
    const reply = await subscribe(deps, 10);

    // Assess: 3.3, 3.1, then 2.9 s left, under the 3 s margin.
    expect(gateway.posted).toEqual([11, 12, 13]);
    expect(reply).toMatchObject({ type: 'subscribed', seq: 50, recovered: true, next: 13 });
  });

  it('still posts one event when no time is left, so that following next always ends', async () => {
    // Prepare
    const gateway = new FakeGateway(0);
    const deps = depsFor(new FakeHistory(5), gateway);

    // Act
    const reply = await subscribe(deps, 0);

    // Assess
    expect(gateway.posted).toEqual([1]);
    expect(reply).toMatchObject({ type: 'subscribed', seq: 5, next: 1 });
  });

  it('answers without next when the time budget stops it after the last event', async () => {
    // Prepare
    const gateway = new FakeGateway(3_100, 200);
    const deps = depsFor(new FakeHistory(2), gateway);

    // Act
    const reply = await subscribe(deps, 1);

    // Assess
    expect(gateway.posted).toEqual([2]);
    expect(reply).toMatchObject({ type: 'subscribed', seq: 2, recovered: true });
    expect(reply).not.toHaveProperty('next');
  });
});
