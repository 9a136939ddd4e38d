/**
 * Posting one message to many connections, the way the Management API wants to be called:
 * - 429 (throttled) and 5xx are retried with full-jitter exponential backoff, as long as the
 *   invocation's time budget allows;
 * - concurrency adapts (additive increase, multiplicative decrease) so that under a callback rate
 *   limit, or an overloaded endpoint (5xx, timeouts), the publisher slows down instead of failing;
 * - one failed post never stops the others.
 */
import type { PostResult } from './ports.js';

/**
 * The longest one `@connections` post may take before it fails as a timeout (the Management API
 * client's request timeout, `adapters/aws-clients.ts`). The time kept back at the end of an
 * invocation must cover it: a post may start at the last allowed moment.
 */
export const POST_REQUEST_TIMEOUT_MS = 5_000;

/** The Management API throttled the call (HTTP 429): slow down and retry. */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
}

/** The Management API failed in a way worth retrying (HTTP 5xx, a timeout, a reset connection). */
export class TransientDeliveryError extends Error {
  override readonly name = 'TransientDeliveryError';
}

export interface DeliveryOptions {
  /** The most posts in flight. */
  readonly maxConcurrency: number;
  /** Epoch ms after which no new attempt starts (the invocation's budget, minus a margin). */
  readonly deadline: number;
  /** Backoff base and cap, in ms. @default 50 / 2000 */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  /** Attempts per connection. @default 8 */
  readonly maxAttempts?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  /** A limit shared with other deliveries. @default a new one of `maxConcurrency` */
  readonly limit?: AdaptiveLimit;
  /** Waits for the right to make one more call (a callbacks-per-second budget). @default none */
  readonly pace?: () => Promise<unknown>;
  /**
   * Epoch ms after which no target gets its first attempt: those are returned in `unstarted`, for
   * the caller to hand on. Paced posts can wait long for their turn, and without this they would
   * all be tried, however late. @default none: every target is tried
   */
  readonly startBy?: number;
}

export interface DeliveryReport<T> {
  readonly delivered: number;
  readonly gone: readonly T[];
  readonly failed: readonly { readonly target: T; readonly error: unknown }[];
  /** Targets never tried because `startBy` had passed. */
  readonly unstarted: readonly T[];
  readonly throttled: number;
  readonly retries: number;
  /** The lowest concurrency the limiter fell to (equal to the maximum when never throttled). */
  readonly lowestConcurrency: number;
}

/**
 * A counting semaphore whose size follows AIMD. One limit can be shared by several `deliverAll`
 * calls (publish shares one across every channel of a batch), so together they back off.
 */
export class AdaptiveLimit {
  private active = 0;
  private waiting: Array<() => void> = [];
  private lastDecrease = 0;
  limit: number;
  lowest: number;

  constructor(
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = max;
    this.lowest = max;
  }

  async acquire(): Promise<void> {
    if (this.active < Math.floor(this.limit)) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Frees a slot: `unused` when no call was made with it (the limit stays as it is). */
  release(outcome: 'ok' | 'throttled' | 'unused'): void {
    if (outcome === 'ok') {
      this.limit = Math.min(this.max, this.limit + 1 / this.limit);
    } else if (outcome === 'throttled' && this.now() - this.lastDecrease > 100) {
      // One decrease per burst of throttles: they arrive together, and each halving would compound.
      this.limit = Math.max(1, this.limit / 2);
      this.lowest = Math.min(this.lowest, Math.floor(this.limit));
      this.lastDecrease = this.now();
    }
    this.active -= 1;
    while (this.active < Math.floor(this.limit) && this.waiting.length > 0) {
      this.active += 1;
      this.waiting.shift()?.();
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function deliverAll<T>(
  targets: readonly T[],
  post: (target: T) => Promise<PostResult>,
  options: DeliveryOptions,
): Promise<DeliveryReport<T>> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const { baseMs, capMs } = options.backoff ?? { baseMs: 50, capMs: 2000 };
  const maxAttempts = options.maxAttempts ?? 8;
  const limit = options.limit ?? new AdaptiveLimit(options.maxConcurrency, now);
  const report = {
    delivered: 0,
    gone: [] as T[],
    failed: [] as { target: T; error: unknown }[],
    unstarted: [] as T[],
    throttled: 0,
    retries: 0,
  };

  const deliverOne = async (target: T) => {
    for (let attempt = 0; ; attempt++) {
      // The slot first, then the right to call: a right is used as soon as it is given, so the
      // calls of a second keep to its budget, and no call waits for a slot behind rights taken
      // long ago (when posting is slower than the budget, they would pile up past `startBy`).
      await limit.acquire();
      try {
        await options.pace?.();
      } catch (error) {
        limit.release('unused');
        throw error;
      }
      if (attempt === 0 && options.startBy !== undefined && now() >= options.startBy) {
        limit.release('unused');
        report.unstarted.push(target);
        return;
      }
      let outcome: 'ok' | 'throttled' = 'ok';
      let retryable: unknown;
      try {
        const result = await post(target);
        if (result === 'delivered') report.delivered += 1;
        else report.gone.push(target);
        return;
      } catch (error) {
        if (error instanceof ThrottledError) {
          outcome = 'throttled';
          report.throttled += 1;
          retryable = error;
        } else if (error instanceof TransientDeliveryError) {
          // 5xx and timeouts usually mean an overloaded endpoint too: back off the same way.
          outcome = 'throttled';
          retryable = error;
        } else {
          report.failed.push({ target, error });
          return;
        }
      } finally {
        limit.release(outcome);
      }
      const delay = random() * Math.min(capMs, baseMs * 2 ** attempt);
      if (attempt + 1 >= maxAttempts || now() + delay >= options.deadline) {
        report.failed.push({ target, error: retryable });
        return;
      }
      report.retries += 1;
      await sleep(delay);
    }
  };

  await Promise.all(targets.map(deliverOne));
  return { ...report, lowestConcurrency: limit.lowest };
}
