/** Channel history against DynamoDB Local: numbering in batches, redeliveries, contention, replay. */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoChannelHistory, historyPartition, IN_FLIGHT_SECONDS } from '../../adapters/dynamo-history.js';
import type { NewEvent } from '../../core/ports.js';
import { PUBLISH_PIPELINE } from '../../lambdas/publish-pipeline.js';
import { createTestTable, type TestTable } from '../support/dynamodb.js';

let table: TestTable;
const now = Math.floor(Date.now() / 1000);

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(() => table.drop());

const history = (maxEvents = 3) =>
  new DynamoChannelHistory(table.client, table.name, { seconds: 3600, maxEvents });
const render = (id: string) => (seq: number) => JSON.stringify({ id, seq });
const events = (...ids: string[]): NewEvent[] => ids.map((eventId) => ({ eventId, render: render(eventId) }));
const seqs = (stored: readonly { seq: number }[]) => stored.map((e) => e.seq);

/** Numbers and keeps one channel's events, as publish does for each channel of a batch. */
async function appendOne(
  target: DynamoChannelHistory,
  tenant: string | undefined,
  channel: string,
  list: readonly NewEvent[],
  at: number,
) {
  const [stored] = await target.append([{ tenant, channel, events: list }], at);
  return stored ?? [];
}

/** Takes numbers on the counter without storing events, as a publish does just before it stores them. */
async function takeWithoutStoring(channel: string, count: number, at: number): Promise<void> {
  await table.client.send(
    new UpdateCommand({
      TableName: table.name,
      Key: { pk: historyPartition(undefined, channel), sk: 'seq' },
      UpdateExpression: 'ADD seq :count SET lastAt = :at',
      ExpressionAttributeValues: { ':count': count, ':at': at },
    }),
  );
}

