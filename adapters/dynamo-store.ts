/**
 * `ConnectionStore` on one DynamoDB table (schema: `table-schema.ts`).
 *
 * Keys are built only from validated parts: channel names and tenants match
 * `[A-Za-z0-9_.:@-]`, which has no `#`, so no channel can forge another channel's or another
 * tenant's key. DynamoDB deletes expired items only eventually, so every read also filters on
 * the TTL attribute.
 *
 * Every write goes through `write`, which retries one that DynamoDB refused for racing a
 * transaction on the same item (`transaction-conflicts.ts`): a subscribe is a transaction on the
 * connection entry, and each message's admission, an unsubscribe and a refresh write that entry
 * too, so back-to-back messages on one connection meet such conflicts.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Identity } from '../core/identity.js';
import type {
  AddSubscriptionResult,
  Audience,
  ClientConnectionStore,
  ConnectionRecord,
  ConnectionStore,
  Cursor,
  LiveConnection,
  SubscriberRecord,
  SweepEntry,
} from '../core/ports.js';
import type { Bucket } from '../core/rate-limit.js';
import { isWildcard, wildcardPrefix, wildcardPrefixes } from '../core/wildcards.js';
import { mergedAudiencePage } from './dynamo-audience.js';
import { TABLE_SCHEMA } from './table-schema.js';
import {
  type ConflictRetryOptions,
  cancellationCodes,
  retryTransactionConflicts,
} from './transaction-conflicts.js';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL, sweepIndex, liveShards } = TABLE_SCHEMA;

/** Entries outlive the connection's hard end by this much, so the sweep always gets there first. */
const TTL_GRACE_SECONDS = 60;

export const connectionKey = (connectionId: string) => ({ [PK]: `conn#${connectionId}`, [SK]: 'conn' });
export const channelPartition = (tenant: string | undefined, channel: string) =>
  `chan#${tenant ?? ''}#${channel}`;
/**
 * The partition of a tenant's wildcard subscriptions with one prefix (PROTOCOL §8): `apps:*` is
 * kept under `pat#{tenant}#apps:`, so publishing to `apps:x` finds it with one Query.
 */
export const wildcardPartition = (tenant: string | undefined, prefix: string) =>
  `pat#${tenant ?? ''}#${prefix}`;
/** A subscription's entry: by channel, or by prefix for a wildcard pattern. */
const subscriptionKey = (tenant: string | undefined, channel: string, connectionId: string) => ({
  [PK]: isWildcard(channel)
    ? wildcardPartition(tenant, wildcardPrefix(channel))
    : channelPartition(tenant, channel),
  [SK]: connectionId,
});

/**
 * The fan-out Query: one page of a channel's live subscribers (`subscribers()` sends exactly this;
 * the benchmark sends it too, with `ReturnConsumedCapacity`, to measure what a publish reads).
 */
export function subscribersQueryInput(
  tableName: string,
  tenant: string | undefined,
  channel: string,
  now: number,
  startKey?: Record<string, unknown>,
): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: '#pk = :pk',
    FilterExpression: '#ttl > :now',
    ProjectionExpression: 'connectionId, userId, #roles, tenant, anonymous',
    ExpressionAttributeNames: { '#pk': PK, '#ttl': TTL, '#roles': 'roles' },
    ExpressionAttributeValues: { ':pk': channelPartition(tenant, channel), ':now': now },
    // A subscribe acknowledged just before this publish must be seen.
    ConsistentRead: true,
    ExclusiveStartKey: startKey,
  };
}

