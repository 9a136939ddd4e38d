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

  constructor(
    private readonly budget: CallbackBudget,
    private readonly chunk: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when this worker may make one more call. */
  async acquire(): Promise<void> {
    for (;;) {
      const nowMs = this.now();
      const second = Math.floor(nowMs / 1000);
      if (second !== this.second) {
        this.second = second;
        this.left = 0;
      }
      if (this.left > 0) {
        this.left -= 1;
        return;
      }
      const granted = await this.budget.take(this.chunk, nowMs);
      if (Math.floor(this.now() / 1000) !== second) continue;
      if (granted > 0) {
        this.left = granted;
        continue;
      }
      // This second's budget is spent: wait for the next one, with jitter so workers spread out.
      await new Promise((resolve) => setTimeout(resolve, 1000 - (this.now() % 1000) + Math.random() * 50));
    }
  }
}

/** The chunk a worker takes: small enough to share a modest budget, large enough to be cheap. */
export function paceChunk(callbacksPerSecond: number): number {
  return Math.max(1, Math.min(100, Math.floor(callbacksPerSecond / 50)));
}
