import { describe, expect, it } from 'vitest';
import { fullJitterDelay } from '../../client/backoff.js';

const settings = { baseDelayMs: 100, maxDelayMs: 1000 };

describe('fullJitterDelay', () => {
  it('draws the first delay between zero and the base delay', () => {
    // Prepare, Act
    const lowest = fullJitterDelay(0, settings, () => 0);
    const highest = fullJitterDelay(0, settings, () => 0.999_999);

    // Assess
    expect(lowest).toBe(0);
    expect(highest).toBe(99);
  });

  it('doubles the ceiling with each attempt', () => {
    // Prepare
    const almostOne = () => 0.999_999;

    // Act
    const ceilings = [0, 1, 2, 3].map((attempt) => fullJitterDelay(attempt, settings, almostOne) + 1);

    // Assess
    expect(ceilings).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds the maximum delay, even after very many attempts', () => {
    // Prepare, Act
    const delays = [4, 10, 1100, 100_000].map((attempt) =>
      fullJitterDelay(attempt, settings, () => 0.999_999),
    );

    // Assess
    expect(delays).toEqual([999, 999, 999, 999]);
  });

  it('spreads delays over the whole range rather than around the ceiling', () => {
    // Prepare, Act
    const delays = Array.from({ length: 2000 }, () => fullJitterDelay(3, settings));

    // Assess
    expect(Math.min(...delays)).toBeLessThan(80);
    expect(Math.max(...delays)).toBeGreaterThan(720);
    expect(delays.every((delay) => Number.isInteger(delay) && delay >= 0 && delay < 800)).toBe(true);
  });
});
