/**
 * Properties of the table's key design (docs/architecture.md, "Data model"): a subscription's partition
 * `chan#{tenant}#{channel}` names exactly one (tenant, channel) pair, so no channel name can reach
 * another channel's or another tenant's subscribers. It holds because both parts follow the channel
 * grammar, which has no `#`. Pure: no network.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { channelPartition } from '../../adapters/dynamo-store.js';

/** Names in the grammar, from a small alphabet so that near-collisions are likely. */
const name = fc.string({ unit: fc.constantFrom(...'ab:.-_@9'), minLength: 1, maxLength: 10 });
const tenant = fc.option(name, { nil: undefined });
const pair = fc.tuple(tenant, name);

describe('channelPartition', () => {
  it('is injective over valid (tenant, channel) pairs', () => {
    fc.assert(
      fc.property(pair, pair, ([t1, c1], [t2, c2]) => {
        if (t1 === t2 && c1 === c2) return;
        expect(channelPartition(t1, c1)).not.toBe(channelPartition(t2, c2));
      }),
      { numRuns: 5000 },
    );
  });

  it('keeps every split of one string into tenant and channel apart, and apart from no tenant', () => {
    const joined = fc.string({ unit: fc.constantFrom(...'ab:.-_@9'), minLength: 2, maxLength: 24 });
    fc.assert(
      fc.property(joined, (text) => {
        const pairs: Array<[string | undefined, string]> = [[undefined, text]];
        for (let i = 1; i < text.length; i += 1) pairs.push([text.slice(0, i), text.slice(i)]);
        const keys = pairs.map(([t, c]) => channelPartition(t, c));
        expect(new Set(keys).size).toBe(pairs.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives distinct partitions to many distinct pairs at once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pair, {
          selector: ([t, c]) => `${t === undefined ? '-' : `+${t}`}\u0000${c}`,
          maxLength: 200,
        }),
        (pairs) => {
          expect(new Set(pairs.map(([t, c]) => channelPartition(t, c))).size).toBe(pairs.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('would collide outside the grammar, which is why names with "#" are refused everywhere', () => {
    expect(channelPartition('acme#orders', 'x')).toBe(channelPartition('acme', 'orders#x'));
  });
});
