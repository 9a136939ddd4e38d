/**
 * The sweep's decisions, with a store and an API Gateway of stand-ins: what is closed, what is
 * forgotten, what is left alone, and that liveness is read from API Gateway, never written.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { budgetWindow } from '../../core/callback-pacer.js';
import { ThrottledError } from '../../core/delivery.js';
import type {
  ConnectionGateway,
  ConnectionRecord,
  ConnectionStatus,
  ConnectionStatusSource,
  ConnectionStore,
  SweepEntry,
} from '../../core/ports.js';
import { CONNECT_GRACE_SECONDS, SWEEP_SHARE, sweep } from '../../core/sweep.js';
import { HANDLERS } from '../../lambdas/handlers.js';
import { memoryBudget } from '../support/memory-budget.js';

const NOW = 1_800_000_000;

function record(connectionId: string, parts: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId,
    identity: { userId: connectionId, roles: [], anonymous: false },
    connectedAt: NOW - 600,
    tokenExpiresAt: NOW + 3600,
    endsAt: NOW + 6000,
    channels: [],
    ...parts,
  };
}

const SETTINGS = { idleTimeoutSeconds: 600, fanout: { callbacksPerSecond: 4000 } };

function world(
  connections: ConnectionRecord[],
  statuses: Record<string, ConnectionStatus | Error | (() => ConnectionStatus)>,
  {
    settings = SETTINGS,
    now = () => NOW * 1000,
    remainingTimeMs,
  }: { settings?: typeof SETTINGS; now?: () => number; remainingTimeMs?: () => number } = {},
) {
  const removed: string[] = [];
  const closed: string[] = [];
  const asked: string[] = [];
  /** When each `@connections` call was made (epoch ms). */
  const calls: number[] = [];
  const byId = new Map(connections.map((c) => [c.connectionId, c]));
  const store = {
    async *sweepEntries(): AsyncIterable<SweepEntry> {
      for (const c of connections)
        yield { connectionId: c.connectionId, dueAt: Math.min(c.tokenExpiresAt, c.endsAt) };
    },
    getConnection: async (id: string) => byId.get(id),
    removeConnection: async (id: string) => {
      removed.push(id);
    },
  } as unknown as ConnectionStore;
  const gateway: ConnectionGateway & ConnectionStatusSource = {
    post: async () => 'delivered',
    close: async (id) => {
      calls.push(now());
      closed.push(id);
      return 'delivered';
    },
    status: async (id) => {
      calls.push(now());
      asked.push(id);
      const status = statuses[id] ?? { lastActiveAt: NOW - 30 };
      if (status instanceof Error) throw status;
      return typeof status === 'function' ? status() : status;
    },
  };
  const budget = memoryBudget(settings.fanout.callbacksPerSecond);
  const warnings: string[] = [];
  const errors: string[] = [];
  const log = {
    info: () => {},
    warn: (message: string) => void warnings.push(message),
    error: (message: string) => void errors.push(message),
  };
  const run = () =>
    sweep({ store, gateway, budget, settings, log, now, ...(remainingTimeMs ? { remainingTimeMs } : {}) });
  return { run, removed, closed, asked, calls, budget, warnings, errors };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the sweep', () => {
  it("judges a 410 only once the connection's $connect must have returned", () => {
    expect(CONNECT_GRACE_SECONDS).toBeGreaterThan(HANDLERS.connect.timeoutSeconds);
  });

  it('closes expired tokens, forgets what API Gateway no longer has, and leaves the living alone', async () => {
    // Prepare
    const w = world(
      [
        record('alive'),
        record('expired', { tokenExpiresAt: NOW - 1 }),
        record('lost'),
        record('young', { connectedAt: NOW - CONNECT_GRACE_SECONDS + 5 }),
        record('stuck'),
        record('failing'),
      ],
      {
        lost: 'gone',
        young: 'gone',
        stuck: { lastActiveAt: NOW - 600 - 61 },
        failing: new Error('timeout'),
      },
    );
    // Act
    const report = await w.run();
    // Assess
    expect(report).toEqual({
      examined: 6,
      closedExpired: 1,
      removedSilent: 2,
      failed: 1,
      throttled: 0,
      outOfTime: false,
    });
    expect(w.closed.sort()).toEqual(['expired', 'stuck']);
    expect(w.removed.sort()).toEqual(['expired', 'lost', 'stuck']);
    // An expired token is closed on the index's word; every other connection is asked.
    expect(w.asked.sort()).toEqual(['alive', 'failing', 'lost', 'stuck', 'young']);
  });

  it('asks API Gateway about a connection the index has due but a refresh extended', async () => {
    // Prepare: the index still says due (eventually consistent), the item says refreshed.
    const refreshed = record('refreshed');
    const w = world([refreshed], {});
    const store = {
      async *sweepEntries(): AsyncIterable<SweepEntry> {
        yield { connectionId: 'refreshed', dueAt: NOW - 5 };
      },
      getConnection: async () => refreshed,
      removeConnection: async () => {},
    } as unknown as ConnectionStore;
    // Act
    const report = await sweep({
      store,
      gateway: {
        post: async () => 'delivered',
        close: async () => 'delivered',
        status: async () => ({ lastActiveAt: NOW }),
      },
      budget: memoryBudget(4000),
      settings: SETTINGS,
      log: { info: () => {}, warn: () => {}, error: () => {} },
      now: () => NOW * 1000,
    });
    // Assess
    expect(report).toEqual({
      examined: 1,
      closedExpired: 0,
      removedSilent: 0,
      failed: 0,
      throttled: 0,
      outOfTime: false,
    });
    expect(w.removed).toEqual([]);
  });

  it("takes every call's right from the shared budget, and no more than its share of it", async () => {
    // Prepare: 100 connections, two of them to close, against a budget of 40 calls a second, so
    // the sweep's share is 10 a second; the clock is the test's.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(NOW * 1000);
    const connections = Array.from({ length: 100 }, (_, i) => record(`c${i}`));
    const w = world(
      connections,
      { c1: { lastActiveAt: NOW - 600 - 61 }, c2: { lastActiveAt: NOW - 600 - 61 } },
      { settings: { idleTimeoutSeconds: 600, fanout: { callbacksPerSecond: 40 } }, now: Date.now },
    );
    // Act
    const running = w.run();
    await vi.advanceTimersByTimeAsync(20_000);
    const report = await running;
    // Assess: 102 calls (100 GETs, 2 closes), each with a right of the budget.
    expect(report.examined).toBe(100);
    expect(w.calls).toHaveLength(102);
    expect(w.budget.granted()).toBeGreaterThanOrEqual(102);
    // At most the share (40 × SWEEP_SHARE) in any second, and in any window its tenth of it or less.
    const share = 40 * SWEEP_SHARE;
    const bySecond = new Map<number, number>();
    for (const at of w.calls)
      bySecond.set(Math.floor(at / 1000), (bySecond.get(Math.floor(at / 1000)) ?? 0) + 1);
    expect(Math.max(...bySecond.values())).toBeLessThanOrEqual(share);
    const byWindow = new Map<number, number>();
    for (const at of w.calls) byWindow.set(budgetWindow(at), (byWindow.get(budgetWindow(at)) ?? 0) + 1);
    expect(Math.max(...byWindow.values())).toBeLessThanOrEqual(Math.ceil(40 / 10));
    // So the run took about 102 / 10 s.
    expect(Math.max(...w.calls) - Math.min(...w.calls)).toBeGreaterThanOrEqual(9_000);
  });

  it('stops starting calls when its invocation runs low, leaving out the entries due last', async () => {
    // Prepare: 100 connections in the index's order, 10 calls a second for the sweep, and an
    // invocation with 15 s left: calls may start for 5 s (10 s are kept back).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(NOW * 1000);
    const started = Date.now();
    const connections = Array.from({ length: 100 }, (_, i) => record(`c${i}`));
    const w = world(
      connections,
      {},
      {
        settings: { idleTimeoutSeconds: 600, fanout: { callbacksPerSecond: 40 } },
        now: Date.now,
        remainingTimeMs: () => 15_000 - (Date.now() - started),
      },
    );
    // Act
    const running = w.run();
    await vi.advanceTimersByTimeAsync(20_000);
    const report = await running;
    // Assess: out of time, no call past the margin, and those asked are the first in due order.
    expect(report.outOfTime).toBe(true);
    expect(w.asked.length).toBeGreaterThan(0);
    expect(w.asked.length).toBeLessThan(100);
    expect(Math.max(...w.calls)).toBeLessThan(started + 5_000);
    expect(w.asked).toEqual(connections.slice(0, w.asked.length).map((c) => c.connectionId));
  });

  it('tries a call again after a 429, and leaves one still refused for the next run without an error', async () => {
    // Prepare: one connection throttled once, one throttled every time.
    let flakyTries = 0;
    const w = world([record('flaky'), record('busy'), record('calm')], {
      flaky: () => {
        flakyTries += 1;
        if (flakyTries === 1) throw new ThrottledError('callback rate limit');
        return { lastActiveAt: NOW - 30 };
      },
      busy: new ThrottledError('callback rate limit'),
    });
    // Act
    const report = await w.run();
    // Assess
    expect(flakyTries).toBe(2);
    expect(w.asked.filter((id) => id === 'busy')).toHaveLength(3);
    expect(report).toMatchObject({ examined: 3, failed: 0, throttled: 1, removedSilent: 0 });
    expect(w.errors).toEqual([]);
    expect(w.warnings).toHaveLength(1);
  });

  it('takes a fraction of a small budget: one call in four seconds of a budget of one a second', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(NOW * 1000);
    const w = world(
      Array.from({ length: 3 }, (_, i) => record(`c${i}`)),
      {},
      { settings: { idleTimeoutSeconds: 600, fanout: { callbacksPerSecond: 1 } }, now: Date.now },
    );
    // Act
    const running = w.run();
    await vi.advanceTimersByTimeAsync(20_000);
    await running;
    // Assess: 4 s apart (a quarter of a call a second), less up to a second of waiting for the
    // one window of each second that grants the budget's one call.
    const [first = 0, second = 0, third = 0] = w.calls;
    expect(w.calls).toHaveLength(3);
    expect(second - first).toBeGreaterThanOrEqual(3_000);
    expect(third - second).toBeGreaterThanOrEqual(3_000);
    expect(third - first).toBeGreaterThanOrEqual(7_000);
  });

  it('ends before its invocation does, also at a budget of one call a second', async () => {
    // Prepare: 2,000 connections, a quarter of a call a second, 120 s left.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(NOW * 1000);
    const started = Date.now();
    const w = world(
      Array.from({ length: 2000 }, (_, i) => record(`c${i}`)),
      {},
      {
        settings: { idleTimeoutSeconds: 600, fanout: { callbacksPerSecond: 1 } },
        now: Date.now,
        remainingTimeMs: () => 120_000 - (Date.now() - started),
      },
    );
    // Act
    let endedAt = Number.POSITIVE_INFINITY;
    const running = w.run().then((report) => {
      endedAt = Date.now();
      return report;
    });
    await vi.advanceTimersByTimeAsync(300_000);
    const report = await running;
    // Assess: done before the end, and what it counts as examined is what it asked about.
    expect(endedAt).toBeLessThan(started + 120_000);
    expect(report.outOfTime).toBe(true);
    expect(report.examined).toBe(w.asked.length);
  });

  it('lets no call run on when reading the index fails', async () => {
    // Prepare: the index fails after 40 entries, while calls are in flight.
    let inFlight = 0;
    const store = {
      async *sweepEntries(): AsyncIterable<SweepEntry> {
        for (let i = 0; i < 40; i++) yield { connectionId: `c${i}`, dueAt: NOW + 3600 };
        throw new Error('ProvisionedThroughputExceededException');
      },
    } as unknown as ConnectionStore;
    const gateway: ConnectionGateway & ConnectionStatusSource = {
      post: async () => 'delivered',
      close: async () => 'delivered',
      status: async () => {
        inFlight += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight -= 1;
        return { lastActiveAt: NOW - 30 };
      },
    };
    // Act
    const outcome = sweep({
      store,
      gateway,
      budget: memoryBudget(4000),
      settings: SETTINGS,
      log: { info: () => {}, warn: () => {}, error: () => {} },
    }).then(
      () => 'resolved',
      () => inFlight,
    );
    // Assess: it fails, and only once no call is running any more.
    expect(await outcome).toBe(0);
  });
});
