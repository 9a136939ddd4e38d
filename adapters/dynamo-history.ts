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
import type { ChannelHistory, NewEvent, ReplayResult, StoredEvent } from '../core/ports.js';
import { TABLE_SCHEMA } from './table-schema.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_SCHEMA;

export const historyPartition = (tenant: string | undefined, channel: string) =>
  `hist#${tenant ?? ''}#${channel}`;
const markerKey = (tenant: string | undefined, channel: string, eventId: string) => ({
  [PK]: `hid#${tenant ?? ''}#${channel}#${eventId}`,
  [SK]: 'seq',
});
const eventKey = (seq: number) => `e#${String(seq).padStart(16, '0')}`;

/**
 * How long a number may stay taken before its event is stored: one publish invocation (the
 * publish function's timeout, `lambdas/publish-pipeline.ts`; a test keeps this above it), plus
 * a margin for clock skew between the functions that stamp it.
 */
export const IN_FLIGHT_SECONDS = 65;
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

  async append(
    tenant: string | undefined,
    channel: string,
    events: readonly NewEvent[],
    now: number,
  ): Promise<StoredEvent[]> {
    // One event twice in a batch (an at-least-once redelivery) is one event.
    const byId = new Map(events.map((e) => [e.eventId, e]));
    const known = await this.knownNumbers(tenant, channel, [...byId.keys()]);
    const stored = new Map<string, StoredEvent>();
    for (const [id, seq] of known) stored.set(id, { seq, payload: (byId.get(id) as NewEvent).render(seq) });
    const fresh = [...byId.values()].filter((e) => !known.has(e.eventId));
    if (fresh.length > 0) {
      const last = await this.take(tenant, channel, fresh.length, now);
      const ttl = now + this.retention.seconds;
      const writes: Record<string, unknown>[] = [];
      fresh.forEach(({ eventId: id, render }, i) => {
        const seq = last - fresh.length + 1 + i;
        const payload = render(seq);
        stored.set(id, { seq, payload });
        // `at`: when the number was taken (see `replay`).
        writes.push({
          [PK]: historyPartition(tenant, channel),
          [SK]: eventKey(seq),
          seq,
          payload,
          at: now,
          [TTL]: ttl,
        });
        writes.push({ ...markerKey(tenant, channel, id), seq, [TTL]: ttl });
      });
      await this.writeAll(writes);
    }
    return events.map((e) => stored.get(e.eventId) as StoredEvent);
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

  /** The numbers already given to these events (redeliveries), by event id. */
  private async knownNumbers(
    tenant: string | undefined,
    channel: string,
    ids: readonly string[],
  ): Promise<Map<string, number>> {
    const known = new Map<string, number>();
    const byKey = new Map(ids.map((id) => [markerKey(tenant, channel, id)[PK], id]));
    for (const part of chunks(ids, MAX_BATCH_GET)) {
      let keys: Record<string, unknown>[] | undefined = part.map((id) => markerKey(tenant, channel, id));
      for (let round = 0; keys && keys.length > 0; round++) {
        if (round >= MAX_UNPROCESSED_ROUNDS) throw new HistoryWriteError('event numbers could not be read');
        if (round > 0) await sleep(backoff(round));
        const result = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: '#pk, seq',
                ExpressionAttributeNames: { '#pk': PK },
              },
            },
          }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          const id = byKey.get(String(item[PK]));
          if (id !== undefined) known.set(id, Number(item.seq));
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return known;
  }

  private async writeAll(items: readonly Record<string, unknown>[]): Promise<void> {
    for (const part of chunks(items, MAX_BATCH_WRITE)) {
      let requests: unknown[] | undefined = part.map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; requests && requests.length > 0; round++) {
        if (round >= MAX_UNPROCESSED_ROUNDS) throw new HistoryWriteError('events could not be stored');
        if (round > 0) await sleep(backoff(round));
        const result: BatchWriteCommandOutput = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests as never } }),
        );
        requests = result.UnprocessedItems?.[this.tableName];
      }
    }
  }
}

/** Full-jitter exponential backoff for unprocessed batch items. */
const backoff = (round: number) => Math.random() * Math.min(1000, 25 * 2 ** round);
