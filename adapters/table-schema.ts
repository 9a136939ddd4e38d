/**
 * The one definition of Switchboard's DynamoDB table. The CDK stack (`lib/`) and the local
 * stack (`local/`) both build the table from here, so what runs locally cannot drift from
 * what is deployed.
 *
 * Items (single-table design):
 * - connection: `pk = conn#{connectionId}`, `sk = conn`; claims, token expiry, liveness, and the
 *   set of channel keys it subscribes (so `$disconnect` deletes them by key, without a scan).
 * - subscription: `pk = chan#{tenant}#{channel}`, `sk = {connectionId}`; what fan-out needs
 *   (user, roles, tenant) so publish is one Query on the channel's partition.
 * - wildcard subscription: `pk = pat#{tenant}#{prefix}`, `sk = {connectionId}`, the same
 *   attributes; `apps:*` is kept under prefix `apps:`. Publishing to `a:b.c` reads `pat#…#a:` and
 *   `pat#…#a:b.` beside `chan#…#a:b.c`, one Query each (`dynamo-audience.ts`). The pattern is one
 *   name in the connection's channel set, so the limit, `$disconnect` and the sweep treat it as any
 *   subscription.
 * - history: `pk = hist#{tenant}#{channel}`, `sk = seq | e#{seq} | id#{eventId}`; the channel's
 *   sequence counter and retained events (see `dynamo-history.ts`).
 * - live: `pk = live#{tenant}#{shard}`, `sk = {connectionId}`; every live connection of a tenant,
 *   spread over `liveShards` keys (by connection id), so a broadcast reads the tenant's
 *   connections shard by shard, in parallel, and no key takes every connect's write. It also keeps
 *   the connection's channels (written in the subscribe and unsubscribe transactions) and token
 *   expiry, so `stats` and the dashboard read a tenant's live index and nothing else.
 * - presence member: `pk = pres#{tenant}#{channel}`, `sk = {userId}`; the string set of that user's
 *   connection ids subscribed to a presence channel (`dynamo-presence.ts`, docs/presence.md), so
 *   a join or leave writes one item and `presence` reads one partition.
 * - tenant registry: `pk = tenants`, `sk = tenant#{tenant}`; the tenants that have had connections
 *   lately, so a platform admin's `stats` finds each tenant's live index without a Scan.
 * The sparse `sweep` index holds only connection items, sorted by the moment they go stale,
 * so the sweep reads the stale ones and nothing else.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** DynamoDB TTL attribute (epoch seconds). Expiry is only eventual, so every read also filters on it. */
  ttlAttribute: 'ttl',
  sweepIndex: {
    name: 'sweep',
    /** `sweep#{n}`: a few shards so a busy fleet does not write one hot index partition. */
    partitionKey: 'sweepShard',
    /** Epoch seconds at which the connection goes stale: the earlier of liveness and token expiry. */
    sortKey: 'sweepAt',
    shards: 4,
  },
  /** Shards of the live-connection index (broadcast), and of a big channel's fan-out. */
  liveShards: 16,
} as const;

/** The table as DynamoDB's CreateTable sees it (used by the local stack; CDK maps the same fields). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const { partitionKey, sortKey, sweepIndex } = TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
      { AttributeName: sweepIndex.partitionKey, AttributeType: 'S' },
      { AttributeName: sweepIndex.sortKey, AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: sweepIndex.name,
        KeySchema: [
          { AttributeName: sweepIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: sweepIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  };
}