/** A stable hash of a connection id, to spread connections over shards. */
function connectionHash(connectionId: string): number {
  let hash = 0;
  for (const char of connectionId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash;
}

/** Spreads connections over a few index partitions; stable per connection. */
function sweepShard(connectionId: string): string {
  return `sweep#${connectionHash(connectionId) % sweepIndex.shards}`;
}

/** The live-index entry of a connection (broadcast's audience, admin stats). */
export const liveKey = (tenant: string | undefined, connectionId: string) => ({
  [PK]: livePartition(tenant, connectionHash(connectionId) % liveShards),
  [SK]: connectionId,
});
const livePartition = (tenant: string | undefined, shard: number) => `live#${tenant ?? ''}#${shard}`;

/**
 * The tenant registry: one item per tenant that has had a connection lately (`tenant#` for
 * connections without one), so that a platform admin's stats find every tenant's live index
 * without a Scan. Each item outlives the connections that wrote it (`TENANT_REGISTRY_SLACK_SECONDS`).
 */
const TENANT_REGISTRY = 'tenants';
export const tenantRegistryKey = (tenant: string | undefined) => ({
  [PK]: TENANT_REGISTRY,
  [SK]: `tenant#${tenant ?? ''}`,
});
/**
 * A registry item lives this much longer than the connection that wrote it, and a store instance
 * rewrites it only when a connection would outlive what it wrote: one write per tenant per hour
 * and per Lambda instance, not one per connect.
 */
const TENANT_REGISTRY_SLACK_SECONDS = 3600;

/** The attributes of a live-index item, for stats and the dashboard. */
const LIVE_PROJECTION =
  'connectionId, userId, #roles, tenant, anonymous, email, connectedAt, tokenExpiresAt, channels, #ttl';

/** The user-index entry of a connection (direct messages to a user's every connection). */
export const userKey = (tenant: string | undefined, userId: string, connectionId: string) => ({
  [PK]: `usr#${tenant ?? ''}#${userId}`,
  [SK]: connectionId,
});

/**
 * The connection-id range of fan-out shard `shard` of `shards`, as sort-key bounds. API Gateway's
 * connection ids are random standard base64 (`L0SM9cOFvHcCIhw=`), so their first characters split
 * evenly; the first and last ranges are open so that any id falls in exactly one range.
 */
export function connectionIdRange(shard: number, shards: number): { lo: string; hi: string } {
  const alphabet = [...BASE64_SORTED];
  const start = Math.floor((shard * alphabet.length) / shards);
  const end = Math.floor(((shard + 1) * alphabet.length) / shards);
  return {
    lo: shard === 0 ? '\u0001' : (alphabet[start] as string),
    hi: shard === shards - 1 ? '\uffff' : `${alphabet[end - 1] as string}\uffff`,
  };
}

/** The base64 alphabet in DynamoDB's (UTF-8 byte) order. */
const BASE64_SORTED = '+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The sweep index's sort key: when the connection must be closed whatever its activity. It moves
 * only at `$connect` and `refresh`, so a client message never rewrites the index (liveness is API
 * Gateway's: the sweep asks `GET @connections`).
 */
const sweepAt = (c: Pick<ConnectionRecord, 'tokenExpiresAt' | 'endsAt'>) =>
  Math.min(c.tokenExpiresAt, c.endsAt);

interface ConnectionItem {
  connectionId: string;
  userId: string;
  email?: string;
  roles: string[];
  tenant?: string;
  anonymous: boolean;
  connectedAt: number;
  tokenExpiresAt: number;
  endsAt: number;
  channels?: Set<string>;
  bucket?: Bucket;
  [TTL]: number;
}

function identityOf(item: {
  userId: string;
  roles?: string[];
  tenant?: string;
  email?: string;
  anonymous?: boolean;
}): Identity {
  return {
    userId: item.userId,
    roles: item.roles ?? [],
    anonymous: item.anonymous === true,
    ...(item.tenant ? { tenant: item.tenant } : {}),
    ...(item.email ? { email: item.email } : {}),
  };
}

function toRecord(item: ConnectionItem): ConnectionRecord {
  return {
    connectionId: item.connectionId,
    identity: identityOf(item),
    connectedAt: item.connectedAt,
    tokenExpiresAt: item.tokenExpiresAt,
    endsAt: item.endsAt,
    channels: [...(item.channels ?? [])],
    ...(item.bucket ? { bucket: item.bucket } : {}),
  };
}

function identityAttributes(identity: Identity) {
  return {
    userId: identity.userId,
    roles: [...identity.roles],
    anonymous: identity.anonymous,
    ...(identity.tenant ? { tenant: identity.tenant } : {}),
    ...(identity.email ? { email: identity.email } : {}),
  };
}

/** A connection's live-index attributes (its channels are added by `addSubscription`). */
function liveAttributes(connection: ConnectionRecord) {
  return {
    connectionId: connection.connectionId,
    ...identityAttributes(connection.identity),
    connectedAt: connection.connectedAt,
    tokenExpiresAt: connection.tokenExpiresAt,
    [TTL]: connection.endsAt + TTL_GRACE_SECONDS,
  };
}

function toLiveConnection(item: Record<string, unknown>): LiveConnection {
  const live = item as {
    connectionId: string;
    userId: string;
    connectedAt?: number;
    tokenExpiresAt?: number;
    channels?: Set<string>;
  } & Record<string, unknown>;
  const ttl = Number(item[TTL]);
  return {
    connectionId: live.connectionId,
    identity: identityOf(live),
    // An item written before the live index kept these: the best that is known.
    connectedAt: live.connectedAt ?? 0,
    tokenExpiresAt: live.tokenExpiresAt ?? ttl,
    channels: [...(live.channels ?? [])],
  };
}

function isConditionFailure(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  return (
    error instanceof TransactionCanceledException &&
    cancellationCodes(error).includes('ConditionalCheckFailed')
  );
}

export interface DynamoConnectionStoreOptions {
  /** How a write refused for a transaction conflict is retried. @default - `ConflictRetryOptions`' defaults */
  readonly conflictRetry?: ConflictRetryOptions;
}

/**
 * The connection store as the message routes use it (`ClientConnectionStore`): a class of its own so
 * that their bundle holds none of what `DynamoConnectionStore` adds (see `ClientConnectionStore`).
 */
export class DynamoClientConnectionStore implements ClientConnectionStore {
  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly tableName: string,
    protected readonly options: DynamoConnectionStoreOptions = {},
  ) {}

  /**
   * Runs one write (`send` builds a new request each time), again while DynamoDB refuses it for a
   * transaction under way on the same item; still refused after the last attempt, it throws
   * `TransactionConflictError`. Conditions make every write here safe to repeat.
   */
  protected write<T>(operation: string, send: () => Promise<T>): Promise<T> {
    return retryTransactionConflicts(operation, send, this.options.conflictRetry);
  }

  async getConnection(connectionId: string, now: number): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
    );
    if (!Item || (Item[TTL] as number) <= now) return undefined;
    return toRecord(Item as ConnectionItem);
  }

  async recordMessage(
    connection: ConnectionRecord,
    bucket: Bucket,
    now: number,
  ): Promise<'recorded' | 'conflict' | 'gone'> {
    const previousAt = connection.bucket?.at;
    try {
      // Optimistic concurrency on the bucket: two messages of one connection can run at once.
      await this.write('recordMessage', () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: connectionKey(connection.connectionId),
            // BUCKET is a DynamoDB reserved word, hence #bucket.
            // The bucket only: no index key moves, so one write unit.
            UpdateExpression: 'SET #bucket = :bucket',
            ConditionExpression:
              previousAt === undefined
                ? 'attribute_exists(#pk) AND attribute_not_exists(#bucket)'
                : 'attribute_exists(#pk) AND #bucket.#bucketAt = :previousAt',
            ExpressionAttributeNames: {
              '#pk': PK,
              '#bucket': 'bucket',
              ...(previousAt === undefined ? {} : { '#bucketAt': 'at' }),
            },
            ExpressionAttributeValues: {
              ':bucket': { ...bucket },
              ...(previousAt === undefined ? {} : { ':previousAt': previousAt }),
            },
          }),
        ),
      );
      return 'recorded';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return (await this.getConnection(connection.connectionId, now)) ? 'conflict' : 'gone';
    }
  }

  /** Applies one update to a registered connection; false when it is no longer registered. */
  private async updateConnection(
    connectionId: string,
    expression: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<boolean> {
    try {
      await this.write('updateConnection', () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: connectionKey(connectionId),
            UpdateExpression: expression,
            ConditionExpression: 'attribute_exists(#pk)',
            // DynamoDB refuses names an expression does not use, so `#at` is only sent with one.
            ExpressionAttributeNames: {
              '#pk': PK,
              ...(expression.includes('#at') ? { '#at': sweepIndex.sortKey } : {}),
              ...names,
            },
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async addSubscription(
    connection: ConnectionRecord,
    channel: string,
    limit: number,
    now: number,
  ): Promise<AddSubscriptionResult> {
    if (connection.channels.includes(channel)) return 'already_subscribed';
    const { tenant } = connection.identity;
    try {
      // One transaction: the cap is enforced by the condition on the connection entry, and a
      // disconnect that removed the connection in between makes the whole subscribe fail.
      await this.write('addSubscription', () =>
        this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: connectionKey(connection.connectionId),
                  UpdateExpression: 'ADD channels :channel',
                  ConditionExpression:
                    'attribute_exists(#pk) AND (attribute_not_exists(channels) OR contains(channels, :name) OR size(channels) < :limit)',
                  ExpressionAttributeNames: { '#pk': PK },
                  ExpressionAttributeValues: {
                    ':channel': new Set([channel]),
                    ':name': channel,
                    ':limit': limit,
                  },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...subscriptionKey(tenant, channel, connection.connectionId),
                    connectionId: connection.connectionId,
                    channel,
                    ...identityAttributes(connection.identity),
                    [TTL]: connection.endsAt + TTL_GRACE_SECONDS,
                  },
                },
              },
              // The live item keeps the channel list too, so stats read no connection item.
              { Update: this.liveChannelUpdate(connection, 'ADD', channel) },
            ],
          }),
        ),
      );
      return 'added';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.getConnection(connection.connectionId, now);
      if (!current) return 'connection_gone';
      return current.channels.includes(channel) ? 'already_subscribed' : 'limit_reached';
    }
  }

  async removeSubscription(connection: ConnectionRecord, channel: string): Promise<void> {
    const { tenant } = connection.identity;
    try {
      // One transaction: the entry, the connection's set and its live item's copy of it.
      await this.write('removeSubscription', () =>
        this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.tableName,
                  Key: subscriptionKey(tenant, channel, connection.connectionId),
                },
              },
              {
                Update: {
                  TableName: this.tableName,
                  Key: connectionKey(connection.connectionId),
                  UpdateExpression: 'DELETE channels :channel',
                  ConditionExpression: 'attribute_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': PK },
                  ExpressionAttributeValues: { ':channel': new Set([channel]) },
                },
              },
              { Update: this.liveChannelUpdate(connection, 'DELETE', channel) },
            ],
          }),
        ),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The connection is gone (or its live item is, on an item written before the live index
      // kept channels): entry first, then the set, each on its own; a crash in between leaves a
      // name in the set whose entry is gone, which a later delete by key tolerates.
      await this.removeSubscriptionEntry(tenant, channel, connection.connectionId);
      await this.updateConnection(connection.connectionId, 'DELETE channels :channel', {
        ':channel': new Set([channel]),
      });
    }
  }

  /**
   * The live item's side of a subscribe (`ADD`) or unsubscribe (`DELETE`), for a transaction. An
   * unsubscribe requires the item; a subscribe writes it whole if it is missing (an item written
   * before the live index kept channels), never overwriting what is there.
   */
  private liveChannelUpdate(connection: ConnectionRecord, op: 'ADD' | 'DELETE', channel: string) {
    const target = {
      TableName: this.tableName,
      Key: liveKey(connection.identity.tenant, connection.connectionId),
    };
    if (op === 'DELETE') {
      return {
        ...target,
        UpdateExpression: 'DELETE channels :channel',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':channel': new Set([channel]) },
      };
    }
    const attributes = Object.entries(liveAttributes(connection));
    return {
      ...target,
      UpdateExpression: `SET ${attributes.map((_, i) => `#a${i} = if_not_exists(#a${i}, :a${i})`).join(', ')} ADD channels :channel`,
      ExpressionAttributeNames: Object.fromEntries(attributes.map(([name], i) => [`#a${i}`, name])),
      ExpressionAttributeValues: {
        ':channel': new Set([channel]),
        ...Object.fromEntries(attributes.map(([, value], i) => [`:a${i}`, value])),
      },
    };
  }

  async removeSubscriptionEntry(
    tenant: string | undefined,
    channel: string,
    connectionId: string,
  ): Promise<void> {
    await this.write('removeSubscriptionEntry', () =>
      this.client.send(
        new DeleteCommand({ TableName: this.tableName, Key: subscriptionKey(tenant, channel, connectionId) }),
      ),
    );
  }

  async *subscribers(
    tenant: string | undefined,
    channel: string,
    now: number,
  ): AsyncIterable<readonly SubscriberRecord[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand(subscribersQueryInput(this.tableName, tenant, channel, now, startKey)),
      );
      startKey = page.LastEvaluatedKey;
      const items = (page.Items ?? []) as Array<{ connectionId: string; userId: string }>;
      if (items.length > 0) {
        yield items.map((item) => ({ connectionId: item.connectionId, identity: identityOf(item) }));
      }
    } while (startKey);
  }

  async removeConnection(connectionId: string): Promise<void> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId), ConsistentRead: true }),
    );
    if (!Item) return;
    const item = Item as ConnectionItem;
    const keys = [
      ...[...(item.channels ?? [])].map((channel) => subscriptionKey(item.tenant, channel, connectionId)),
      liveKey(item.tenant, connectionId),
      userKey(item.tenant, item.userId, connectionId),
      connectionKey(connectionId),
    ];
    await this.deleteAll(keys);
  }

  /** BatchWrite in chunks of 25, retrying what DynamoDB leaves unprocessed. */
  private async deleteAll(keys: Record<string, string>[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 2 ** attempt * 25)));
        if (attempt > 8) throw new Error('DynamoDB left deletes unprocessed after 8 retries');
        const batch = requests;
        const result = await this.write('removeConnection', () =>
          this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: batch } })),
        );
        requests = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  async updateToken(
    connection: ConnectionRecord,
    identity: Identity,
    tokenExpiresAt: number,
  ): Promise<boolean> {
    const updated = await this.updateConnectionToken(connection, identity, tokenExpiresAt);
    if (updated) {
      // The live item's copy (stats count only connections whose token is valid; broadcast
      // re-checks the roles). Absent on an item written before the live index kept them: skipped.
      try {
        await this.write('updateToken', () =>
          this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: liveKey(connection.identity.tenant, connection.connectionId),
              UpdateExpression: 'SET tokenExpiresAt = :exp, #roles = :roles, email = :email',
              ConditionExpression: 'attribute_exists(#pk)',
              ExpressionAttributeNames: { '#pk': PK, '#roles': 'roles' },
              ExpressionAttributeValues: {
                ':exp': tokenExpiresAt,
                ':roles': [...identity.roles],
                ':email': identity.email ?? null,
              },
            }),
          ),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return updated;
  }

  private updateConnectionToken(
    connection: ConnectionRecord,
    identity: Identity,
    tokenExpiresAt: number,
  ): Promise<boolean> {
    return this.updateConnection(
      connection.connectionId,
      'SET tokenExpiresAt = :exp, #roles = :roles, email = :email, #at = :at',
      {
        ':exp': tokenExpiresAt,
        ':roles': [...identity.roles],
        ':email': identity.email ?? null,
        ':at': sweepAt({ endsAt: connection.endsAt, tokenExpiresAt }),
      },
      { '#roles': 'roles' },
    );
  }

  async *liveConnections(tenant: string | undefined | null, now: number): AsyncIterable<LiveConnection> {
    const tenants = tenant === null ? await this.registeredTenantNames(now) : [tenant];
    for (const name of tenants) {
      // A tenant's live index: `liveShards` partitions, read at once, each page by page.
      const shards = await Promise.all(
        Array.from({ length: liveShards }, (_, shard) => this.queryAll(livePartition(name, shard), now)),
      );
      for (const items of shards) for (const item of items) yield toLiveConnection(item);
    }
  }

  /** Every tenant in the registry (undefined for connections without one). */
  private async registeredTenantNames(now: number): Promise<(string | undefined)[]> {
    const items = await this.queryAll(TENANT_REGISTRY, now);
    return items.map((item) => String(item[SK]).slice('tenant#'.length) || undefined);
  }

  /**
   * Every unexpired item of one partition, page by page (eventually consistent: counts for an
   * admin, at half the read units of a consistent read).
   */
  private async queryAll(partition: string, now: number): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          FilterExpression: '#ttl > :now',
          ...(partition === TENANT_REGISTRY ? {} : { ProjectionExpression: LIVE_PROJECTION }),
          ExpressionAttributeNames: {
            '#pk': PK,
            '#ttl': TTL,
            ...(partition === TENANT_REGISTRY ? {} : { '#roles': 'roles' }),
          },
          ExpressionAttributeValues: { ':pk': partition, ':now': now },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

