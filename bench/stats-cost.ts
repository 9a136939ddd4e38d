/**
 * Stage "stats cost" (issue 10, item 6): what the admin `stats` action (and the dashboard's counts)
 * read, for 10,000 connections across 2 tenants (9,000 and 1,000), each on 3 channels.
 *
 * A fresh table (the stack's definition) gets one connection per tenant through the real
 * `DynamoConnectionStore` (connect, then three subscribes), whose connection and live items are
 * read back and copied with other ids (subscription entries are left out: neither method reads
 * them). Then, on a client that asks every call for `ReturnConsumedCapacity: 'TOTAL'`:
 *
 * - now: `liveStats(store.liveConnections(tenant))`, exactly what `stats` runs: 16 Queries of the
 *   tenant's live index, page by page (and, for a platform admin, the tenant registry first);
 * - before: what `stats` did until issue 10, the same for every admin: the sweep index's Query
 *   pages for every connection of the fleet, then one strongly consistent GetItem per connection.
 *
 * `npx tsx bench/stats-cost.ts` runs it alone (its own DynamoDB Local) and writes `statsCost` into
 * bench/results.json, keeping the other stages' results; `npm run bench` runs it as a stage.
 */
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { connectionKey, DynamoConnectionStore, liveKey } from '../adapters/dynamo-store.js';
import { createTableInput, TABLE_SCHEMA } from '../adapters/table-schema.js';
import type { ConnectionRecord } from '../core/ports.js';
import { type LiveStats, liveStats } from '../core/stats.js';
import { apiGatewayId } from '../local/emulator/aws-ids.js';
import { type BenchContext, mapConcurrently, StageError } from './context.js';
import { itemBytes, writeAll } from './dynamo-cost.js';
import { statsSection } from './report-markdown.js';
import { isMainModule, runStandaloneStage } from './standalone-stage.js';
import { round } from './stats.js';

export interface StatsCostOptions {
  /** Connections per tenant. */
  readonly tenants: Readonly<Record<string, number>>;
  readonly channelsPerConnection: number;
}

/** What one way of counting read, as DynamoDB (Local) reported it. */
export interface StatsRead {
  readonly readUnits: number;
  readonly queries: number;
  readonly getItems: number;
  /** Items DynamoDB read (before filters), over every page. */
  readonly itemsRead: number;
  readonly stats: LiveStats;
}

export interface StatsCostResult {
  readonly connections: number;
  readonly tenants: Readonly<Record<string, number>>;
  readonly channelsPerConnection: number;
  readonly itemBytes: { readonly live: number; readonly connection: number };
  readonly dynamoDbLocalReportsConsumedCapacity: boolean;
  /** `stats` of an admin of each tenant, and of a platform admin (`*`), as it is now. */
  readonly now: Readonly<Record<string, StatsRead>>;
  /** The method replaced: the same whoever asks (it read the whole fleet, then filtered). */
  readonly before: StatsRead;
  readonly writeSeconds: number;
}

const CHANNELS = ['orders', 'news', 'alerts', 'billing', 'ops'];

/** A document client whose reads are counted: units, Queries, GetItems and items read. */
function meteredReads(raw: DynamoDBClient) {
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const counts = { units: 0, queries: 0, getItems: 0, items: 0, reported: false };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as {
        ConsumedCapacity?: { CapacityUnits?: number };
        ScannedCount?: number;
        Item?: unknown;
      };
      if (output.ConsumedCapacity?.CapacityUnits !== undefined) counts.reported = true;
      counts.units += output.ConsumedCapacity?.CapacityUnits ?? 0;
      if (context.commandName === 'QueryCommand') {
        counts.queries += 1;
        counts.items += output.ScannedCount ?? 0;
      } else if (context.commandName === 'GetItemCommand') {
        // (The document client's GetCommand reaches this stack as GetItemCommand.)
        counts.getItems += 1;
        counts.items += output.Item ? 1 : 0;
      }
      return result;
    },
    { step: 'initialize', name: 'statsCostReads' },
  );
  return {
    client,
    reported: () => counts.reported,
    take(stats: LiveStats): StatsRead {
      const read = {
        readUnits: round(counts.units, 1),
        queries: counts.queries,
        getItems: counts.getItems,
        itemsRead: counts.items,
        stats,
      };
      Object.assign(counts, { units: 0, queries: 0, getItems: 0, items: 0 });
      return read;
    },
  };
}

/** The `stats` of issue 10's report: the sweep index's ids of live connections, one GetItem each. */
async function statsBefore(
  client: DynamoDBDocumentClient,
  tableName: string,
  tenant: string | null,
  now: number,
): Promise<LiveStats> {
  const { sweepIndex, partitionKey } = TABLE_SCHEMA;
  const ids: string[] = [];
  for (let shard = 0; shard < sweepIndex.shards; shard++) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: sweepIndex.name,
          KeyConditionExpression: '#shard = :shard AND #at > :now',
          ExpressionAttributeNames: { '#shard': sweepIndex.partitionKey, '#at': sweepIndex.sortKey },
          ExpressionAttributeValues: { ':shard': `sweep#${shard}`, ':now': now },
          ExclusiveStartKey: startKey,
        }),
      );
      startKey = page.LastEvaluatedKey;
      for (const item of page.Items ?? []) ids.push(String(item[partitionKey]).slice('conn#'.length));
    } while (startKey);
  }
  const items = await mapConcurrently(ids, 16, async (id) => {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: connectionKey(id), ConsistentRead: true }),
    );
    return Item;
  });
  async function* live() {
    for (const item of items) {
      if (!item || (tenant !== null && item.tenant !== tenant)) continue;
      yield {
        connectionId: String(item.connectionId),
        identity: { userId: String(item.userId), roles: [], anonymous: false, tenant: item.tenant },
        connectedAt: Number(item.connectedAt),
        tokenExpiresAt: Number(item.tokenExpiresAt),
        channels: [...((item.channels as Set<string> | undefined) ?? [])],
      };
    }
  }
  return liveStats(live(), now);
}

