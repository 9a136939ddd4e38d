/**
 * Stage "DynamoDB cost": read units per fan-out, Switchboard's Query against a scan-all of the AWS
 * samples' kind, on the same data.
 *
 * A fresh table (same definition as the stack's) gets `connections` connection items, of which
 * `subscribers` subscribe to one channel. The item shapes are not re-typed here: one connection is
 * written through the real `DynamoConnectionStore` (connect, a message, a subscribe), both of its
 * items are read back, and the rest are copies with other ids, written with BatchWriteItem.
 *
 * - Switchboard: the exact Query `subscribers()` sends (`subscribersQueryInput`), all pages.
 * - Scan-all: what aws-samples/simple-websockets-chat-app's `sendmessage` does on every message,
 *   `scan({ TableName, ProjectionExpression: 'connectionId' })` (eventually consistent), here
 *   restricted to connection items with a filter (which does not change what is read) and paged
 *   to the end (the sample reads only the first 1 MB page).
 * Consumed capacity is what DynamoDB (Local) reports with `ReturnConsumedCapacity: 'TOTAL'`, next
 * to an estimate from the documented item-size rules, as a cross-check.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { channelPartition, connectionKey, DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { createTableInput, TABLE_SCHEMA } from '../adapters/table-schema.js';
import type { ConnectionRecord } from '../core/ports.js';
import { apiGatewayId } from '../local/emulator/aws-ids.js';
import type { BenchStack } from './bench-stack.js';
import { type BenchContext, mapConcurrently, StageError, sleep, throwIfAborted } from './context.js';
import { fanOutQuery } from './fan-out.js';
import { type HistoryCostResult, measureHistoryCost } from './history-cost.js';
import { round } from './stats.js';

export interface DynamoCostOptions {
  readonly connections: number;
  readonly subscribers: number;
}

export interface ReadCost {
  /** Read units DynamoDB (Local) reported, summed over pages; undefined if it reported none. */
  readonly reported: number | undefined;
  /** From the documented rules: per page, ceil(bytes read / 4 KB), × 0.5 when eventually consistent. */
  readonly estimated: number;
  readonly pages: number;
  readonly itemsRead: number;
  readonly itemsReturned: number;
  readonly consistent: boolean;
}

export interface DynamoCostResult {
  readonly connections: number;
  readonly subscribers: number;
  readonly tenant: string;
  readonly channel: string;
  readonly itemBytes: { readonly connection: number; readonly subscription: number };
  readonly dynamoDbLocalReportsConsumedCapacity: boolean;
  readonly query: ReadCost;
  /** As the sample does it: eventually consistent. */
  readonly scan: ReadCost;
  /** The same scan, strongly consistent, like the Query (for a like-for-like ratio). */
  readonly scanConsistent: ReadCost;
  /** scan / query read units (reported when available, else estimated). */
  readonly ratio: number;
  readonly ratioConsistent: number;
  readonly source: 'reported' | 'estimated';
  /** What history (per publish) and recovery (per resubscribe with `since`) cost. */
  readonly history: HistoryCostResult;
  readonly writeSeconds: number;
}

const TENANT = 'acme';
const CHANNEL = 'orders';
const BATCH = 25;

/** Size of an attribute value under DynamoDB's documented rules (CapacityUnitCalculations). */
function valueBytes(value: AttributeValue): number {
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
  const numberBytes = (text: string) => {
    const digits = text
      .replace(/^[-+]/, '')
      .replace(/[eE].*$/, '')
      .replace('.', '')
      .replace(/^0+/, '')
      .replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  };
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  // Lists and maps: 3 bytes, plus 1 byte per element.
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + valueBytes(v) + 1, 0);
  if (value.M !== undefined) {
    return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + utf8(name) + valueBytes(v) + 1, 0);
  }
  return 0;
}

export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name, 'utf8') + valueBytes(value),
    0,
  );
}

/** Read units of one page that read `bytes`: whole 4 KB units, halved when eventually consistent. */
const pageUnits = (bytes: number, consistent: boolean) => Math.ceil(bytes / 4096) * (consistent ? 1 : 0.5);

