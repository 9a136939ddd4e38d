import { describe, expect, it } from 'vitest';
import { type Bucket, takeToken } from '../../core/rate-limit.js';

const limit = { burst: 3, perSecond: 2, closeAfter: 2 };

function run(times: number[]): boolean[] {
  let bucket: Bucket | undefined;
  return times.map((t) => {
    const take = takeToken(limit, bucket, t);
    bucket = take.next;
    return take.allowed;
  });
}

describe('the per-connection token bucket', () => {
  it('allows a burst, then refuses until tokens come back', () => {
    expect(run([0, 0, 0, 0])).toEqual([true, true, true, false]);
  });

  it('refills at the configured rate', () => {
    expect(run([0, 0, 0, 500, 500])).toEqual([true, true, true, true, false]);
  });

  it('never holds more than the burst', () => {
    expect(run([0, 60_000, 60_000, 60_000, 60_000])).toEqual([true, true, true, true, false]);
  });

  it('counts refusals in a row and calls sustained abuse abusive', () => {
    // Prepare
    let bucket: Bucket = { tokens: 0, at: 0, strikes: 0 };
    // Act
    const first = takeToken(limit, bucket, 0);
    bucket = first.next;
    const second = takeToken(limit, bucket, 0);
    // Assess
    expect([first.allowed, first.abusive]).toEqual([false, false]);
    expect([second.allowed, second.abusive]).toEqual([false, true]);
  });

  it('forgives strikes once a message is accepted again', () => {
    const take = takeToken(limit, { tokens: 0, at: 0, strikes: 5 }, 1000);
    expect(take.allowed).toBe(true);
    expect(take.next.strikes).toBe(0);
  });
});
