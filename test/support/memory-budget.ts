/**
 * The callback budget with the table adapter's arithmetic (`adapters/dynamo-callback-budget.ts`:
 * a window's share of the budget, granted whole or in part, a take after it is spent gets 0), in
 * memory, counting its takes and what each window granted.
 */
import { BUDGET_WINDOW_MS, budgetWindow, windowRights } from '../../core/callback-pacer.js';
import type { CallbackBudget } from '../../core/ports.js';

export function memoryBudget(perSecond: number) {
  const used = new Map<number, number>();
  const budget = {
    takes: 0,
    async take(n: number, nowMs: number): Promise<number> {
      budget.takes += 1;
      await Promise.resolve();
      const window = budgetWindow(nowMs);
      const granted = Math.max(0, Math.min(n, windowRights(perSecond, window) - (used.get(window) ?? 0)));
      used.set(window, (used.get(window) ?? 0) + granted);
      return granted;
    },
    usedIn: (window: number) => used.get(window) ?? 0,
    granted: () => [...used.values()].reduce((sum, n) => sum + n, 0),
    usedBySecond: () => {
      const seconds = new Map<number, number>();
      for (const [window, n] of used) {
        const second = Math.floor((window * BUDGET_WINDOW_MS) / 1000);
        seconds.set(second, (seconds.get(second) ?? 0) + n);
      }
      return seconds;
    },
  };
  return budget satisfies CallbackBudget;
}