/** BatchWriteItem in batches of 25, 8 at once, retrying what DynamoDB leaves unprocessed. */
export async function writeAll(
  ctx: BenchContext,
  client: DynamoDBClient,
  tableName: string,
  items: readonly Record<string, AttributeValue>[],
): Promise<void> {
  const batches: Record<string, AttributeValue>[][] = [];
  for (let i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH));
  let written = 0;
  await mapConcurrently(batches, 8, async (batch) => {
    let requests = batch.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      throwIfAborted(ctx.signal);
      if (attempt >= 10) throw new StageError('DynamoDB left writes unprocessed after 10 retries');
      if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt), ctx.signal);
      const result = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
    written += batch.length;
    ctx.progress.update((0.8 * written) / items.length, `writing items: ${written}/${items.length}`);
  });
}

/** Scans the whole table the way the sample does (connection items' `connectionId`), all pages. */
async function scanConnections(
  client: DynamoDBClient,
  tableName: string,
  consistent: boolean,
  pageBytes: readonly number[],
): Promise<ReadCost> {
  let reported: number | undefined;
  let pages = 0;
  let itemsRead = 0;
  let itemsReturned = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'connectionId',
        // The sample's table holds connections only; this one also holds subscription items.
        FilterExpression: 'begins_with(#pk, :conn)',
        ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey },
        ExpressionAttributeValues: { ':conn': { S: 'conn#' } },
        ConsistentRead: consistent,
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    pages += 1;
    const units = page.ConsumedCapacity?.CapacityUnits;
    if (units !== undefined) reported = (reported ?? 0) + units;
    itemsRead += page.ScannedCount ?? 0;
    itemsReturned += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey && pages < 10_000);
  // Pages end at 1 MB of items read, before filter and projection, so they are the pages of the
  // full scan that measured the sizes; the projection does not make an item cheaper to read.
  // (Were they to differ, the sum would move by at most one 4 KB unit per page.)
  const estimated = pageBytes.reduce((sum, bytes) => sum + pageUnits(bytes, consistent), 0);
  return { reported, estimated, pages, itemsRead, itemsReturned, consistent };
}

