/** Opening, subscribing and closing many clients across the workers, in chunks so progress shows. */
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { BenchStack } from './bench-stack.js';
import type { ClientPool } from './client-pool.js';
import { type BenchContext, StageError, sleep, throwIfAborted, within } from './context.js';
import { hrNow } from './stats.js';
import type {
  AwaitResult,
  ClientRequest,
  ClientSpec,
  Counts,
  OpenResult,
  RequestResult,
  TrackedReceipts,
} from './worker-protocol.js';

/** Handshakes (and later requests) in flight per worker. */
const IN_FLIGHT_PER_WORKER = 32;
const CHUNK_PER_WORKER = 200;
const CHUNK_TIMEOUT_MS = 180_000;
const DELIVERY_TIMEOUT_MS = 60_000;

/** Splits `items` by the worker that owns them (`ownerOf`), then into chunks of `chunk` per worker. */
function chunked<T>(items: readonly T[], pool: ClientPool, ownerOf: (item: T) => number): T[][][] {
  const perWorker: T[][] = Array.from({ length: pool.size }, () => []);
  for (const item of items) perWorker[ownerOf(item)]?.push(item);
  const rounds = Math.max(...perWorker.map((list) => Math.ceil(list.length / CHUNK_PER_WORKER)), 0);
  return Array.from({ length: rounds }, (_, round) =>
    perWorker.map((list) => list.slice(round * CHUNK_PER_WORKER, (round + 1) * CHUNK_PER_WORKER)),
  );
}

export interface OpenedClients {
  readonly seconds: number;
  readonly retries: number;
}

/** Opens `specs` (client `i` of `indexOf`) to the WebSocket API at `url` in their workers; fails if any client cannot connect. */
export async function openClients(
  ctx: BenchContext,
  url: string,
  pool: ClientPool,
  specs: readonly (ClientSpec & { readonly index: number })[],
  label: string,
): Promise<OpenedClients> {
  const started = hrNow();
  let done = 0;
  let retries = 0;
  for (const round of chunked(specs, pool, (spec) => pool.workerOf(spec.index))) {
    throwIfAborted(ctx.signal);
    const results = await within(
      pool.all<OpenResult>((worker) => ({
        op: 'open',
        url,
        clients: (round[worker] ?? []).map(({ key, token }) => ({ key, token })),
        concurrency: IN_FLIGHT_PER_WORKER,
      })),
      CHUNK_TIMEOUT_MS,
      `${label}: opening connections`,
      ctx.signal,
    );
    for (const result of results) {
      done += result.opened;
      retries += result.retries;
    }
    ctx.progress.update(done / specs.length, `${label}: ${done}/${specs.length} connected`);
  }
  if (retries > 0) ctx.warn(`${label}: ${retries} handshakes needed a retry`);
  return { seconds: (hrNow() - started) / 1000, retries };
}

/**
 * Opens `clients` with tokens of user `${prefix}-NNN` (NNN: the index), each in the worker of its
 * index; returns how long it took and which worker holds each key.
 */
export async function openIndexedClients(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  clients: readonly { readonly index: number; readonly key: string }[],
  prefix: string,
): Promise<{ opened: OpenedClients; workerOfKey: (key: string) => number }> {
  const indexOf = new Map(clients.map((client) => [client.key, client.index]));
  const specs = await Promise.all(
    clients.map(async (client) => ({
      index: client.index,
      key: client.key,
      token: await stack.token({ userId: `${prefix}-${String(client.index).padStart(3, '0')}`, roles: [] }),
    })),
  );
  const opened = await openClients(ctx, stack.stack.endpoints.websocket, pool, specs, `${prefix} connect`);
  return { opened, workerOfKey: (key) => pool.workerOf(indexOf.get(key) ?? 0) };
}

/** Sends `requests` (client `index`), each awaiting its reply; fails on any error reply. */
export async function sendRequests(
  ctx: BenchContext,
  pool: ClientPool,
  requests: readonly (ClientRequest & { readonly index: number })[],
  label: string,
): Promise<{ seconds: number; replies: Record<string, Record<string, unknown>> }> {
  const started = hrNow();
  let done = 0;
  const replies: Record<string, Record<string, unknown>> = {};
  for (const round of chunked(requests, pool, (request) => pool.workerOf(request.index))) {
    throwIfAborted(ctx.signal);
    const results = await within(
      pool.all<RequestResult>((worker) => ({
        op: 'request',
        items: (round[worker] ?? []).map(({ key, message, expect }) => ({ key, message, expect })),
        concurrency: IN_FLIGHT_PER_WORKER,
      })),
      CHUNK_TIMEOUT_MS,
      `${label}: requests`,
      ctx.signal,
    );
    for (const result of results) Object.assign(replies, result.replies);
    done += round.reduce((sum, list) => sum + list.length, 0);
    ctx.progress.update(done / requests.length, `${label}: ${done}/${requests.length}`);
  }
  return { seconds: (hrNow() - started) / 1000, replies };
}

/**
 * Subscribes each client to its channels, then asks it `whoami`; fails on any error reply.
 * Returns every client's connection id (to post to it, or to look it up in the table).
 */
