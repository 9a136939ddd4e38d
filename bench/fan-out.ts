/**
 * Stage "fan-out" and its floor.
 *
 * One set of clients (no tenant) is opened; client `i` subscribes to `fan-{N}` for every size N
 * with `i < N`, so channel `fan-N` has exactly N subscribers. For each size, rounds alternate:
 * - Switchboard: `PutEvents` with the real EventBridge client; latency of each delivery is its
 *   receipt (stamped in the client worker) minus the moment the SDK call resolved;
 * - floor: a bare `PostToConnection` loop with the real Management API client, at the publish
 *   concurrency, to the same N connections (ids read with the fan-out Query itself), from this
 *   process, the same event loop the publish handler posts from; latency is receipt minus loop start.
 * Alternating the two keeps their ratio honest when other work on the machine comes and goes.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { subscribersQueryInput } from '../adapters/dynamo-store.js';
import type { BenchStack } from './bench-stack.js';
import type { ClientPool } from './client-pool.js';
import { closeAllClients, collectReceipts, openClients, sendRequests, workerCounts } from './connections.js';
import { type BenchContext, StageError, sleep, throwIfAborted } from './context.js';
import { floorMessage, postFloor } from './floor.js';
import { collectGarbage } from './machine.js';
import { hrNow, median, round, roundSummary, type Summary, summarize } from './stats.js';

export interface FanOutOptions {
  readonly sizes: readonly number[];
  /** Measured rounds per size (each: one Switchboard event and one floor round). */
  readonly rounds: (size: number) => number;
  readonly warmupRounds: number;
  /** Pause between rounds, so each event is measured on an idle stack. */
  readonly pauseMs: number;
}

export interface SideResult {
  /** Per-delivery latency, ms. */
  readonly latencyMs: Summary;
  /** Per round: from the start to the last receipt, ms. */
  readonly timeToAllMs: Summary;
  /** Median over rounds of N / time to all. */
  readonly deliveriesPerSecond: number;
}

export interface FanOutSize {
  readonly subscribers: number;
  readonly rounds: number;
  readonly switchboard: SideResult & {
    /** How long the PutEvents call itself took, ms. */
    readonly putEventsMs: Summary;
  };
  readonly floor: SideResult & {
    /** Per round: until the last POST was answered, ms. */
    readonly postedMs: Summary;
  };
  /** Switchboard / floor, from the medians of the same run. */
  readonly ratio: { readonly deliveriesPerSecond: number; readonly timeToAllP50: number };
  /** Read units of the channel's fan-out Query (ReturnConsumedCapacity TOTAL) at this size. */
  readonly queryReadUnits: number | undefined;
  readonly queryPages: number;
}

export interface FanOutResult {
  readonly clients: number;
  readonly connectSeconds: number;
  readonly subscriptions: number;
  readonly subscribeSeconds: number;
  readonly closeSeconds: number;
  /** This process (the stack) with all clients connected and after they left; heap after a full GC. */
  readonly stackMemoryMiB: {
    readonly openRss: number;
    readonly openHeap: number;
    readonly closedRss: number;
    readonly closedHeap: number;
    readonly heapKiBPerConnection: number;
  };
  readonly publishConcurrency: number;
  readonly sizes: FanOutSize[];
}

const channelOf = (size: number) => `fan-${size}`;

interface Round {
  readonly start: number;
  readonly times: Float64Array;
}