/**
 * The whole connection store: the message routes' part, and what `$connect` (registering a
 * connection and its tenant), the sweep (its index) and fan-out (audience pages) add.
 */
export class DynamoConnectionStore extends DynamoClientConnectionStore implements ConnectionStore {
  async putConnection(connection: ConnectionRecord): Promise<void> {
    const item = {
      ...connectionKey(connection.connectionId),
      connectionId: connection.connectionId,
      ...identityAttributes(connection.identity),
      connectedAt: connection.connectedAt,
      tokenExpiresAt: connection.tokenExpiresAt,
      endsAt: connection.endsAt,
      [sweepIndex.partitionKey]: sweepShard(connection.connectionId),
      [sweepIndex.sortKey]: sweepAt(connection),
      [TTL]: connection.endsAt + TTL_GRACE_SECONDS,
    };
    const live = {
      ...liveKey(connection.identity.tenant, connection.connectionId),
      ...liveAttributes(connection),
    };
    const byUser = {
      ...live,
      ...userKey(connection.identity.tenant, connection.identity.userId, connection.connectionId),
    };
    await Promise.all([
      ...[item, live, byUser].map((Item) =>
        this.write('putConnection', () =>
          this.client.send(new PutCommand({ TableName: this.tableName, Item })),
        ),
      ),
      this.registerTenant(connection.identity.tenant, connection.endsAt + TTL_GRACE_SECONDS),
    ]);
  }

