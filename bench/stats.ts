/** Small numeric helpers for the benchmark: percentiles, summaries, rounding, a clock shared by processes. */

/**
 * Milliseconds on CLOCK_MONOTONIC. On Linux that clock is one for the whole machine, so stamps
 * taken in the bench process and in the client workers compare exactly (unlike `Date.now()`,
 * which NTP may step, or `performance.timeOrigin`, which each process samples on its own).
 */
export function hrNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The p-th percentile (0-100) by nearest rank, of values sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** count, min, p50, p95, p99, max and mean of `values` (which it does not modify). */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

export function median(values: ArrayLike<number>): number {
  return percentileOfSorted(Float64Array.from(values as ArrayLike<number>).sort(), 50);
}

/** Rounds to `digits` decimals; keeps JSON readable. */
export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Rounds every number of a summary. */
export function roundSummary(summary: Summary, digits = 1): Summary {
  return {
    count: summary.count,
    min: round(summary.min, digits),
    p50: round(summary.p50, digits),
    p95: round(summary.p95, digits),
    p99: round(summary.p99, digits),
    max: round(summary.max, digits),
    mean: round(summary.mean, digits),
  };
}

/** A deterministic PRNG (mulberry32), so every run publishes the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
