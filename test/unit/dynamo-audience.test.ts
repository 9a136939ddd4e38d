/**
 * Merging a channel's exact and pattern partitions into one fan-out audience: page by page, each
 * connection exactly once, with one read per partition and page.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergedAudiencePage, type PartitionReader } from '../../adapters/dynamo-audience.js';
import type { Cursor, SubscriberRecord } from '../../core/ports.js';

const record = (connectionId: string, userId = `u-${connectionId}`): SubscriberRecord => ({
  connectionId,
  identity: { userId, roles: [], anonymous: false },
});

/** Partitions kept sorted by connection id, read as DynamoDB's Query does with a Limit. */
function memoryReader(partitions: Record<string, readonly SubscriberRecord[]>, limit: number) {
  const reads: string[] = [];
  const read: PartitionReader = async (partition, after) => {
    reads.push(partition);
    const sorted = [...(partitions[partition] ?? [])].sort((a, b) =>
      a.connectionId < b.connectionId ? -1 : 1,
    );
    const rest = sorted.filter((item) => after === undefined || item.connectionId > after);
    const items = rest.slice(0, limit);
    const last = rest.length > limit ? items.at(-1)?.connectionId : undefined;
    return last === undefined ? { items } : { items, last };
  };
  return { read, reads };
}

async function everyPage(names: readonly string[], read: PartitionReader) {
  const pages: SubscriberRecord[][] = [];
  let cursor: Cursor | undefined;
  do {
    const page = await mergedAudiencePage(names, read, cursor);
    pages.push(page.items);
    cursor = page.cursor;
  } while (cursor);
  return pages;
}

describe('a merged audience page', () => {
  it('reads each partition once and gives a connection subscribed several ways once, as its exact entry', async () => {
    // Prepare
    const exact = record('B', 'exact-view');
    const { read, reads } = memoryReader(
      {
        chan: [record('A'), exact],
        'pat-a': [record('B', 'pattern-view'), record('C')],
        'pat-ab': [record('C')],
      },
      10,
    );
    // Act
    const page = await mergedAudiencePage(['chan', 'pat-a', 'pat-ab'], read);
    // Assess
    expect(reads).toEqual(['chan', 'pat-a', 'pat-ab']);
    expect(page.cursor).toBeUndefined();
    expect(page.items.map((s) => s.connectionId).sort()).toEqual(['A', 'B', 'C']);
    expect(page.items.find((s) => s.connectionId === 'B')).toBe(exact);
  });

  it('resumes a cursor written before wildcards (a channel LastEvaluatedKey)', async () => {
    const { read } = memoryReader({ chan: [record('A'), record('B'), record('C')] }, 10);
    const page = await mergedAudiencePage(['chan'], read, { pk: 'chan', sk: 'A' });
    expect(page.items.map((s) => s.connectionId)).toEqual(['B', 'C']);
  });

  it('pages through any partitions with each connection exactly once, whatever the limit', async () => {
    const ids = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uniqueArray(ids, { maxLength: 20 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (partitions, limit) => {
          // Prepare
          const names = partitions.map((_, i) => `p${i}`);
          const { read } = memoryReader(
            Object.fromEntries(partitions.map((list, i) => [`p${i}`, list.map((id) => record(id))])),
            limit,
          );
          // Act
          const pages = await everyPage(names, read);
          // Assess
          const delivered = pages.flat().map((s) => s.connectionId);
          expect(delivered.sort()).toEqual([...new Set(partitions.flat())].sort());
        },
      ),
    );
  });

  it('stops reading a partition once it is read to its end', async () => {
    // Prepare: the pattern partition holds one early connection; the channel holds many.
    const { read, reads } = memoryReader(
      { chan: ['A', 'B', 'C', 'D', 'E'].map((id) => record(id)), pat: [record('A')] },
      2,
    );
    // Act
    const pages = await everyPage(['chan', 'pat'], read);
    // Assess
    expect(pages.flat().map((s) => s.connectionId)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(reads.filter((name) => name === 'pat')).toHaveLength(1);
  });
});
