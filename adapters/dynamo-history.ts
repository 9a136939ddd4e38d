/**
 * `ChannelHistory` on the same DynamoDB table. Per channel and tenant:
 * - `pk = hist#{tenant}#{channel}`, `sk = seq`: the counter. A batch of events is numbered with one
 *   atomic `ADD` (UpdateItem), which DynamoDB applies one after another without conditions, so
 *   concurrent publishers never contend or retry: each gets its own range of numbers.
 * - `pk = hist#{tenant}#{channel}`, `sk = e#{seq, 16 digits}`: the delivered message, kept for the
 *   retention window (TTL), so `since` replays it in order with one Query.
 * - `pk = hid#{tenant}#{channel}#{eventId}`, `sk = seq`: which number an event got, so a redelivered
 *   event keeps its number. One partition key per event spreads these writes over the table's
 *   partitions, leaving the channel's own key its 1,000 write units per second for the events.
 *
 * A number is taken before its event is written (docs/design/sequencing.md), so a replay may find
 * the latest numbers taken but not yet stored: their publish posts them live, and `replay` reports
 * them as not yet settled. An invocation that dies between the two writes leaves a hole, which a
 * replay reports as lost (`complete: false`) once it is older than one invocation.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChannelEvents, ChannelHistory, NewEvent, ReplayResult, StoredEvent } from '../core/ports.js';
import { TABLE_SCHEMA } from './table-schema.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_SCHEMA;

export const historyPartition = (tenant: string | undefined, channel: string) =>
  `hist#${tenant ?? ''}#${channel}`;
const markerId = (tenant: string | undefined, channel: string, eventId: string) =>
  `hid#${tenant ?? ''}#${channel}#${eventId}`;
const markerKey = (tenant: string | undefined, channel: string, eventId: string) => ({
  [PK]: markerId(tenant, channel, eventId),
  [SK]: 'seq',
});
const eventKey = (seq: number) => `e#${String(seq).padStart(16, '0')}`;

/**
 * How long a number may stay taken before its event is stored: one publish invocation (the
 * publish function's timeout, `lambdas/publish-pipeline.ts`; a test keeps this above it), plus
 * a margin for clock skew between the functions that stamp it.
 */
export const IN_FLIGHT_SECONDS = 65;
/** Counter updates (one per channel) and batch writes a batch makes at once. */
const TAKES_AT_ONCE = 16;
const WRITES_AT_ONCE = 4;
/** DynamoDB's limits per BatchGetItem and BatchWriteItem request. */
const MAX_BATCH_GET = 100;
const MAX_BATCH_WRITE = 25;
/** Unprocessed items are retried with backoff, as the DynamoDB developer guide asks. */
const MAX_UNPROCESSED_ROUNDS = 8;

export interface HistoryRetention {
  /** How long events stay replayable. */
  readonly seconds: number;
  /** How many of a channel's latest events stay replayable. */
  readonly maxEvents: number;
}

