import { describe, expect, it } from 'vitest';
import {
  abbaOrder,
  compareSides,
  judgeRound,
  SMALL_CHANNEL_GOAL,
  summarizeSide,
} from '../../bench/small-channels.js';

const receipts = (list: readonly [key: string, time: number][]) => ({
  keys: list.map(([key]) => key),
  times: Float64Array.from(list.map(([, time]) => time)),
});

describe('small-channel A/B: round order', () => {
  it('alternates A,B,B,A so each side goes first as often as the other', () => {
    const order = [0, 1, 2, 3].flatMap((k) => abbaOrder(k));
    expect(order).toEqual([
      'baseline',
      'current',
      'current',
      'baseline',
      'baseline',
      'current',
      'current',
      'baseline',
    ]);
  });
});

describe('small-channel A/B: judging one event', () => {
  const subscribers = new Set(['a', 'b', 'c']);

  it('takes each subscriber’s first receipt, from the moment PutEvents resolved', () => {
    const judged = judgeRound(
      receipts([
        ['b', 107],
        ['a', 103],
        ['c', 112],
      ]),
      subscribers,
      100,
    );
    expect(judged.latencies.sort((x, y) => x - y)).toEqual([3, 7, 12]);
    expect(judged.timeToAll).toBe(12);
    expect(judged).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0 });
  });

  it('counts a missing subscriber as lost, a second copy as duplicated, a stranger as unexpected', () => {
    const judged = judgeRound(
      receipts([
        ['a', 105],
        ['a', 109],
        ['z', 106],
      ]),
      subscribers,
      100,
    );
    expect(judged).toMatchObject({ lost: 2, duplicated: 1, unexpected: 1, timeToAll: 5 });
    // The copy does not stretch the latency: only first receipts count.
    expect(judged.latencies).toEqual([5]);
  });

  it('has no time to all when nothing arrived', () => {
    expect(judgeRound(receipts([]), subscribers, 100)).toMatchObject({ lost: 3, timeToAll: undefined });
  });
});

describe('small-channel A/B: verdict', () => {
  const side = (timeToAll: number, lost = 0) =>
    summarizeSide(
      [0, 1, 2].map(() => ({
        latencies: [timeToAll / 2, timeToAll],
        timeToAll,
        lost,
        duplicated: 0,
        unexpected: 0,
        putEventsMs: 1,
      })),
    );

  it('is the change of the time-to-all p50, now over before, against the 10 % goal', () => {
    const within = compareSides(100, 3, side(20), side(21.8));
    expect(within.change.timeToAllP50).toBeCloseTo(0.09, 3);
    expect(within.change.timeToAllP50).toBeLessThanOrEqual(SMALL_CHANNEL_GOAL);
    expect(within.goalMet).toBe(true);

    const slower = compareSides(100, 3, side(20), side(23));
    expect(slower.change.timeToAllP50).toBeCloseTo(0.15, 3);
    expect(slower.goalMet).toBe(false);
  });

  it('fails the goal when either side lost a delivery, however fast', () => {
    const lossy = compareSides(100, 3, side(20), side(10, 1));
    expect(lossy.current.lost).toBe(3);
    expect(lossy.goalMet).toBe(false);
  });
});