  /** Tenants registered by this instance, and until when (epoch seconds). */
  private readonly registeredTenants = new Map<string, number>();

  /** Keeps the tenant in the registry at least until `until`. */
  private async registerTenant(tenant: string | undefined, until: number): Promise<void> {
    const name = tenant ?? '';
    if ((this.registeredTenants.get(name) ?? 0) >= until) return;
    const expires = until + TENANT_REGISTRY_SLACK_SECONDS;
    await this.write('registerTenant', () =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...tenantRegistryKey(tenant), ...(tenant ? { tenant } : {}), [TTL]: expires },
        }),
      ),
    );
    this.registeredTenants.set(name, expires);
  }

  /**
   * Every entry of the sweep index, in order of due time across its shards (each shard's Query is
   * sorted by it; the shards are merged), so a run cut short leaves out the entries due last.
   */
  async *sweepEntries(): AsyncIterable<SweepEntry> {
    const shards = Array.from({ length: sweepIndex.shards }, (_, shard) =>
      this.sweepShard(shard)[Symbol.asyncIterator](),
    );
    const heads = await Promise.all(shards.map((shard) => shard.next()));
    for (;;) {
      let first = -1;
      heads.forEach((head, i) => {
        const current = heads[first];
        if (!head.done && (current === undefined || current.done || head.value.dueAt < current.value.dueAt)) {
          first = i;
        }
      });
      const head = heads[first];
      if (head === undefined || head.done) return;
      yield head.value;
      heads[first] = await (shards[first] as AsyncIterator<SweepEntry>).next();
    }
  }

  private async *sweepShard(shard: number): AsyncIterable<SweepEntry> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: sweepIndex.name,
          KeyConditionExpression: '#shard = :shard',
          ExpressionAttributeNames: { '#shard': sweepIndex.partitionKey },
          ExpressionAttributeValues: { ':shard': `sweep#${shard}` },
          ExclusiveStartKey: startKey,
        }),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? []) {
        yield {
          connectionId: String(item[PK]).slice('conn#'.length),
          dueAt: Number(item[sweepIndex.sortKey]),
        };
      }
    } while (startKey);
  }

  async audiencePage(
    tenant: string | undefined,
    audience: Audience,
    now: number,
    limit: number,
    cursor?: Cursor,
  ): Promise<{ items: SubscriberRecord[]; cursor?: Cursor }> {
    if (audience.kind === 'channel') {
      // The exact subscribers and the pattern subscribers of every prefix, merged by connection
      // id (`dynamo-audience.ts`): one Query per partition and page.
      const { lo, hi } = connectionIdRange(audience.shard, audience.shards);
      const partitions = [
        channelPartition(tenant, audience.channel),
        ...wildcardPrefixes(audience.channel).map((prefix) => wildcardPartition(tenant, prefix)),
      ];
      return mergedAudiencePage(
        partitions,
        async (partition, after) => {
          const page = await this.subscriberPage(
            {
              KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
              ExpressionAttributeValues: { ':pk': partition, ':lo': lo, ':hi': hi, ':now': now },
            },
            limit,
            after === undefined ? undefined : { [PK]: partition, [SK]: after },
          );
          return page.cursor ? { items: page.items, last: String(page.cursor[SK]) } : page;
        },
        cursor,
      );
    }
    return this.subscriberPage(
      {
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeValues: {
          ':pk':
            audience.kind === 'live'
              ? `live#${tenant ?? ''}#${audience.shard}`
              : `usr#${tenant ?? ''}#${audience.userId}`,
          ':now': now,
        },
      },
      limit,
      cursor,
    );
  }

  /** One Query page of subscription-like items (channel, pattern, live or user entries). */
  private async subscriberPage(
    condition: { KeyConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<{ items: SubscriberRecord[]; cursor?: Cursor }> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        ...condition,
        FilterExpression: '#ttl > :now',
        ProjectionExpression: 'connectionId, userId, #roles, tenant, anonymous',
        ExpressionAttributeNames: {
          '#pk': PK,
          '#ttl': TTL,
          '#roles': 'roles',
          ...(condition.KeyConditionExpression.includes('#sk') ? { '#sk': SK } : {}),
        },
        // A subscribe acknowledged just before this publish must be seen.
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: cursor as Record<string, unknown> | undefined,
      }),
    );
    const items = ((page.Items ?? []) as Array<{ connectionId: string; userId: string }>).map((item) => ({
      connectionId: item.connectionId,
      identity: identityOf(item),
    }));
    return page.LastEvaluatedKey ? { items, cursor: page.LastEvaluatedKey } : { items };
  }
}