export async function runStatsCost(
  ctx: BenchContext,
  raw: DynamoDBClient,
  options: StatsCostOptions,
): Promise<StatsCostResult> {
  const tableName = `bench-stats-${Date.now().toString(36)}`;
  await raw.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists(
    { client: raw, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
    { TableName: tableName },
  );
  try {
    const now = Math.floor(Date.now() / 1000);
    const writer = new DynamoConnectionStore(
      DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }),
      tableName,
    );
    const channels = CHANNELS.slice(0, options.channelsPerConnection);
    const items: Record<string, AttributeValue>[] = [];
    const sizes = { live: 0, connection: 0 };
    const key = (k: Record<string, string>) => ({ pk: { S: String(k.pk) }, sk: { S: String(k.sk) } });
    for (const [tenant, count] of Object.entries(options.tenants)) {
      // One connection of the tenant through the real store: connect, then its subscribes.
      let template: ConnectionRecord = {
        connectionId: apiGatewayId(),
        identity: { userId: 'user-000000', roles: ['member'], tenant, anonymous: false },
        connectedAt: now,
        tokenExpiresAt: now + 3600,
        endsAt: now + 7200,
        channels: [],
      };
      await writer.putConnection(template);
      for (const channel of channels) {
        if ((await writer.addSubscription(template, channel, 100, now)) !== 'added') {
          throw new StageError(`the template connection of ${tenant} could not subscribe to ${channel}`);
        }
        template = (await writer.getConnection(template.connectionId, now)) as ConnectionRecord;
      }
      const read = async (k: Record<string, string>) =>
        (await raw.send(new GetItemCommand({ TableName: tableName, Key: key(k), ConsistentRead: true })))
          .Item;
      const connection = await read(connectionKey(template.connectionId));
      const live = await read(liveKey(tenant, template.connectionId));
      if (!connection || !live?.channels)
        throw new StageError(`the template items of ${tenant} were not stored`);
      sizes.connection = itemBytes(connection);
      sizes.live = itemBytes(live);
      for (let n = 1; n < count; n++) {
        const id = apiGatewayId();
        const user = { S: `user-${String(n).padStart(6, '0')}` };
        const liveAt = liveKey(tenant, id);
        items.push(
          {
            ...connection,
            pk: { S: `conn#${id}` },
            connectionId: { S: id },
            userId: user,
            [TABLE_SCHEMA.sweepIndex.partitionKey]: { S: `sweep#${n % TABLE_SCHEMA.sweepIndex.shards}` },
          },
          { ...live, ...key(liveAt), connectionId: { S: id }, userId: user },
        );
      }
    }
    const writeStarted = Date.now();
    await writeAll(ctx, raw, tableName, items);
    const writeSeconds = (Date.now() - writeStarted) / 1000;

    ctx.progress.update(0.85, 'stats: now and before');
    const meter = meteredReads(raw);
    const store = new DynamoConnectionStore(meter.client, tableName);
    meter.take({ connections: 0, subscriptions: 0, channels: 0 });
    const result: Record<string, StatsRead> = {};
    for (const scope of [...Object.keys(options.tenants), null]) {
      const stats = await liveStats(store.liveConnections(scope, now), now);
      result[scope ?? '*'] = meter.take(stats);
    }
    const before = meter.take(await statsBefore(meter.client, tableName, null, now));
    const total = Object.values(options.tenants).reduce((a, b) => a + b, 0);
    for (const [scope, read] of Object.entries({ ...result, before })) {
      const expected = scope === '*' || scope === 'before' ? total : (options.tenants[scope] as number);
      if (read.stats.connections !== expected || read.stats.subscriptions !== expected * channels.length) {
        throw new StageError(
          `stats of ${scope} counted ${JSON.stringify(read.stats)}, expected ${expected} connections`,
        );
      }
    }
    return {
      connections: total,
      tenants: options.tenants,
      channelsPerConnection: channels.length,
      itemBytes: sizes,
      dynamoDbLocalReportsConsumedCapacity: meter.reported(),
      now: result,
      before,
      writeSeconds: round(writeSeconds, 1),
    };
  } finally {
    await raw.send(new DeleteTableCommand({ TableName: tableName })).catch(() => {});
  }
}

/** 10,000 connections across 2 tenants, as issue 10 asks. */
export const STATS_COST_PLAN: StatsCostOptions = {
  tenants: { acme: 9_000, globex: 1_000 },
  channelsPerConnection: 3,
};

if (isMainModule(import.meta.url)) {
  await runStandaloneStage(
    'stats cost',
    'statsCost',
    (ctx, raw) => runStatsCost(ctx, raw, STATS_COST_PLAN),
    statsSection,
  );
}
