/**
 * Stage "wildcard cost" (issue 13, item 4): the DynamoDB requests and units of one publish whose
 * channel has wildcard subscribers. `a:b.c` has two prefixes, so a publish reads three partitions,
 * one Query each: `chan#…#a:b.c` (exact subscribers), `pat#…#a:` (`a:*`) and `pat#…#a:b.` (`a:b.*`).
 *
 * A fresh table (the stack's definition) gets `subscribers` connections on each of the three
 * through the real `DynamoConnectionStore` (connect, subscribe), plus `overlap` connections
 * subscribed all three ways. Then core's `publishBatch`, wired as the publish function wires it, on
 * a document client that asks every call for its consumed capacity (`history-cost.ts`), with a
 * gateway that counts its posts instead of sending them, publishes one event to:
 * - `a:b.c`: every subscriber once (the overlap too), three Queries;
 * - `x:y.z`: the same number of exact subscribers and no pattern at all: the price of looking up
 *   two empty prefixes;
 * - `plain`: the same exact subscribers and no prefix: the price before wildcards.
 *
 * `npx tsx bench/wildcard-cost.ts` runs it alone (its own DynamoDB Local) and writes
 * `wildcardCost` into bench/results.json, keeping the other stages' results; `npm run bench --
 * --stages wildcard-cost` runs it as a stage.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../adapters/config.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { createTableInput } from '../adapters/table-schema.js';
import type { ConnectionGateway, ConnectionRecord, Log } from '../core/ports.js';
import { publishBatch } from '../core/publish.js';
import { apiGatewayId } from '../local/emulator/aws-ids.js';
import { type BenchContext, mapConcurrently, StageError } from './context.js';
import { meteredClient } from './history-cost.js';
import { wildcardSection } from './report-markdown.js';
import { isMainModule, runStandaloneStage } from './standalone-stage.js';

export interface WildcardCostOptions {
  /** Connections on each of `a:b.c`, `a:*` and `a:b.*` (and exact ones on the comparison channels). */
  readonly subscribers: number;
  /** Connections subscribed all three ways at once. */
  readonly overlap: number;
}

/** One publish of one event, as DynamoDB (Local) reported it. */
export interface PublishCost {
  readonly channel: string;
  /** Requests by operation (`Query`, `UpdateItem`, `BatchWriteItem`, …). */
  readonly requests: Readonly<Record<string, number>>;
  readonly queries: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Posts made: the distinct connections reached. */
  readonly deliveries: number;
}

export interface WildcardCostResult {
  readonly subscribers: number;
  readonly overlap: number;
  readonly dynamoDbLocalReportsConsumedCapacity: boolean;
  /** `a:b.c` with exact, `a:*` and `a:b.*` subscribers. */
  readonly wildcard: PublishCost;
  /** `x:y.z`: exact subscribers only, two prefixes looked up in vain. */
  readonly emptyPrefixes: PublishCost;
  /** `plain`: exact subscribers, no prefix. */
  readonly noPrefix: PublishCost;
}

const TENANT = 'acme';
const quiet: Log = { info: () => {}, warn: () => {}, error: () => {} };

/** The default: 100 subscribers on each partition and 10 on all three. */
export const WILDCARD_COST_PLAN: WildcardCostOptions = { subscribers: 100, overlap: 10 };

