/**
 * `ChannelHistory` on the same DynamoDB table, in its own partition per channel and tenant
 * (`hist#{tenant}#{channel}`), apart from the subscribers, so fan-out's Query never reads history:
 * - `sk = seq`: the atomic counter;
 * - `sk = e#{seq, 16 digits}`: the delivered message, kept for the retention window (TTL);
 * - `sk = id#{eventId}`: which seq an event got, so a redelivered event keeps its number.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ChannelHistory, ReplayResult, StoredEvent } from '../core/ports.js';
import { TABLE_SCHEMA } from './table-schema.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_SCHEMA;

export const historyPartition = (tenant: string | undefined, channel: string) =>
  `hist#${tenant ?? ''}#${channel}`;
const eventKey = (seq: number) => `e#${String(seq).padStart(16, '0')}`;

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
    const { Item: seen } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: marker, ConsistentRead: true }),
    );
    if (seen) {
      const seq = Number(seen.seq);
      return { seq, payload: render(seq) };
    }
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [PK]: pk, [SK]: 'seq' },
        UpdateExpression: 'ADD seq :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const seq = Number(Attributes?.seq);
    const payload = render(seq);
    const ttl = now + this.retention.seconds;
    // Event first, marker second: a crash in between makes a retry store the event again under a
    // new seq, which clients drop by id; the other order could make a retry skip storing it.
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [PK]: pk, [SK]: eventKey(seq), seq, eventId, payload, [TTL]: ttl },
      }),
    );
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...marker, seq, [TTL]: ttl } }),
    );
    return { seq, payload };
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
        }),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? [])
        events.push({ seq: Number(item.seq), payload: String(item.payload) });
    } while (startKey);
    // Complete when the first event after `after` is still here. A seq that was allocated but never
    // stored (a crash mid-publish) also reads as incomplete: the safe side, the client reloads.
    return { events, complete: events[0]?.seq === after + 1 };
  }
}
