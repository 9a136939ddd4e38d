/**
 * Timers that honour `Infinity` as "never": every duration option admits it to disable a
 * behaviour, and setTimeout would instead fire it at once.
 */

export type Timer = ReturnType<typeof setTimeout>;

/** A timer, or none for `Infinity`. */
export function startTimer(callback: () => void, ms: number): Timer | undefined {
  return Number.isFinite(ms) ? setTimeout(callback, ms) : undefined;
}

/** An interval, or none for `Infinity`. */
export function startInterval(callback: () => void, ms: number): ReturnType<typeof setInterval> | undefined {
  return Number.isFinite(ms) ? setInterval(callback, ms) : undefined;
}

export const noop = (): void => {};