describe('numbering', () => {
  it('numbers events per channel and per tenant, from 1, in the order given', async () => {
    // Act
    const first = await appendOne(history(), undefined, 'h1', events('e1', 'e2'), now);
    const second = await appendOne(history(), undefined, 'h1', events('e3'), now);
    const other = await appendOne(history(), 'acme', 'h1', events('e4'), now);
    // Assess
    expect([seqs(first), seqs(second), seqs(other)]).toEqual([[1, 2], [3], [1]]);
    expect(first[1]?.payload).toBe(render('e2')(2));
    expect(await history().current(undefined, 'h1')).toBe(3);
    expect(await history().current(undefined, 'never')).toBe(0);
  });

  it('gives a redelivered event the number it already has, also beside new ones', async () => {
    // Prepare
    const first = await appendOne(history(), undefined, 'h2', events('same'), now);
    // Act
    const again = await appendOne(history(), undefined, 'h2', events('new1', 'same', 'new2'), now);
    const twiceInOneBatch = await appendOne(history(), undefined, 'h2', events('dup', 'dup'), now);
    // Assess
    expect(again[1]).toEqual(first[0]);
    expect(seqs(again)).toEqual([2, 1, 3]);
    expect(seqs(twiceInOneBatch)).toEqual([4, 4]);
    expect(await history().current(undefined, 'h2')).toBe(4);
  });

  it('gives concurrent publishers of one channel distinct numbers with no gap and no retry', async () => {
    // Prepare: 40 batches of 5 events at once, all on one channel.
    const batches = Array.from({ length: 40 }, (_, b) =>
      events(...Array.from({ length: 5 }, (_, i) => `c${b}-${i}`)),
    );
    // Act
    const results = await Promise.all(
      batches.map((batch) => appendOne(history(1000), undefined, 'hot', batch, now)),
    );
    // Assess: every number from 1 to 200 exactly once, each batch's numbers in its own order.
    expect(results.flatMap(seqs).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const result of results) expect(seqs(result)).toEqual([...seqs(result)].sort((a, b) => a - b));
    const replayed = await history(1000).replay(undefined, 'hot', 0, 200, now);
    expect(replayed.complete).toBe(true);
    expect(seqs(replayed.events)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});

describe('numbering a batch of several channels', () => {
  it('numbers each channel on its own, in one call, and keeps the number of a redelivery', async () => {
    // Prepare
    await appendOne(history(), undefined, 'm1', events('seen'), now);
    // Act
    const [one, two, other] = await history().append(
      [
        { tenant: undefined, channel: 'm1', events: events('x1', 'seen', 'x2') },
        { tenant: undefined, channel: 'm2', events: events('y1') },
        { tenant: 'acme', channel: 'm1', events: events('z1') },
      ],
      now,
    );
    // Assess
    expect([seqs(one ?? []), seqs(two ?? []), seqs(other ?? [])]).toEqual([[2, 1, 3], [1], [1]]);
  });
});

describe('replay', () => {
  it('replays retained events after a point, in order, and says when some are gone', async () => {
    // Prepare: five events, of which only the latest three count as retained (maxEvents 3).
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5'])
      await appendOne(history(), undefined, 'h3', events(id), now);
    // Act
    const recent = await history().replay(undefined, 'h3', 3, 5, now);
    const tooOld = await history().replay(undefined, 'h3', 1, 5, now);
    const upToDate = await history().replay(undefined, 'h3', 5, 5, now);
    const fromTheFuture = await history().replay(undefined, 'h3', 9, 5, now);
    // Assess
    expect(recent).toEqual({
      events: [
        { seq: 4, payload: render('r4')(4) },
        { seq: 5, payload: render('r5')(5) },
      ],
      complete: true,
      settled: 5,
      more: false,
    });
    expect(tooOld.complete).toBe(false);
    expect(seqs(tooOld.events)).toEqual([3, 4, 5]);
    expect(upToDate).toEqual({ events: [], complete: true, settled: 5, more: false });
    expect(fromTheFuture.complete).toBe(false);
  });

  it('does not replay events past their retention, even before DynamoDB deletes them', async () => {
    await appendOne(history(), undefined, 'h4', events('old'), now - 7200);
    await appendOne(history(), undefined, 'h4', events('new'), now);
    const result = await history().replay(undefined, 'h4', 0, 2, now);
    expect(result).toEqual({
      events: [{ seq: 2, payload: render('new')(2) }],
      complete: false,
      settled: 2,
      more: false,
    });
  });

  it('leaves numbers that a publish has taken but not yet stored unsettled, not lost', async () => {
    // Prepare: 1 stored, 2 taken (its publish is still storing it), 3 stored.
    await appendOne(history(), undefined, 'h5', events('one'), now);
    await takeWithoutStoring('h5', 1, now);
    await appendOne(history(), undefined, 'h5', events('three'), now);
    // Act
    const result = await history().replay(undefined, 'h5', 0, 3, now);
    const atTheTail = await history().replay(undefined, 'h5', 3, 3, now);
    await takeWithoutStoring('h5', 2, now);
    const tail = await history().replay(undefined, 'h5', 3, 5, now);
    // Assess: replayed up to the hole; what follows it comes live from its publish.
    expect(result).toEqual({
      events: [{ seq: 1, payload: render('one')(1) }],
      complete: true,
      settled: 1,
      more: false,
    });
    expect(atTheTail.settled).toBe(3);
    expect(tail).toEqual({ events: [], complete: true, settled: 3, more: false });
  });

  it('reports a number taken longer ago than one invocation and never stored as lost', async () => {
    // Prepare: a publish took number 2 long ago and died before storing it.
    const then = now - 600;
    await appendOne(history(), undefined, 'h6', events('one'), then);
    await takeWithoutStoring('h6', 1, then);
    await appendOne(history(), undefined, 'h6', events('three'), then + 1);
    await takeWithoutStoring('h6', 1, then + 2);
    // Act
    const result = await history(10).replay(undefined, 'h6', 0, 4, now);
    // Assess
    expect(result.complete).toBe(false);
    expect(result.settled).toBe(4);
    expect(seqs(result.events)).toEqual([1, 3]);
  });

  it('reads no more than its limit, and says there is more', async () => {
    // Prepare
    for (const id of ['l1', 'l2', 'l3', 'l4']) await appendOne(history(10), undefined, 'h7', events(id), now);
    // Act
    const part = await history(10).replay(undefined, 'h7', 0, 4, now, 2);
    // Assess
    expect(seqs(part.events)).toEqual([1, 2]);
    expect(part).toMatchObject({ complete: true, settled: 2, more: true });
  });

  it('treats a number as possibly in flight for at least one publish invocation', () => {
    expect(IN_FLIGHT_SECONDS).toBeGreaterThanOrEqual(PUBLISH_PIPELINE.functionTimeoutSeconds);
  });
});