export async function subscribeClients(
  ctx: BenchContext,
  pool: ClientPool,
  clients: readonly { readonly index: number; readonly key: string; readonly channels: readonly string[] }[],
  label: string,
): Promise<{ seconds: number; subscriptions: number; connectionIds: ReadonlyMap<string, string> }> {
  const requests = clients.flatMap((client) => [
    ...client.channels.map((channel) => ({
      index: client.index,
      key: client.key,
      message: { action: 'subscribe', channel, id: `sub-${client.index}-${channel}` },
      expect: 'subscribed',
    })),
    {
      index: client.index,
      key: client.key,
      message: { action: 'whoami', id: `who-${client.index}` },
      expect: 'connected',
    },
  ]);
  const { seconds, replies } = await sendRequests(ctx, pool, requests, label);
  const connectionIds = new Map<string, string>();
  for (const client of clients) {
    const id = replies[client.key]?.connectionId;
    if (typeof id !== 'string') throw new StageError(`${label}: ${client.key} did not say its connection id`);
    connectionIds.set(client.key, id);
  }
  return { seconds, subscriptions: requests.length - clients.length, connectionIds };
}

/**
 * Asks every worker to wait for `tag` (before anything is sent, so no receipt can be missed);
 * `arrived` resolves with all receipt times once every expected delivery is in, and fails when
 * fewer or more arrive within `timeoutMs`.
 */
export function collectReceipts(
  ctx: BenchContext,
  pool: ClientPool,
  expectedPerWorker: readonly number[],
  tag: string,
  label: string,
  timeoutMs = DELIVERY_TIMEOUT_MS,
): { arrived: Promise<Float64Array> } {
  const waits = pool.all<AwaitResult>((worker) => ({
    op: 'await',
    tag,
    expected: expectedPerWorker[worker] ?? 0,
    timeoutMs,
  }));
  const arrived = within(waits, timeoutMs + 10_000, label, ctx.signal).then((results) => {
    const expected = expectedPerWorker.reduce((sum, n) => sum + n, 0);
    const got = results.reduce((sum, r) => sum + r.count, 0);
    if (got !== expected) {
      throw new StageError(
        `${label}: ${got} of ${expected} deliveries arrived within ${timeoutMs / 1000} s` +
          (got > expected ? ' (more than sent: duplicates)' : ''),
      );
    }
    const all = new Float64Array(got);
    let offset = 0;
    for (const r of results) {
      all.set(r.times, offset);
      offset += r.times.length;
    }
    return all;
  });
  // Observed at once: a failure before the caller awaits must not count as unhandled.
  arrived.catch(() => {});
  return { arrived };
}

/**
 * Every worker's receipts of a tracked `tag` (`op: 'track'`, sent before the events), once the
 * worker's share of `expectedPerWorker` arrived (or `timeoutMs` passed) and then `quietMs`
 * passed without another (late duplicates).
 */
export function takeReceipts(
  ctx: BenchContext,
  pool: ClientPool,
  tag: string,
  expectedPerWorker: readonly number[],
  timing: { readonly timeoutMs: number; readonly quietMs: number },
  label: string,
): Promise<TrackedReceipts[]> {
  return within(
    pool.all<TrackedReceipts>((worker) => ({
      op: 'take',
      tag,
      expected: expectedPerWorker[worker] ?? 0,
      ...timing,
    })),
    timing.timeoutMs + 10_000,
    label,
    ctx.signal,
  );
}

/** Counts of every worker, summed. */
export async function workerCounts(pool: ClientPool): Promise<Counts> {
  const all = await pool.all<Counts>({ op: 'counts' });
  return {
    clients: all.reduce((sum, c) => sum + c.clients, 0),
    open: all.reduce((sum, c) => sum + c.open, 0),
    events: all.reduce((sum, c) => sum + c.events, 0),
    untagged: all.reduce((sum, c) => sum + c.untagged, 0),
    unexpectedCloses: all.flatMap((c) => c.unexpectedCloses),
  };
}

/** How many connection items (`conn#…`) the table holds. */
async function connectionItems(stack: BenchStack): Promise<number> {
  let count = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await stack.dynamodb.send(
      new ScanCommand({
        TableName: stack.tableName,
        Select: 'COUNT',
        FilterExpression: 'begins_with(pk, :conn)',
        ExpressionAttributeValues: { ':conn': { S: 'conn#' } },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    count += result.Count ?? 0;
    startKey = result.LastEvaluatedKey;
    if (!startKey) return count;
  }
  throw new StageError('counting connection items took more than 1000 scan pages');
}

/**
 * Closes every client, then waits (at most `timeoutMs`) until the gateway has no connection left and
 * every `$disconnect` has removed its connection item, so the next stage starts from a quiet stack.
 */
export async function closeAllClients(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  label: string,
  timeoutMs = 120_000,
): Promise<{ seconds: number }> {
  const started = hrNow();
  await within(
    pool.all({ op: 'closeAll', timeoutMs: 20_000 }),
    60_000,
    `${label}: closing clients`,
    ctx.signal,
  );
  const deadline = Date.now() + timeoutMs;
  let first: number | undefined;
  for (;;) {
    const live = stack.stack.gateway.connections.size;
    const items = live === 0 ? await connectionItems(stack) : Number.NaN;
    if (live === 0 && items === 0) break;
    first ??= live || items;
    const left = live || items;
    ctx.progress.update(
      first ? 1 - left / first : 0,
      `${label}: ${live} sockets, ${Number.isNaN(items) ? '…' : items} connection items left`,
    );
    if (Date.now() > deadline) {
      throw new StageError(
        `${label}: ${live} connections / ${items} connection items still there ${timeoutMs / 1000} s after closing the clients`,
      );
    }
    await sleep(500, ctx.signal);
  }
  return { seconds: (hrNow() - started) / 1000 };
}