/** DynamoDB left part of a batch unprocessed through every retry (sustained throttling). */
export class HistoryWriteError extends Error {
  override readonly name = 'HistoryWriteError';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `items`, at most `limit` at a time; rejects with the first failure. */
async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export class DynamoChannelHistory implements ChannelHistory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retention: HistoryRetention,
  ) {}

  async append(parts: readonly ChannelEvents[], now: number): Promise<StoredEvent[][]> {
    // One event twice in a part (an at-least-once redelivery) is one event.
    const byId = parts.map((part) => new Map(part.events.map((e) => [e.eventId, e])));
    // One read for the whole batch: which events already have a number (redeliveries).
    const known = await this.knownNumbers(
      parts.flatMap((part, i) =>
        [...(byId[i] as Map<string, NewEvent>).keys()].map((id) => markerKey(part.tenant, part.channel, id)),
      ),
    );
    const ttl = now + this.retention.seconds;
    const writes: Record<string, unknown>[] = [];
    const stored = parts.map(() => new Map<string, StoredEvent>());
    await mapLimit(parts, TAKES_AT_ONCE, async (part, i) => {
      const events = byId[i] as Map<string, NewEvent>;
      const out = stored[i] as Map<string, StoredEvent>;
      const fresh: NewEvent[] = [];
      for (const event of events.values()) {
        const seq = known.get(markerId(part.tenant, part.channel, event.eventId));
        if (seq === undefined) fresh.push(event);
        else out.set(event.eventId, { seq, payload: event.render(seq) });
      }
      if (fresh.length === 0) return;
      const last = await this.take(part.tenant, part.channel, fresh.length, now);
      fresh.forEach(({ eventId, render }, k) => {
        const seq = last - fresh.length + 1 + k;
        const payload = render(seq);
        out.set(eventId, { seq, payload });
        // `at`: when the number was taken (see `replay`).
        writes.push({
          [PK]: historyPartition(part.tenant, part.channel),
          [SK]: eventKey(seq),
          seq,
          payload,
          at: now,
          [TTL]: ttl,
        });
        writes.push({ ...markerKey(part.tenant, part.channel, eventId), seq, [TTL]: ttl });
      });
    });
    // The batch's events and markers of every channel together, 25 to a request.
    await this.writeAll(writes);
    return parts.map((part, i) =>
      part.events.map((e) => (stored[i] as Map<string, StoredEvent>).get(e.eventId) as StoredEvent),
    );
  }

  async events(tenant: string | undefined, channel: string, seqs: readonly number[]): Promise<StoredEvent[]> {
    const found = new Map<number, StoredEvent>();
    for (const part of chunks([...new Set(seqs)], MAX_BATCH_GET)) {
      let keys: Record<string, unknown>[] | undefined = part.map((seq) => ({
        [PK]: historyPartition(tenant, channel),
        [SK]: eventKey(seq),
      }));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round >= MAX_UNPROCESSED_ROUNDS) throw new HistoryWriteError('stored events could not be read');
        if (round > 0) await sleep(backoff(round));
        const result: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'seq, payload' },
            },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          found.set(Number(item.seq), { seq: Number(item.seq), payload: String(item.payload) });
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return seqs.flatMap((seq) => {
      const event = found.get(seq);
      return event ? [event] : [];
    });
  }

  async current(tenant: string | undefined, channel: string): Promise<number> {
    return (await this.counter(tenant, channel))?.seq ?? 0;
  }

  async replay(
    tenant: string | undefined,
    channel: string,
    after: number,
    upTo: number,
    now: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<ReplayResult> {
    if (after >= upTo) {
      return { events: [], complete: after === upTo, settled: Math.min(after, upTo), more: false };
    }
    // Only the latest `maxEvents` count as retained, whatever TTL has not yet deleted.
    const from = Math.max(after + 1, upTo - this.retention.maxEvents + 1);
    const items = await this.read(tenant, channel, from, upTo, limit);
    const more = items.length >= limit && (items.at(-1)?.seq ?? upTo) < upTo;
    // A missing number is lost (expired and deleted, or a publish died between taking and storing
    // it) or in flight (taken moments ago by a publish still storing it, which then posts it live).
    // Numbers are taken in time order, so it is at most as old as the next stored one (or the
    // counter's last take): when that is older than one invocation, the number is lost; otherwise
    // it may be in flight, and so may everything after it, which stays unsettled.
    let complete = from === after + 1;
    const events: StoredEvent[] = [];
    let expected = from;
    const missing = async (next: number | undefined) => {
      const takenBy = next ?? (await this.counter(tenant, channel))?.lastAt ?? 0;
      if (takenBy > now - IN_FLIGHT_SECONDS) return 'in_flight';
      complete = false;
      return 'lost';
    };
    for (const item of items) {
      if (item.seq > expected && (await missing(item.at)) === 'in_flight') {
        return { events, complete, settled: expected - 1, more: false };
      }
      // Expired but not yet deleted: TTL deletes lazily, so every read checks the time itself.
      if (item.ttl > now) events.push({ seq: item.seq, payload: item.payload });
      else complete = false;
      expected = item.seq + 1;
    }
    if (more) return { events, complete, settled: expected - 1, more };
    if (expected <= upTo && (await missing(undefined)) === 'in_flight') {
      return { events, complete, settled: expected - 1, more };
    }
    return { events, complete, settled: upTo, more };
  }

  /** The first `limit` stored events with `from <= seq <= to`, in order, expired ones included. */
  private async read(
    tenant: string | undefined,
    channel: string,
    from: number,
    to: number,
    limit: number,
  ): Promise<(StoredEvent & { at: number; ttl: number })[]> {
    const events: (StoredEvent & { at: number; ttl: number })[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ProjectionExpression: 'seq, payload, #at, #ttl',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL, '#at': 'at' },
          ExpressionAttributeValues: {
            ':pk': historyPartition(tenant, channel),
            ':from': eventKey(from),
            ':to': eventKey(to),
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
          Limit: Number.isFinite(limit) ? limit - events.length : undefined,
        }),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? [])
        events.push({
          seq: Number(item.seq),
          payload: String(item.payload),
          at: Number(item.at ?? 0),
          ttl: Number(item[TTL] ?? 0),
        });
    } while (startKey && events.length < limit);
    return events;
  }

  private async counter(
    tenant: string | undefined,
    channel: string,
  ): Promise<{ seq: number; lastAt: number } | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PK]: historyPartition(tenant, channel), [SK]: 'seq' },
        ConsistentRead: true,
      }),
    );
    return Item ? { seq: Number(Item.seq), lastAt: Number(Item.lastAt ?? 0) } : undefined;
  }

  /** Takes `count` numbers at once; returns the last one. */
  private async take(
    tenant: string | undefined,
    channel: string,
    count: number,
    now: number,
  ): Promise<number> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: historyPartition(tenant, channel), [SK]: 'seq' },
        // `lastAt`: when numbers were last taken (see `replay`).
        UpdateExpression: 'ADD seq :count SET lastAt = :now',
        ExpressionAttributeValues: { ':count': count, ':now': now },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.seq);
  }

  /** The numbers already given to these events (redeliveries), by marker key. */
  private async knownNumbers(keys: readonly Record<string, string>[]): Promise<Map<string, number>> {
    const known = new Map<string, number>();
    for (const part of chunks(keys, MAX_BATCH_GET)) {
      let pending: Record<string, unknown>[] | undefined = part;
      for (let round = 0; pending && pending.length > 0; round++) {
        if (round >= MAX_UNPROCESSED_ROUNDS) throw new HistoryWriteError('event numbers could not be read');
        if (round > 0) await sleep(backoff(round));
        const result: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: pending,
                ConsistentRead: true,
                ProjectionExpression: '#pk, seq',
                ExpressionAttributeNames: { '#pk': PK },
              },
            },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? [])
          known.set(String(item[PK]), Number(item.seq));
        pending = result.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return known;
  }

  private async writeAll(items: readonly Record<string, unknown>[]): Promise<void> {
    await mapLimit(chunks(items, MAX_BATCH_WRITE), WRITES_AT_ONCE, async (part) => {
      let requests: unknown[] | undefined = part.map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; requests && requests.length > 0; round++) {
        if (round >= MAX_UNPROCESSED_ROUNDS) throw new HistoryWriteError('events could not be stored');
        if (round > 0) await sleep(backoff(round));
        const result: BatchWriteCommandOutput = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests as never } }),
        );
        requests = result.UnprocessedItems?.[this.tableName];
      }
    });
  }
}

/** Full-jitter exponential backoff for unprocessed batch items. */
const backoff = (round: number) => Math.random() * Math.min(1000, 25 * 2 ** round);
