/**
 * One page of a channel's fan-out audience when the channel has pattern subscribers too
 * (PROTOCOL §8 wildcards): its exact subscription partition and one partition per wildcard prefix
 * of its name (`wildcardPrefixes`), read together, one Query each, never a Scan.
 *
 * Every partition is sorted by connection id (its sort key), so the partitions are merged like
 * sorted lists, by id: a page reads each partition from the same point (`after`), keeps what every
 * partition has been read up to (the lowest id at which a partition stopped for its Limit), and
 * the next page starts there. A connection's items in several partitions (subscribed exactly and
 * by pattern, or by two patterns) are therefore always in the same page, and it is posted once.
 * The cursor is one connection id, so a fan-out shard (a range of ids, `connectionIdRange`) keeps
 * every one of its connections to itself across all partitions, and resumes in another invocation
 * from where it stopped, with nobody posted twice.
 */
import type { Cursor, SubscriberRecord } from '../core/ports.js';

/** One partition's page: the live items read, and the id it stopped at when it hit its Limit. */
export interface PartitionPage {
  readonly items: readonly SubscriberRecord[];
  /** The sort key of DynamoDB's `LastEvaluatedKey`: more may follow it. */
  readonly last?: string;
}

/** Reads one partition's page, from after `after` (from the start of the range when undefined). */
export type PartitionReader = (partition: string, after: string | undefined) => Promise<PartitionPage>;

/**
 * Where a merged audience resumes: after connection id `after`, leaving out the partitions (by
 * index) already read to their end. A cursor written before wildcards existed is a channel
 * partition's `LastEvaluatedKey`, whose sort key is the same id.
 */
interface MergedCursor {
  readonly after: string;
  readonly done?: readonly number[];
}

function readCursor(cursor: Cursor | undefined): MergedCursor | undefined {
  if (cursor === undefined) return undefined;
  if (typeof cursor.after === 'string') return cursor as unknown as MergedCursor;
  if (typeof cursor.sk === 'string') return { after: cursor.sk };
  throw new Error('fan-out cursor of an unknown shape');
}

/**
 * One merged page of `partitions` (the exact channel partition first, so that a connection
 * subscribed both ways is described by its exact entry). Returns each connection once.
 */
export async function mergedAudiencePage(
  partitions: readonly string[],
  read: PartitionReader,
  cursor?: Cursor,
): Promise<{ items: SubscriberRecord[]; cursor?: Cursor }> {
  const from = readCursor(cursor);
  const done = new Set(from?.done ?? []);
  const pages = await Promise.all(
    partitions.map((partition, i) =>
      done.has(i) ? Promise.resolve<PartitionPage>({ items: [] }) : read(partition, from?.after),
    ),
  );
  // Every partition has been read up to `boundary`; past it, only some have.
  let boundary: string | undefined;
  for (const { last } of pages) {
    if (last !== undefined && (boundary === undefined || last < boundary)) boundary = last;
  }
  const within = (id: string) => boundary === undefined || id <= boundary;
  const byConnection = new Map<string, SubscriberRecord>();
  const ended: number[] = [];
  pages.forEach((page, i) => {
    for (const item of page.items) {
      if (within(item.connectionId) && !byConnection.has(item.connectionId))
        byConnection.set(item.connectionId, item);
    }
    // Read to its end, and nothing of it left past the boundary: no need to read it again.
    if (page.last === undefined && page.items.every((item) => within(item.connectionId))) ended.push(i);
  });
  const items = [...byConnection.values()];
  if (boundary === undefined) return { items };
  return { items, cursor: { after: boundary, ...(ended.length > 0 ? { done: ended } : {}) } };
}