export async function runWildcardCost(
  ctx: BenchContext,
  raw: DynamoDBClient,
  options: WildcardCostOptions,
): Promise<WildcardCostResult> {
  const tableName = `bench-wildcards-${Date.now().toString(36)}`;
  await raw.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists(
    { client: raw, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
    { TableName: tableName },
  );
  try {
    // The handlers' defaults (fan-out threshold, history): a secret only because the configuration
    // requires one; nothing here signs or verifies a token.
    const config = loadConfig({
      SWITCHBOARD_TABLE_NAME: tableName,
      SWITCHBOARD_AUTH_SECRET: 'bench-placeholder-secret-not-used-for-tokens',
    });
    const now = Math.floor(Date.now() / 1000);
    const writer = new DynamoConnectionStore(
      DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }),
      tableName,
    );
    const groups: string[][] = [
      ...['a:b.c', 'a:*', 'a:b.*'].flatMap((name) =>
        Array.from({ length: options.subscribers }, () => [name]),
      ),
      ...Array.from({ length: options.overlap }, () => ['a:b.c', 'a:*', 'a:b.*']),
      ...['x:y.z', 'plain'].flatMap((name) => Array.from({ length: options.subscribers }, () => [name])),
    ];
    ctx.progress.update(0.1, `wildcards: ${groups.length} connections subscribing`);
    await mapConcurrently(groups, 16, async (names, i) => {
      let connection: ConnectionRecord = {
        connectionId: apiGatewayId(),
        identity: { userId: `user-${i}`, roles: [], tenant: TENANT, anonymous: false },
        connectedAt: now,
        tokenExpiresAt: now + 3600,
        endsAt: now + 7200,
        channels: [],
      };
      await writer.putConnection(connection);
      for (const name of names) {
        if ((await writer.addSubscription(connection, name, 100, now)) !== 'added')
          throw new StageError(`connection ${i} could not subscribe to ${name}`);
        connection = { ...connection, channels: [...connection.channels, name] };
      }
    });

    ctx.progress.update(0.8, 'wildcards: publishing');
    const meter = meteredClient(raw);
    const { client } = meter;
    let posts = 0;
    const gateway: ConnectionGateway = {
      post: async () => {
        posts += 1;
        return 'delivered';
      },
      close: async () => 'delivered',
    };
    const deps = {
      store: new DynamoConnectionStore(client, tableName),
      history: new DynamoChannelHistory(client, tableName, config.history),
      gateway,
      fanout: {
        send: async () => {
          throw new StageError('measuring wildcards: the channel was handed to the fan-out workers');
        },
      },
      settings: config,
      log: quiet,
    };
    const publishOnce = async (channel: string): Promise<PublishCost> => {
      meter.take();
      posts = 0;
      const id = randomUUID();
      const event = {
        id,
        'detail-type': 'wildcard_event',
        source: 'switchboard.bench',
        time: new Date().toISOString(),
        detail: { channel, tenant: TENANT, data: { tag: 'wildcard-cost' } },
      };
      const { retry } = await publishBatch([{ key: id, event }], deps);
      if (retry.length > 0) throw new StageError(`publishing to ${channel} failed`);
      const counted = meter.requests();
      const units = meter.take();
      return {
        channel,
        requests: counted,
        queries: counted.Query ?? 0,
        readUnits: units.read,
        writeUnits: units.write,
        deliveries: posts,
      };
    };
    // One publish first on each, so the channels' counters exist, as on a channel in use.
    for (const channel of ['a:b.c', 'x:y.z', 'plain']) await publishOnce(channel);
    const wildcard = await publishOnce('a:b.c');
    const emptyPrefixes = await publishOnce('x:y.z');
    const noPrefix = await publishOnce('plain');
    const expected = 3 * options.subscribers + options.overlap;
    if (wildcard.deliveries !== expected)
      throw new StageError(`a:b.c reached ${wildcard.deliveries} connections, expected ${expected}`);
    return {
      ...options,
      dynamoDbLocalReportsConsumedCapacity: meter.reported(),
      wildcard,
      emptyPrefixes,
      noPrefix,
    };
  } finally {
    await raw.send(new DeleteTableCommand({ TableName: tableName })).catch(() => {});
  }
}

if (isMainModule(import.meta.url)) {
  await runStandaloneStage(
    'wildcard cost',
    'wildcardCost',
    (ctx, raw) => runWildcardCost(ctx, raw, WILDCARD_COST_PLAN),
    wildcardSection,
  );
}