export async function runDynamoCost(
  ctx: BenchContext,
  stack: BenchStack,
  options: DynamoCostOptions,
): Promise<DynamoCostResult> {
  const client = stack.dynamodb;
  const tableName = `bench-cost-${Date.now().toString(36)}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  const db = createDocumentClient({ dynamodbEndpoint: stack.stack.endpoints.dynamodb, aws: stack.stack.aws });
  try {
    // One connection through the real store: what $connect, a message and subscribe write.
    const store = new DynamoConnectionStore(db, tableName);
    const now = Math.floor(Date.now() / 1000);
    const template: ConnectionRecord = {
      connectionId: apiGatewayId(),
      identity: {
        userId: 'user-000000',
        roles: ['member'],
        tenant: TENANT,
        email: 'user-000000@example.com',
        anonymous: false,
      },
      connectedAt: now,
      tokenExpiresAt: now + 3600,
      endsAt: now + 7200,
      channels: [],
    };
    await store.putConnection(template);
    const bucket = { tokens: 19, at: Date.now(), strikes: 0 };
    if ((await store.recordMessage(template, bucket, now)) !== 'recorded') {
      throw new StageError('the template connection could not record a message');
    }
    if ((await store.addSubscription({ ...template, bucket }, CHANNEL, 100, now)) !== 'added') {
      throw new StageError('the template connection could not subscribe');
    }
    const key = (pk: string, sk: string) => ({ pk: { S: pk }, sk: { S: sk } });
    const ck = connectionKey(template.connectionId);
    const connectionItem = (
      await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: key(String(ck.pk), String(ck.sk)),
          ConsistentRead: true,
        }),
      )
    ).Item;
    const subscriptionItem = (
      await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: key(channelPartition(TENANT, CHANNEL), template.connectionId),
          ConsistentRead: true,
        }),
      )
    ).Item;
    if (!connectionItem || !subscriptionItem) throw new StageError('the template items were not stored');
    if (!connectionItem.channels || !connectionItem.bucket) {
      throw new StageError(
        `the template connection item lacks channels or bucket: ${Object.keys(connectionItem)}`,
      );
    }

    // Copies with other ids, user ids of the same length: the same sizes as real items.
    const items: Record<string, AttributeValue>[] = [];
    const copy = (item: Record<string, AttributeValue>, id: string, n: number) => {
      const user = `user-${String(n).padStart(6, '0')}`;
      const out: Record<string, AttributeValue> = { ...item, connectionId: { S: id }, userId: { S: user } };
      if (item.email) out.email = { S: `${user}@example.com` };
      return out;
    };
    for (let n = 0; n < options.connections; n++) {
      const id = n === 0 ? template.connectionId : apiGatewayId();
      const subscribed = n < options.subscribers;
      const out = copy(connectionItem, id, n);
      out.pk = { S: `conn#${id}` };
      out.sweepShard = { S: `sweep#${n % TABLE_SCHEMA.sweepIndex.shards}` };
      if (!subscribed) delete out.channels;
      items.push(out);
      if (subscribed) {
        const sub = copy(subscriptionItem, id, n);
        sub.sk = { S: id };
        items.push(sub);
      }
    }
    const writeStarted = Date.now();
    await writeAll(ctx, client, tableName, items);
    const writeSeconds = (Date.now() - writeStarted) / 1000;

    // Sizes of what is stored (read back, so the estimate sees exactly what DynamoDB holds).
    ctx.progress.update(0.85, 'reading item sizes');
    const sizes: number[] = [];
    const subscriptionSizes: number[] = [];
    const connectionSizes: number[] = [];
    const pageBytes: number[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      let bytesInPage = 0;
      for (const item of page.Items ?? []) {
        // The template connection's index entries written by `putConnection` (live: broadcast's
        // audience; usr: direct messages to a user; the tenant registry); the copies have none,
        // and a channel's fan-out reads none of them.
        if (/^(live#|usr#|tenants$)/.test(item.pk?.S ?? '')) continue;
        const bytes = itemBytes(item);
        bytesInPage += bytes;
        sizes.push(bytes);
        (item.pk?.S?.startsWith('conn#') ? connectionSizes : subscriptionSizes).push(bytes);
      }
      pageBytes.push(bytesInPage);
      startKey = page.LastEvaluatedKey;
      pages += 1;
    } while (startKey && pages < 10_000);
    const expectedItems = options.connections + options.subscribers;
    if (sizes.length !== expectedItems) {
      throw new StageError(`the cost table holds ${sizes.length} items, expected ${expectedItems}`);
    }

    ctx.progress.update(0.9, 'Query vs Scan');
    const fanOut = await fanOutQuery(stack, tableName, TENANT, CHANNEL);
    if (fanOut.connectionIds.length !== options.subscribers) {
      throw new StageError(
        `the fan-out Query returned ${fanOut.connectionIds.length} subscribers, expected ${options.subscribers}`,
      );
    }
    const subscriptionBytes = subscriptionSizes.reduce((a, b) => a + b, 0);
    const query: ReadCost = {
      reported: fanOut.readUnits,
      // One page here (100 small items); the filter and the projection do not reduce what is read.
      estimated: pageUnits(subscriptionBytes, true),
      pages: fanOut.pages,
      itemsRead: options.subscribers,
      itemsReturned: fanOut.connectionIds.length,
      consistent: true,
    };
    const scan = await scanConnections(client, tableName, false, pageBytes);
    const scanConsistent = await scanConnections(client, tableName, true, pageBytes);
    if (scan.itemsReturned !== options.connections) {
      throw new StageError(
        `the scan returned ${scan.itemsReturned} connections, expected ${options.connections}`,
      );
    }
    const reports =
      query.reported !== undefined && scan.reported !== undefined && scanConsistent.reported !== undefined;
    if (!reports) {
      ctx.warn(
        'DynamoDB Local reported no ConsumedCapacity: the read units are computed from item sizes (documented rules)',
      );
    }
    const units = (cost: ReadCost) => (reports ? (cost.reported as number) : cost.estimated);
    const history = await measureHistoryCost(client, tableName);
    return {
      connections: options.connections,
      subscribers: options.subscribers,
      tenant: TENANT,
      channel: CHANNEL,
      itemBytes: {
        connection: round(connectionSizes.reduce((a, b) => a + b, 0) / connectionSizes.length, 0),
        subscription: round(subscriptionBytes / subscriptionSizes.length, 0),
      },
      dynamoDbLocalReportsConsumedCapacity: reports,
      query,
      scan: { ...scan, estimated: round(scan.estimated, 1) },
      scanConsistent: { ...scanConsistent, estimated: round(scanConsistent.estimated, 1) },
      ratio: round(units(scan) / units(query), 1),
      ratioConsistent: round(units(scanConsistent) / units(query), 1),
      source: reports ? 'reported' : 'estimated',
      history,
      writeSeconds: round(writeSeconds, 1),
    };
  } finally {
    db.destroy();
    await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => {});
  }
}
