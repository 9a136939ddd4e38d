import { describe, expect, it } from 'vitest';
import { ChannelSequence, sequenceNumber } from '../../client/channel-sequence.js';
import type { EventMessage } from '../../client/index.js';

function event(seq: number, id = `e${seq}`): EventMessage {
  return { type: 'event', id, channel: 'c', event_type: 't', data: {}, seq, timestamp: '' };
}

const seqs = (events: readonly EventMessage[]) => events.map((released) => released.seq);

describe('ChannelSequence', () => {
  it('releases the next number at once, with the held numbers that follow on', () => {
    // Prepare
    const sequence = new ChannelSequence();
    sequence.release(0);

    // Act
    const first = sequence.accept(1, event(1));
    const early = [sequence.accept(3, event(3)), sequence.accept(4, event(4))];
    const filled = sequence.accept(2, event(2));

    // Assess
    expect(seqs(first)).toEqual([1]);
    expect(early).toEqual([[], []]);
    expect(seqs(filled)).toEqual([2, 3, 4]);
    expect(sequence.lastSeq).toBe(4);
    expect(sequence.heldCount).toBe(0);
  });

  it('drops a number at or below the last one, and a second copy of a held number', () => {
    // Prepare
    const sequence = new ChannelSequence();
    sequence.release(5);
    sequence.accept(7, event(7));

    // Act
    const stale = [sequence.accept(5, event(5)), sequence.accept(4, event(4))];
    const again = sequence.accept(7, event(7, 'other'));

    // Assess
    expect(stale).toEqual([[], []]);
    expect(again).toEqual([]);
    expect(sequence.release().events.map((held) => held.id)).toEqual(['e7']);
  });

  it('holds everything until it has a baseline, then releases in order what the baseline covers', () => {
    // Prepare
    const sequence = new ChannelSequence();
    sequence.accept(12, event(12));
    sequence.accept(9, event(9));
    sequence.accept(11, event(11));

    // Act
    const released = sequence.release(10);

    // Assess: 9 precedes the baseline but arrived; 11 and 12 follow on from it.
    expect(seqs(released.events)).toEqual([9, 11, 12]);
    expect(released.skippedTo).toBeUndefined();
    expect(sequence.lastSeq).toBe(12);
  });

  it('reports the highest missing number it steps over when giving up', () => {
    // Prepare
    const sequence = new ChannelSequence();
    sequence.release(1);
    for (const seq of [3, 6, 7]) sequence.accept(seq, event(seq));

    // Act
    const released = sequence.release();

    // Assess
    expect(seqs(released.events)).toEqual([3, 6, 7]);
    expect(released.skippedTo).toBe(5);
    expect(sequence.highestSeen).toBe(7);
  });

  it('keeps what lies beyond the number it gives up to, and starts over on reset', () => {
    // Prepare
    const sequence = new ChannelSequence();
    sequence.release(1);
    for (const seq of [3, 9]) sequence.accept(seq, event(seq));

    // Act
    const released = sequence.release(4);
    const heldAfterRelease = sequence.heldCount;
    sequence.reset(2);

    // Assess
    expect(seqs(released.events)).toEqual([3]);
    expect(released.skippedTo).toBe(4);
    expect(heldAfterRelease).toBe(1);
    expect([sequence.lastSeq, sequence.heldCount]).toEqual([2, 0]);
  });

  it('reads only non-negative safe integers as sequence numbers', () => {
    // Prepare, Act, Assess
    expect([0, 42, Number.MAX_SAFE_INTEGER].map(sequenceNumber)).toEqual([0, 42, Number.MAX_SAFE_INTEGER]);
    expect([-1, 1.5, '3', Number.NaN, 2 ** 53, null, undefined].map(sequenceNumber)).toEqual(
      Array(7).fill(undefined),
    );
  });
});
