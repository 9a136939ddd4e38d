import { describe, expect, it } from 'vitest';
import { deliverAll, ThrottledError, TransientDeliveryError } from '../../core/delivery.js';
import type { PostResult } from '../../core/ports.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const targets = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

/** A callback endpoint that answers 429 whenever more than `capacity` posts are in flight. */
function rateLimitedEndpoint(capacity: number) {
  let inFlight = 0;
  const delivered = new Set<string>();
  return {
    delivered,
    async post(target: string): Promise<PostResult> {
      inFlight += 1;
      try {
        await sleep(2);
        if (inFlight > capacity) throw new ThrottledError('429');
        delivered.add(target);
        return 'delivered';
      } finally {
        inFlight -= 1;
      }
    },
  };
}

describe('delivering to many connections', () => {
  it('delivers everything under a callback rate limit by lowering its concurrency', async () => {
    // Prepare
    const endpoint = rateLimitedEndpoint(4);
    // Act
    const report = await deliverAll(targets(200), (t) => endpoint.post(t), {
      maxConcurrency: 32,
      deadline: Date.now() + 20_000,
      backoff: { baseMs: 5, capMs: 100 },
      maxAttempts: 50,
    });
    // Assess
    expect(report.failed).toEqual([]);
    expect(report.delivered).toBe(200);
    expect(endpoint.delivered.size).toBe(200);
    expect(report.throttled).toBeGreaterThan(0);
    expect(report.lowestConcurrency).toBeLessThan(32);
  });

  it('retries transient failures and reports gone connections without retrying them', async () => {
    // Prepare: c0 fails twice then works, c1 is gone.
    const attempts = new Map<string, number>();
    const post = async (t: string): Promise<PostResult> => {
      const n = (attempts.get(t) ?? 0) + 1;
      attempts.set(t, n);
      if (t === 'c1') return 'gone';
      if (t === 'c0' && n <= 2) throw new TransientDeliveryError('500');
      return 'delivered';
    };
    // Act
    const report = await deliverAll(targets(3), post, {
      maxConcurrency: 8,
      deadline: Date.now() + 5000,
      backoff: { baseMs: 1, capMs: 5 },
    });
    // Assess
    expect(report.delivered).toBe(2);
    expect(report.gone).toEqual(['c1']);
    expect(attempts.get('c0')).toBe(3);
    expect(attempts.get('c1')).toBe(1);
    expect(report.retries).toBe(2);
  });

  it('gives up when the time budget runs out, and one failure never stops the others', async () => {
    // Prepare
    const post = async (t: string): Promise<PostResult> => {
      if (t === 'c0') throw new TransientDeliveryError('always 500');
      if (t === 'c1') throw new Error('403 Forbidden: not retryable');
      return 'delivered';
    };
    // Act
    const started = Date.now();
    const report = await deliverAll(targets(10), post, {
      maxConcurrency: 4,
      deadline: started + 300,
      backoff: { baseMs: 50, capMs: 200 },
    });
    // Assess
    expect(report.delivered).toBe(8);
    expect(report.failed.map((f) => f.target).sort()).toEqual(['c0', 'c1']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('hands back the targets whose turn comes after startBy, also when they waited for a slot', async () => {
    // Prepare: one post at a time, 50 ms each, rights given at once; 200 ms to start posts.
    const posted: string[] = [];
    const post = async (t: string): Promise<PostResult> => {
      posted.push(t);
      await sleep(50);
      return 'delivered';
    };
    const started = Date.now();
    // Act
    const report = await deliverAll(targets(20), post, {
      maxConcurrency: 1,
      deadline: started + 200,
      startBy: started + 200,
      pace: async () => {},
    });
    // Assess
    expect(report.delivered).toBe(posted.length);
    expect(report.delivered).toBeLessThan(10);
    expect(report.unstarted).toHaveLength(20 - posted.length);
    expect(report.unstarted.some((t) => posted.includes(t))).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
