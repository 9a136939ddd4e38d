/**
 * Stage "presence cost" (issue 13, item 2): the DynamoDB requests and units of presence, as
 * DynamoDB (Local) reports them, through the real adapters wired as the handlers wire them
 * (`DynamoConnectionStore` in `PresenceTrackingStore`, `DynamoPresenceStore`), on clients that ask
 * every call for `ReturnConsumedCapacity: 'TOTAL'`, in a fresh table of the stack's definition:
 *
 * - a join (a user's first connection subscribes), a second connection of the user (no notice),
 *   a leave that is not the last, the last leave, and a disconnect that leaves: the presence part
 *   (member entries) apart from the subscription's own writes, and the notices queued;
 * - the same join by a connection that already has 99 other channels: the same requests and units
 *   (O(1) in the other channels);
 * - the `presence` request on channels of 10, 1,000 and 10,000 members (members written straight to
 *   the table, as joins write them): read units, Queries, items and the time it took.
 *
 * `npx tsx bench/presence-cost.ts` runs it alone (its own DynamoDB Local) and writes `presenceCost`
 * into bench/results.json, keeping the other stages' results; `npm run bench` runs it as a stage.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoPresenceStore, memberKey } from '../adapters/dynamo-presence.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { createTableInput } from '../adapters/table-schema.js';
import { DEFAULT_PRESENCE_POLICY } from '../core/channel-policy.js';
import type { ConnectionRecord, EventQueue } from '../core/ports.js';
import { PresenceTrackingStore } from '../core/presence.js';
import { MAX_PRESENCE_MEMBERS } from '../core/protocol.js';
import { type BenchContext, StageError } from './context.js';
import { meteredClient } from './history-cost.js';
import { isMainModule, runStandaloneStage } from './standalone-stage.js';
import { hrNow, round } from './stats.js';

/** What one operation cost one of the two stores. */
export interface StoreCost {
  /** Requests by operation (`UpdateItem`, `TransactWriteItems`, ...). */
  readonly requests: Readonly<Record<string, number>>;
  readonly readUnits: number;
  readonly writeUnits: number;
}

export interface PresenceOperationCost {
  /** The member entries: what presence adds. */
  readonly presence: StoreCost;
  /** The subscription's (or removal's) own requests, as without presence, and the extra read. */
  readonly subscriptions: StoreCost;
  /** Notices put on the publish queue (one SQS `SendMessage` each). */
  readonly notices: number;
}

export interface PresenceReadCost {
  readonly members: number;
  readonly listed: number;
  readonly truncated: boolean;
  readonly readUnits: number;
  readonly queries: number;
  readonly milliseconds: number;
}

export interface PresenceCostResult {
  readonly dynamoDbLocalReportsConsumedCapacity: boolean;
  readonly operations: {
    readonly join: PresenceOperationCost;
    readonly secondConnection: PresenceOperationCost;
    readonly leaveNotLast: PresenceOperationCost;
    readonly leaveLast: PresenceOperationCost;
    /** `$disconnect` (or the sweep) of a connection on one presence channel and one other. */
    readonly disconnect: PresenceOperationCost;
    /** A join by a connection that already has 99 other channels. */
    readonly joinBeside99Channels: PresenceOperationCost;
  };
  readonly requests: readonly PresenceReadCost[];
}

/** The bench's metered client, its units named as this stage reports them. */
function metered(raw: DynamoDBClient) {
  const meter = meteredClient(raw);
  return {
    client: meter.client,
    reported: meter.reported,
    queries: () => meter.requests().Query ?? 0,
    take(): StoreCost {
      const requests = meter.requests();
      const { read, write } = meter.take();
      return { requests, readUnits: read, writeUnits: write };
    },
  };
}

const clientFor = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

