import { describe, expect, it } from 'vitest';
import { judgeBurst, type PutEvent } from '../../bench/burst-judge.js';
import { type Receipt, tracked } from '../support/tracked-receipts.js';

/** Three events on `hot`, put at t=0, one subscriber `a`. */
const events: PutEvent[] = ['e1', 'e2', 'e3'].map((id) => ({ id, channel: 'hot', acceptedAt: 0 }));
const audience = new Map([['hot', ['a']]]);
const receipt = (id: string, seq: number, time: number, key = 'a', channel = 'hot'): Receipt => ({
  key,
  id,
  channel,
  seq,
  time,
});

describe('judging a burst', () => {
  it('finds nothing wrong when every event arrives once, numbered 1..n in order', () => {
    // Prepare
    const receipts = [tracked([receipt('e1', 1, 10), receipt('e2', 2, 20), receipt('e3', 3, 30)])];
    // Act
    const judged = judgeBurst(events, audience, receipts);
    // Assess
    expect(judged).toMatchObject({ expected: 3, delivered: 3, lost: 0, duplicated: 0, unexpected: 0 });
    expect(judged.outOfOrder).toBe(0);
    expect(judged.seq).toEqual({ channels: 1, exact: 1, problems: [] });
    expect([...judged.latencies]).toEqual([10, 20, 30]);
    expect(judged.lastReceipt).toBe(30);
  });

  it('counts a second receipt of an event as a duplicate, not a delivery', () => {
    // Prepare
    const receipts = [
      tracked([receipt('e1', 1, 10), receipt('e2', 2, 20), receipt('e1', 1, 25), receipt('e3', 3, 30)]),
    ];
    // Act
    const judged = judgeBurst(events, audience, receipts);
    // Assess
    expect(judged).toMatchObject({ delivered: 3, duplicated: 1, lost: 0 });
    expect(judged.seq.exact).toBe(1);
  });

  it('counts seq inversions as received and still accepts the channel as 1..n', () => {
    // Prepare
    const receipts = [tracked([receipt('e3', 3, 10), receipt('e1', 1, 20), receipt('e2', 2, 30)])];
    // Act
    const judged = judgeBurst(events, audience, receipts);
    // Assess
    expect(judged.outOfOrder).toBe(2);
    expect(judged.seq.exact).toBe(1);
  });

  it('reports a lost event and the seq it leaves missing', () => {
    // Prepare
    const receipts = [tracked([receipt('e1', 1, 10), receipt('e3', 3, 30)])];
    // Act
    const judged = judgeBurst(events, audience, receipts);
    // Assess
    expect(judged).toMatchObject({ expected: 3, delivered: 2, lost: 1 });
    expect(judged.seq.exact).toBe(0);
    expect(judged.seq.problems).toContain('hot: seq 2 never received (of 1..3)');
  });

  it('fails the seq check when two events share a number or a number is out of range', () => {
    // Prepare
    const receipts = [tracked([receipt('e1', 1, 10), receipt('e2', 1, 20), receipt('e3', 4, 30)])];
    // Act
    const judged = judgeBurst(events, audience, receipts);
    // Assess
    expect(judged.seq.exact).toBe(0);
    expect(judged.seq.problems).toEqual(
      expect.arrayContaining(['hot: seq 1 given to events e1 and e2', 'hot: 1 seqs outside 1..3, e.g. 4']),
    );
  });

  it('counts events of unknown ids, other channels or other subscribers as unexpected', () => {
    // Prepare
    const receipts = [
      tracked([
        receipt('e1', 1, 10),
        receipt('e2', 2, 20),
        receipt('e3', 3, 30),
        receipt('zz', 9, 31),
        receipt('e1', 1, 32, 'a', 'other'),
        receipt('e2', 2, 33, 'b'),
      ]),
    ];
    // Act
    const judged = judgeBurst(events, audience, receipts);
    // Assess
    expect(judged).toMatchObject({ delivered: 3, unexpected: 3, duplicated: 0 });
    expect(judged.seq.exact).toBe(1);
  });
});
