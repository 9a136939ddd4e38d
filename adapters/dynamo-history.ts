/**
 * `ChannelHistory` on the same DynamoDB table, in its own partition per channel and tenant
 * (`hist#{tenant}#{channel}`), apart from the subscribers, so fan-out's Query never reads history:
 * - `sk = seq`: the counter, advanced only together with the event it numbers (one transaction);
 * - `sk = e#{seq, 16 digits}`: the delivered message, kept for the retention window (TTL);
 * - `sk = id#{eventId}`: which seq an event got, so a redelivered event keeps its number.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChannelHistory, ReplayResult, StoredEvent } from '../core/ports.js';
import { TABLE_SCHEMA } from './table-schema.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_SCHEMA;

export const historyPartition = (tenant: string | undefined, channel: string) =>
  `hist#${tenant ?? ''}#${channel}`;
const eventKey = (seq: number) => `e#${String(seq).padStart(16, '0')}`;
/** Concurrent publishes to one channel take turns for the next number; this bounds the wait. */
const MAX_APPEND_ATTEMPTS = 50;

export interface HistoryRetention {
  /** How long events stay replayable. */
  readonly seconds: number;
  /** How many of a channel's latest events stay replayable. */
  readonly maxEvents: number;
}

export class DynamoChannelHistory implements ChannelHistory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retention: HistoryRetention,
  ) {}

  async append(
    tenant: string | undefined,
    channel: string,
    eventId: string,
    render: (seq: number) => string,
    now: number,
  ): Promise<StoredEvent> {
    const pk = historyPartition(tenant, channel);
    const marker = { [PK]: pk, [SK]: `id#${eventId}` };
    const ttl = now + this.retention.seconds;
    for (let attempt = 0; ; attempt++) {
      const { Item: seen } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: marker, ConsistentRead: true }),
      );
      if (seen) {
        const seq = Number(seen.seq);
        return { seq, payload: render(seq) };
      }
      const current = await this.current(tenant, channel);
      const seq = current + 1;
      const payload = render(seq);
      try {
        // The counter, the event and its id marker move together: the counter never runs ahead
        // of the stored history, so a replay up to `current` misses nothing that exists.
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.tableName,
                  Item: { [PK]: pk, [SK]: 'seq', seq },
                  ConditionExpression: current === 0 ? 'attribute_not_exists(#pk)' : 'seq = :current',
                  ExpressionAttributeNames: current === 0 ? { '#pk': PK } : undefined,
                  ExpressionAttributeValues: current === 0 ? undefined : { ':current': current },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { [PK]: pk, [SK]: eventKey(seq), seq, eventId, payload, [TTL]: ttl },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: { ...marker, seq, [TTL]: ttl },
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': PK },
                },
              },
            ],
          }),
        );
        return { seq, payload };
      } catch (error) {
        // Another publish to this channel won the number (or this event's marker appeared): retry.
        if (!(error instanceof TransactionCanceledException) || attempt >= MAX_APPEND_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** attempt)));
      }
    }
  }

  async current(tenant: string | undefined, channel: string): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PK]: historyPartition(tenant, channel), [SK]: 'seq' },
        ConsistentRead: true,
      }),
    );
    return Item ? Number(Item.seq) : 0;
  }

  async replay(
    tenant: string | undefined,
    channel: string,
    after: number,
    upTo: number,
    now: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<ReplayResult> {
    if (after >= upTo) return { events: [], complete: after === upTo };
    // Only the latest `maxEvents` count as retained, whatever TTL has not yet deleted.
    const from = Math.max(after + 1, upTo - this.retention.maxEvents + 1);
    const events: StoredEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          FilterExpression: '#ttl > :now',
          ProjectionExpression: 'seq, payload',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL },
          ExpressionAttributeValues: {
            ':pk': historyPartition(tenant, channel),
            ':from': eventKey(from),
            ':to': eventKey(upTo),
            ':now': now,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
          // `Limit` counts the items read before the TTL filter, so a page never overshoots.
          Limit: Number.isFinite(limit) ? limit - events.length : undefined,
        }),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? [])
        events.push({ seq: Number(item.seq), payload: String(item.payload) });
    } while (startKey && events.length < limit);
    // Numbers are only taken together with their event, so a missing first one has expired.
    return { events, complete: events[0]?.seq === after + 1 };
  }
}
