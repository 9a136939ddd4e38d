import { afterEach, describe, expect, it, vi } from 'vitest';
import { budgetWindow, CallbackPacer } from '../../core/callback-pacer.js';
import { runFanoutTask } from '../../core/fanout.js';
import type { ConnectionStore, FanoutTask, SubscriberRecord } from '../../core/ports.js';
import type { Settings } from '../../core/settings.js';
import { coreSettings } from '../support/core-settings.js';
import { memoryBudget } from '../support/memory-budget.js';

const settings = (callbacksPerSecond: number): Settings =>
  coreSettings({
    publishConcurrency: 32,
    rateLimit: { burst: 100, perSecond: 10, closeAfter: 50 },
    fanout: { threshold: 1000, callbacksPerSecond },
  });

afterEach(() => {
  vi.useRealTimers();
});

describe('pacing a fan-out worker by the shared budget', () => {
  it("shares one take between a worker's concurrent posts and loses none of the rights it took", async () => {
    // Prepare: mid-window, so that every take falls in the same window (200 calls a window).
    const budget = memoryBudget(2000);
    const pacer = new CallbackPacer(budget, 10, () => 7_000_550);
    // Act: a page's posts all ask at once.
    const granted = await Promise.all(Array.from({ length: 200 }, () => pacer.acquire()));
    // Assess
    expect(granted.every(Boolean)).toBe(true);
    expect(budget.takes).toBe(20);
    expect(budget.usedIn(budgetWindow(7_000_550))).toBe(200);
  });

  it('spreads a second of calls over its windows, never more than the budget a second', async () => {
    // Prepare: 100 calls a second, four workers' pacers asking as fast as they can for 3 s.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(1_900_000_000_000);
    const budget = memoryBudget(100);
    const calls: number[] = [];
    const worker = async () => {
      const pacer = new CallbackPacer(budget, 2);
      while (await pacer.acquire(1_900_000_003_000)) calls.push(Date.now());
    };
    // Act
    const workers = Promise.all(Array.from({ length: 4 }, worker));
    await vi.advanceTimersByTimeAsync(4_000);
    await workers;
    // Assess: the budget is used whole, and no window takes more than its tenth of it.
    expect([...budget.usedBySecond().values()]).toEqual([100, 100, 100]);
    const byWindow = new Map<number, number>();
    for (const at of calls) byWindow.set(budgetWindow(at), (byWindow.get(budgetWindow(at)) ?? 0) + 1);
    expect(byWindow.size).toBe(30);
    expect(Math.max(...byWindow.values())).toBe(10);
  });

  it('hands on the posts not started when the invocation runs low, for those connections only, at the same try', async () => {
    // Prepare: 150 subscribers, 10 posts a second, 12 s left: about 100 can start before the margin.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const subscribers: SubscriberRecord[] = Array.from({ length: 150 }, (_, i) => ({
      connectionId: `c${i}`,
      identity: { userId: `u${i}`, roles: [], anonymous: false },
    }));
    const posted: string[] = [];
    const queued: FanoutTask[] = [];
    const task: FanoutTask = {
      channel: 'stadium',
      seqs: [1],
      audience: { kind: 'channel', channel: 'stadium', shard: 0, shards: 16 },
    };
    const started = Date.now();
    // Act
    const running = runFanoutTask(task, {
      store: { audiencePage: async () => ({ items: subscribers }) } as unknown as ConnectionStore,
      history: { events: async () => [{ seq: 1, payload: '{}' }] } as never,
      gateway: {
        post: async (connectionId) => {
          posted.push(connectionId);
          return 'delivered';
        },
        close: async () => 'delivered',
      },
      queue: { send: async (tasks) => void queued.push(...tasks) },
      budget: memoryBudget(10),
      settings: settings(10),
      log: { info: () => {}, warn: () => {}, error: () => {} },
      remainingTimeMs: () => 12_000 - (Date.now() - started),
    });
    let finishedAfter = Number.POSITIVE_INFINITY;
    void running.then(() => {
      finishedAfter = Date.now() - started;
    });
    await vi.advanceTimersByTimeAsync(30_000);
    const report = await running;
    // Assess
    expect(finishedAfter).toBeLessThan(12_000);
    expect(report.deliveries).toBe(posted.length);
    expect(report.unstarted).toBe(150 - posted.length);
    expect(report.unstarted).toBeGreaterThan(0);
    expect(report.continued).toBe(true);
    expect(queued).toHaveLength(1);
    const [handedOn] = queued;
    expect(handedOn?.attempt).toBeUndefined();
    expect(handedOn?.seqs).toEqual([1]);
    const rest = new Set(handedOn?.only?.map((s) => s.connectionId));
    expect(rest.size).toBe(report.unstarted);
    expect(posted.some((id) => rest.has(id))).toBe(false);
  });
});