/** The channel's subscribers, read with the exact fan-out Query input, and what it cost. */
export async function fanOutQuery(
  stack: BenchStack,
  tableName: string,
  tenant: string | undefined,
  channel: string,
): Promise<{ connectionIds: string[]; readUnits: number | undefined; pages: number }> {
  const connectionIds: string[] = [];
  let readUnits: number | undefined;
  let startKey: Record<string, unknown> | undefined;
  let pages = 0;
  const now = Math.floor(Date.now() / 1000);
  do {
    const page = await stack.db.send(
      new QueryCommand({
        ...subscribersQueryInput(tableName, tenant, channel, now, startKey),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    pages += 1;
    const units = page.ConsumedCapacity?.CapacityUnits;
    if (units !== undefined) readUnits = (readUnits ?? 0) + units;
    for (const item of page.Items ?? []) connectionIds.push(String(item.connectionId));
    startKey = page.LastEvaluatedKey;
  } while (startKey && pages < 10_000);
  return { connectionIds, readUnits, pages };
}

function side(rounds: readonly Round[], size: number): SideResult {
  const latencies: number[] = [];
  const toAll: number[] = [];
  const rates: number[] = [];
  for (const r of rounds) {
    let last = Number.NEGATIVE_INFINITY;
    for (const t of r.times) {
      latencies.push(t - r.start);
      if (t > last) last = t;
    }
    toAll.push(last - r.start);
    rates.push(size / ((last - r.start) / 1000));
  }
  return {
    latencyMs: roundSummary(summarize(latencies), 2),
    timeToAllMs: roundSummary(summarize(toAll), 2),
    deliveriesPerSecond: round(median(rates), 0),
  };
}

export async function runFanOut(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  options: FanOutOptions,
  phase: (name: 'fan-out: connect' | 'fan-out: measure' | 'fan-out: close') => void,
): Promise<FanOutResult> {
  const sizes = [...options.sizes].sort((a, b) => a - b);
  const clientCount = sizes.at(-1) ?? 0;
  phase('fan-out: connect');
  const specs = await Promise.all(
    Array.from({ length: clientCount }, async (_, index) => ({
      index,
      key: `fan-${index}`,
      token: await stack.token({ userId: `fan-${String(index).padStart(5, '0')}`, roles: [] }),
    })),
  );
  const opened = await openClients(ctx, stack.stack.endpoints.websocket, pool, specs, 'connect');
  const subscribes = specs.flatMap((spec) =>
    sizes
      .filter((size) => spec.index < size)
      .map((size) => ({
        index: spec.index,
        key: spec.key,
        message: { action: 'subscribe', channel: channelOf(size), id: `sub-${spec.index}-${size}` },
        expect: 'subscribed',
      })),
  );
  const subscribed = await sendRequests(ctx, pool, subscribes, 'subscribe');
  ctx.progress.log(
    `  fan-out: ${clientCount} clients connected in ${opened.seconds.toFixed(1)} s, ` +
      `${subscribes.length} subscriptions in ${subscribed.seconds.toFixed(1)} s`,
  );

  phase('fan-out: measure');
  const totalRounds = sizes.reduce((sum, size) => sum + options.rounds(size) + options.warmupRounds, 0);
  let roundsDone = 0;
  const results: FanOutSize[] = [];
  for (const size of sizes) {
    const channel = channelOf(size);
    const query = await fanOutQuery(stack, stack.tableName, undefined, channel);
    if (query.connectionIds.length !== size) {
      throw new StageError(
        `fan-out ${size}: the channel's Query returned ${query.connectionIds.length} subscribers`,
      );
    }
    const expectedPerWorker = Array.from({ length: pool.size }, (_, worker) => {
      let n = 0;
      for (let i = worker; i < size; i += pool.size) n += 1;
      return n;
    });
    const switchboard: Round[] = [];
    const floor: Round[] = [];
    const putEvents: number[] = [];
    const posted: number[] = [];
    const rounds = options.rounds(size);
    for (let k = 0; k < rounds + options.warmupRounds; k++) {
      throwIfAborted(ctx.signal);
      const measured = k >= options.warmupRounds;

      // Switchboard: PutEvents → rule → publish handler → Query → PostToConnection × N → clients.
      const tag = `sb-${size}-${k}`;
      const { arrived } = collectReceipts(ctx, pool, expectedPerWorker, tag, `fan-out ${size}, event ${k}`);
      const sent = hrNow();
      const answer = await stack.eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'switchboard.bench',
              DetailType: 'bench_event',
              Detail: JSON.stringify({ channel, data: { tag } }),
            },
          ],
        }),
      );
      const accepted = hrNow();
      if (answer.FailedEntryCount)
        throw new StageError(`PutEvents refused: ${JSON.stringify(answer.Entries)}`);
      const sbTimes = await arrived;
      if (measured) {
        switchboard.push({ start: accepted, times: sbTimes });
        putEvents.push(accepted - sent);
      }
      await sleep(options.pauseMs, ctx.signal);

      // Floor: the same posts, without EventBridge, the rule, DynamoDB or the handler.
      const floorTag = `floor-${size}-${k}`;
      const payload = floorMessage(channel, floorTag, k + 1);
      const { arrived: floorArrived } = collectReceipts(
        ctx,
        pool,
        expectedPerWorker,
        floorTag,
        `floor ${size}, round ${k}`,
      );
      const { start, posted: allPosted } = await postFloor(
        stack,
        query.connectionIds.map((connectionId) => ({ connectionId, payload })),
      );
      const floorTimes = await floorArrived;
      if (measured) {
        floor.push({ start, times: floorTimes });
        posted.push(allPosted - start);
      }
      roundsDone += 1;
      ctx.progress.update(
        roundsDone / totalRounds,
        `${size} subscribers: round ${k + 1}/${rounds + options.warmupRounds}${measured ? '' : ' (warm-up)'}`,
      );
      await sleep(options.pauseMs, ctx.signal);
    }
    const sb = side(switchboard, size);
    const fl = side(floor, size);
    results.push({
      subscribers: size,
      rounds,
      switchboard: { ...sb, putEventsMs: roundSummary(summarize(putEvents), 2) },
      floor: { ...fl, postedMs: roundSummary(summarize(posted), 2) },
      ratio: {
        deliveriesPerSecond: round(sb.deliveriesPerSecond / fl.deliveriesPerSecond, 3),
        timeToAllP50: round(sb.timeToAllMs.p50 / fl.timeToAllMs.p50, 3),
      },
      queryReadUnits: query.readUnits,
      queryPages: query.pages,
    });
    ctx.progress.log(
      `  fan-out ${String(size).padStart(5)}: p50 ${sb.latencyMs.p50} ms, p99 ${sb.latencyMs.p99} ms, ` +
        `${sb.deliveriesPerSecond}/s vs floor ${fl.deliveriesPerSecond}/s (×${round(sb.deliveriesPerSecond / fl.deliveriesPerSecond, 2)})`,
    );
  }

  const counts = await workerCounts(pool);
  if (counts.unexpectedCloses.length > 0) {
    throw new StageError(
      `fan-out: ${counts.unexpectedCloses.length} clients were disconnected by the stack, e.g. ${JSON.stringify(counts.unexpectedCloses.slice(0, 3))}`,
    );
  }
  if (counts.untagged > 0)
    ctx.warn(`fan-out: clients received ${counts.untagged} events without a bench tag`);

  // The stack's memory with every fan-out connection open, then with none (after a full GC each):
  // the difference is what a connection costs the local stack's process.
  collectGarbage();
  const open = { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed };
  phase('fan-out: close');
  const closed = await closeAllClients(ctx, stack, pool, 'fan-out close');
  collectGarbage();
  const after = { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed };
  const mib = (bytes: number) => round(bytes / 1024 ** 2, 1);
  return {
    clients: clientCount,
    connectSeconds: round(opened.seconds, 1),
    subscriptions: subscribes.length,
    subscribeSeconds: round(subscribed.seconds, 1),
    closeSeconds: round(closed.seconds, 1),
    stackMemoryMiB: {
      openRss: mib(open.rss),
      openHeap: mib(open.heap),
      closedRss: mib(after.rss),
      closedHeap: mib(after.heap),
      heapKiBPerConnection: round((open.heap - after.heap) / 1024 / clientCount, 1),
    },
    publishConcurrency: stack.publishConcurrency,
    sizes: results,
  };
}
