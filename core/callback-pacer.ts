/**
 * Paces one worker's `@connections` calls by the budget all workers share (`CallbackBudget`).
 * Rights are taken from the shared budget in chunks, so the budget sees one write per chunk, not
 * per call, and are good for the second they were taken in only: a chunk left over when the second
 * ends is dropped, so no worker carries last second's rights into this one.
 */
import type { CallbackBudget } from './ports.js';

export class CallbackPacer {
  private left = 0;
  private second = -1;
  /**
   * The one take in flight (and, when the budget is spent, the wait for the next second): the
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
   * passed without a right: a wait for the next second may end up to about a second after it.
   */
  async acquire(until = Number.POSITIVE_INFINITY): Promise<boolean> {
    for (;;) {
      if (this.now() >= until) return false;
      const second = Math.floor(this.now() / 1000);
      if (second !== this.second) {
        this.second = second;
        this.left = 0;
      }
      if (this.left > 0) {
        this.left -= 1;
        return true;
      }
      if (!this.taking) {
        this.taking = this.take(second).finally(() => {
          this.taking = undefined;
        });
      }
      await this.taking;
    }
  }

  private async take(second: number): Promise<void> {
    const granted = await this.budget.take(this.chunk, this.now());
    if (Math.floor(this.now() / 1000) !== second) return;
    if (granted > 0) {
      this.left += granted;
      return;
    }
    // This second's budget is spent: wait for the next one, with jitter so workers spread out.
    await new Promise((resolve) => setTimeout(resolve, 1000 - (this.now() % 1000) + Math.random() * 50));
  }
}

/** The chunk a worker takes: small enough to share a modest budget, large enough to be cheap. */
export function paceChunk(callbacksPerSecond: number): number {
  return Math.max(1, Math.min(100, Math.floor(callbacksPerSecond / 50)));
}
