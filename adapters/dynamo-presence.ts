/**
 * `PresenceStore` on the one table (`table-schema.ts`): one member entry per user of a presence
 * channel, `pk = pres#{tenant}#{channel}`, `sk = {userId}`, holding the string set `conns` of the
 * user's subscribed connection ids and a TTL.
 *
 * A join is one `UpdateItem` that `ADD`s the connection id and returns the entry as it was
 * (`ReturnValues: ALL_OLD`): the user joined when the set held no other connection. A leave is one
 * `UpdateItem` that `DELETE`s it and returns the entry as it is now (`ALL_NEW`): the user left when
 * no connection is left; DynamoDB drops a string set that becomes empty ("DELETE - Removes one or
 * more elements from a set", UpdateItem in the DynamoDB API reference), and a conditional
 * `DeleteItem` then removes the entry unless a connection was added meanwhile. No read before any
 * write, and nothing touched but the one entry: a join or a leave costs the same whatever else
 * the connection subscribes.
 *
 * Keys are built from validated parts only: channel names and tenants keep to
 * `[A-Za-z0-9_.:@-]`, which has no `#`, so no channel reaches another channel's or tenant's
 * members; the user id is the whole sort key, so it needs no escaping.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { PresenceStore } from '../core/ports.js';
import type { PresenceMember } from '../core/protocol.js';
import { TABLE_SCHEMA } from './table-schema.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_SCHEMA;

export const presencePartition = (tenant: string | undefined, channel: string) =>
  `pres#${tenant ?? ''}#${channel}`;
export const memberKey = (tenant: string | undefined, channel: string, userId: string) => ({
  [PK]: presencePartition(tenant, channel),
  [SK]: userId,
});

/** The attribute holding a member's connection ids (a string set). */
const CONNS = 'conns';

/** Tries of a join whose entry expired meanwhile or was replaced by another join at once. */
const JOIN_ATTEMPTS = 3;

/**
 * The members Query (the `presence` reply sends exactly this; the benchmark sends it too, with
 * `ReturnConsumedCapacity`). Strongly consistent: a client asking right after its own subscribe
 * must find itself.
 */
export function membersQueryInput(
  tableName: string,
  tenant: string | undefined,
  channel: string,
  now: number,
  page: {
    readonly limit?: number;
    readonly countOnly?: boolean;
    readonly startKey?: Record<string, unknown>;
  },
): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: '#pk = :pk',
    // DynamoDB deletes expired entries only eventually; an entry a leave emptied and has not
    // deleted yet is no member either.
    FilterExpression: '#ttl > :now AND attribute_exists(#conns)',
    ExpressionAttributeNames: {
      '#pk': PK,
      '#ttl': TTL,
      '#conns': CONNS,
      ...(page.countOnly ? {} : { '#sk': SK }),
    },
    ExpressionAttributeValues: { ':pk': presencePartition(tenant, channel), ':now': now },
    ...(page.countOnly ? { Select: 'COUNT' } : { ProjectionExpression: '#sk, #conns' }),
    ...(page.limit !== undefined ? { Limit: page.limit } : {}),
    ConsistentRead: true,
    ExclusiveStartKey: page.startKey,
  };
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

export class DynamoPresenceStore implements PresenceStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async join(
    tenant: string | undefined,
    channel: string,
    userId: string,
    connectionId: string,
    now: number,
    until: number,
  ): Promise<boolean> {
    const Key = memberKey(tenant, channel, userId);
    for (let attempt = 1; ; attempt++) {
      try {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key,
            // Each join moves the TTL later: the entry outlives every connection in it.
            UpdateExpression: 'ADD #conns :conn SET #ttl = :until',
            // A live entry, or none; an expired one that DynamoDB has not deleted yet is replaced.
            ConditionExpression: 'attribute_not_exists(#pk) OR #ttl > :now',
            ExpressionAttributeNames: { '#pk': PK, '#conns': CONNS, '#ttl': TTL },
            ExpressionAttributeValues: { ':conn': new Set([connectionId]), ':until': until, ':now': now },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const before = (Attributes?.[CONNS] as Set<string> | undefined) ?? new Set<string>();
        // A repeat by the only connection is a join again: the first may not have been announced.
        return [...before].every((id) => id === connectionId);
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= JOIN_ATTEMPTS) throw error;
      }
      try {
        // The expired entry's connections are long gone: this one starts it afresh.
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...Key, [CONNS]: new Set([connectionId]), [TTL]: until },
            ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :now',
            ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL },
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        return true;
      } catch (error) {
        // Another join renewed it first: add to that one.
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  async leave(
    tenant: string | undefined,
    channel: string,
    userId: string,
    connectionId: string,
  ): Promise<boolean> {
    const Key = memberKey(tenant, channel, userId);
    let before: Set<string> | undefined;
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'DELETE #conns :conn',
          // Without it, an update of a missing entry would create one.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK, '#conns': CONNS },
          ExpressionAttributeValues: { ':conn': new Set([connectionId]) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      before = Attributes?.[CONNS] as Set<string> | undefined;
    } catch (error) {
      // No entry: the user was no member (or its leave is done), nothing to announce.
      if (isConditionFailure(error)) return false;
      throw error;
    }
    const remaining = [...(before ?? [])].filter((id) => id !== connectionId);
    if (remaining.length > 0) return false;
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key,
          ConditionExpression: 'attribute_not_exists(#conns)',
          ExpressionAttributeNames: { '#conns': CONNS },
        }),
      );
    } catch (error) {
      // A connection of the user joined in between (and announced it): the user never left.
      if (isConditionFailure(error)) return false;
      throw error;
    }
    // Announced by the call that took the last connection out, once: a repeat (the disconnect,
    // the sweep and a 410 at fan-out may all remove one connection) finds it gone already and only
    // finishes the delete. A repeated leave could arrive after the user's next join and hide them.
    return before?.has(connectionId) === true;
  }

  async members(
    tenant: string | undefined,
    channel: string,
    now: number,
    limit: number,
  ): Promise<{ members: PresenceMember[]; count: number }> {
    const members: PresenceMember[] = [];
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const wanted = limit - members.length;
      // The first `limit` members in full, then only counted: a `COUNT` Query returns no items,
      // though it reads (and costs) as much.
      const page = await this.client.send(
        new QueryCommand(
          membersQueryInput(this.tableName, tenant, channel, now, {
            ...(wanted > 0 ? { limit: wanted } : { countOnly: true }),
            ...(startKey ? { startKey } : {}),
          }),
        ),
      );
      if (wanted > 0) {
        for (const item of page.Items ?? []) {
          const conns = item[CONNS] as Set<string>;
          members.push({ userId: String(item[SK]), connections: conns.size });
        }
        count = members.length;
      } else {
        count += page.Count ?? 0;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { members, count };
  }
}
