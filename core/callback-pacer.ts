/**
 * Paces one worker's `@connections` calls by the budget all workers share (`CallbackBudget`).
 * Rights are taken from the shared budget in chunks, so the budget sees one write per chunk, not
 * per call, and are good for the window they were taken in only: a chunk left over when the
 * window ends is dropped, so no worker carries the last window's rights into this one.
 */
import type { CallbackBudget } from './ports.js';

/**
 * The budget is counted per tenth of a second, not per second. API Gateway's quota is a token
 * bucket whose burst is half its rate ("Amazon API Gateway quotas": 10,000 requests per second
 * per account and Region, burst 5,000): workers that spend a whole second's budget the moment
 * the second begins send it as one burst past the bucket, are answered 429, back off, and leave
 * the rest of the second idle (the big-channel bench: 0.63 × the quota, 16,811 calls throttled).
 * A tenth of the budget at a time stays far under the burst and keeps the rate even.
 */
export const BUDGET_WINDOW_MS = 100;
const WINDOWS_PER_SECOND = 1000 / BUDGET_WINDOW_MS;

/** The budget window `nowMs` (epoch ms) falls in. */
export function budgetWindow(nowMs: number): number {
  return Math.floor(nowMs / BUDGET_WINDOW_MS);
}

/**
 * The calls window `window` may grant: a second's windows share `perSecond` as evenly as whole
 * calls allow and sum to it exactly (at 5 a second, every other window grants one).
 */
export function windowRights(perSecond: number, window: number): number {
  const i = ((window % WINDOWS_PER_SECOND) + WINDOWS_PER_SECOND) % WINDOWS_PER_SECOND;
  return (
    Math.floor((perSecond * (i + 1)) / WINDOWS_PER_SECOND) - Math.floor((perSecond * i) / WINDOWS_PER_SECOND)
  );
}

export class CallbackPacer {
  private left = 0;
  private window = -1;
  /**
   * The one take in flight (and, when the budget is spent, the wait for the next window): the
   * worker's concurrent posts share it. Were each of them to ask the budget, a page's posts would
   * send hundreds of writes at once to the budget's item, and each grant would overwrite the last
   * one's rights unused.
   */
  private taking: Promise<void> | undefined;

  constructor(
    private readonly budget: CallbackBudget,
    private readonly chunk: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Resolves true when this worker may make one more call, or false once `until` (epoch ms) has
   * passed without a right: a wait for the next window may end a window after it.
   */
  async acquire(until = Number.POSITIVE_INFINITY): Promise<boolean> {
    for (;;) {
      if (this.now() >= until) return false;
      const window = budgetWindow(this.now());
      if (window !== this.window) {
        this.window = window;
        this.left = 0;
      }
      if (this.left > 0) {
        this.left -= 1;
        return true;
      }
      if (!this.taking) {
        this.taking = this.take(window).finally(() => {
          this.taking = undefined;
        });
      }
      await this.taking;
    }
  }

  private async take(window: number): Promise<void> {
    const granted = await this.budget.take(this.chunk, this.now());
    if (budgetWindow(this.now()) !== window) return;
    if (granted > 0) {
      this.left += granted;
      return;
    }
    // This window's budget is spent: wait for the next one, with jitter so workers spread out.
    const jitter = Math.random() * (BUDGET_WINDOW_MS / 10);
    await new Promise((resolve) =>
      setTimeout(resolve, BUDGET_WINDOW_MS - (this.now() % BUDGET_WINDOW_MS) + jitter),
    );
  }
}

/**
 * The chunk a worker takes: a fifth of a window's rights, so that several workers share a window
 * and the budget's item sees about 50 writes a second (far under a key's 1,000), at most 100.
 */
export function paceChunk(callbacksPerSecond: number): number {
  return Math.max(1, Math.min(100, Math.floor(callbacksPerSecond / 50)));
}

/**
 * Spaces one process's calls at most `perSecond` a second, evenly: for a caller that may take only
 * a share of the shared budget (the sweep), so that it cannot crowd the fan-out out of it.
 */
export class CallSpacing {
  private next = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Waits for the next call's turn; false, reserving nothing, when that turn would come at or
   * after `until` (epoch ms): a caller about to run out of time does not wait past it.
   */
  async wait(until = Number.POSITIVE_INFINITY): Promise<boolean> {
    const now = this.now();
    const at = Math.max(now, this.next);
    if (at >= until) return false;
    this.next = at + 1000 / this.perSecond;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
    return true;
  }
}