export async function runPresenceCost(ctx: BenchContext, endpoint: string): Promise<PresenceCostResult> {
  const tableName = `bench-presence-${Date.now()}`;
  const admin = clientFor(endpoint);
  const storeRaw = clientFor(endpoint);
  const presenceRaw = clientFor(endpoint);
  await admin.send(new CreateTableCommand(createTableInput(tableName)));
  await waitUntilTableExists({ client: admin, maxWaitTime: 60 }, { TableName: tableName });
  const storeMeter = metered(storeRaw);
  const presenceMeter = metered(presenceRaw);
  try {
    let notices = 0;
    const events: EventQueue = {
      put: async () => {
        notices += 1;
      },
    };
    const settings = { presencePolicy: DEFAULT_PRESENCE_POLICY, maxConnectionSeconds: 7200 };
    const presence = new DynamoPresenceStore(presenceMeter.client, tableName);
    const store = new PresenceTrackingStore(new DynamoConnectionStore(storeMeter.client, tableName), {
      presence,
      events,
      settings,
      log: { info: () => {}, warn: () => {}, error: (m) => ctx.warn(m) },
    });
    const now = Math.floor(Date.now() / 1000);
    const connection = (connectionId: string, userId: string): ConnectionRecord => ({
      connectionId,
      identity: { userId, roles: [], anonymous: false, tenant: 'acme' },
      connectedAt: now,
      tokenExpiresAt: now + 3600,
      endsAt: now + 7200,
      channels: [],
    });
    const taken = (): PresenceOperationCost => {
      const cost = { presence: presenceMeter.take(), subscriptions: storeMeter.take(), notices };
      notices = 0;
      return cost;
    };
    const subscribe = async (c: ConnectionRecord, channel: string) => {
      if ((await store.addSubscription(c, channel, 200, now)) !== 'added') {
        throw new StageError(`presence cost: could not subscribe ${c.connectionId} to ${channel}`);
      }
      return { ...c, channels: [...c.channels, channel] };
    };

    ctx.progress.update(0.1, 'joins and leaves');
    let phone = connection('Phone000000000=', 'carol');
    let laptop = connection('Laptop00000000=', 'carol');
    await store.putConnection(phone);
    await store.putConnection(laptop);
    taken();
    phone = await subscribe(phone, 'room:1');
    const join = taken();
    laptop = await subscribe(laptop, 'room:1');
    const secondConnection = taken();
    await store.removeSubscription(phone, 'room:1');
    const leaveNotLast = taken();
    await store.removeSubscription(laptop, 'room:1');
    const leaveLast = taken();

    let dave = connection('Dave0000000000=', 'dave');
    await store.putConnection(dave);
    dave = await subscribe(dave, 'news');
    dave = await subscribe(dave, 'room:2');
    taken();
    await store.removeConnection(dave.connectionId);
    const disconnect = taken();

    let busy = connection('Busy0000000000=', 'erin');
    await store.putConnection(busy);
    for (let i = 0; i < 99; i++) busy = await subscribe(busy, `topic-${i}`);
    taken();
    await subscribe(busy, 'room:3');
    const joinBeside99Channels = taken();

    const requests: PresenceReadCost[] = [];
    const until = now + 3600;
    let written = 0;
    for (const members of [10, 1_000, 10_000]) {
      const channel = `room:crowd-${members}`;
      ctx.progress.update(0.3 + (0.6 * written) / 11_010, `writing ${members} members`);
      await writeMembers(storeRaw, tableName, channel, members, until);
      written += members;
      presenceMeter.take();
      const started = hrNow();
      const read = await presence.members('acme', channel, now, MAX_PRESENCE_MEMBERS);
      const milliseconds = round(hrNow() - started, 1);
      const queries = presenceMeter.queries();
      const { readUnits } = presenceMeter.take();
      if (read.count !== members) {
        throw new StageError(`presence cost: counted ${read.count} of ${members} members`);
      }
      requests.push({
        members,
        listed: read.members.length,
        truncated: read.members.length < read.count,
        readUnits,
        queries,
        milliseconds,
      });
    }
    return {
      dynamoDbLocalReportsConsumedCapacity: storeMeter.reported() && presenceMeter.reported(),
      operations: { join, secondConnection, leaveNotLast, leaveLast, disconnect, joinBeside99Channels },
      requests,
    };
  } finally {
    await admin.send(new DeleteTableCommand({ TableName: tableName })).catch(() => {});
    for (const c of [admin, storeRaw, presenceRaw]) c.destroy();
  }
}

/** `count` member entries of one connection each, as joins write them, 25 to a request. */
async function writeMembers(
  raw: DynamoDBClient,
  tableName: string,
  channel: string,
  count: number,
  until: number,
): Promise<void> {
  const client = DynamoDBDocumentClient.from(raw);
  const pending: Promise<unknown>[] = [];
  for (let first = 0; first < count; first += 25) {
    const items = Array.from({ length: Math.min(25, count - first) }, (_, i) => {
      const userId = `user-${String(first + i).padStart(5, '0')}`;
      return {
        PutRequest: {
          // A connection id as API Gateway makes them: 16 characters of base64.
          Item: { ...memberKey('acme', channel, userId), conns: new Set([`C${userId}000=`]), ttl: until },
        },
      };
    });
    pending.push(client.send(new BatchWriteCommand({ RequestItems: { [tableName]: items } })));
    if (pending.length >= 8) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

/** The results as Markdown lines (bench/results.md). */
export function presenceSection(cost: PresenceCostResult): string[] {
  const row = (name: string, op: PresenceOperationCost) => {
    const requests = Object.entries(op.presence.requests)
      .map(([name, n]) => `${n} ${name}`)
      .join(' + ');
    return `| ${name} | ${requests || 'none'} | ${op.presence.readUnits} | ${op.presence.writeUnits} | ${op.subscriptions.readUnits} / ${op.subscriptions.writeUnits} | ${op.notices} |`;
  };
  const { operations: o } = cost;
  return [
    '### Presence: DynamoDB per join, leave and request',
    '',
    '| operation | member-entry requests | RU | WU | subscription RU / WU (as without presence, plus the read before a removal) | notices queued |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    row('join (first connection of a user)', o.join),
    row('second connection of the user', o.secondConnection),
    row('leave, another connection stays', o.leaveNotLast),
    row('leave, the last connection', o.leaveLast),
    row('disconnect (1 presence channel, 1 other)', o.disconnect),
    row('join beside 99 other channels', o.joinBeside99Channels),
    '',
    '| members | listed | truncated | RU | Queries | ms |',
    '| ---: | ---: | --- | ---: | ---: | ---: |',
    ...cost.requests.map(
      (r) =>
        `| ${r.members} | ${r.listed} | ${r.truncated} | ${r.readUnits} | ${r.queries} | ${r.milliseconds} |`,
    ),
  ];
}

if (isMainModule(import.meta.url)) {
  await runStandaloneStage(
    'presence cost',
    'presenceCost',
    (ctx, _raw, endpoint) => runPresenceCost(ctx, endpoint),
    presenceSection,
  );
}
