/**
 * Stage "client-publish" (issue 13): clients publishing (PROTOCOL §8) on the real local stack.
 *
 * - Round trip, paced: after a warm-up, one at a time on an otherwise idle stack, a client
 *   publishes to a room it subscribes to (just before the request leaves → that client's receipt
 *   of the event), alternating with a service's `PutEvents` to the same room (just before the
 *   call → the same receipt). Both on the machine-wide monotonic clock the workers stamp receipts
 *   with. p50/p95/p99 of each and their ratio.
 * - Load, each scenario on fresh rooms, so every room's seqs must be exactly 1..n:
 *   - spread: every client publishes `perClient` events at once, each to its own room;
 *   - hot: the same clients all publish `perClient` events at once to one room they all subscribe
 *     to (each event reaches every client);
 *   - one connection: one client publishes twice its rate limit's burst, every message in flight
 *     at once: accepted vs refused `rate_limited`; every accepted event must arrive exactly once,
 *     nothing refused may arrive.
 *   Judged with `client-publish-judge.ts` (lost, duplicated, seq, refused delivered), with what
 *   the publish queue dead-lettered meanwhile; events/s = deliveries / (first request sent → last
 *   receipt); latency = request sent → receipt.
 *
 * The bench stack raises the per-connection rate limit (`bench-stack.ts`: burst and refill 1,000)
 * so that the other stages measure fan-out, not the limit. The round trip, spread and hot run on
 * it (each client sends 10 publishes, within the default burst of 20 anyway). The one-connection
 * scenario needs the default limit (20 at once, 10/s): the handlers read it once, at import, and
 * one connection cannot outrun a refill of 1,000/s (the local gateway, like API Gateway, stamps
 * each message as it arrives, and stops reading a socket with 128 messages waiting), so it runs in
 * a process of its own (`client-publish-limit-process.ts`) with a stack of its own.
 */
import { fileURLToPath } from 'node:url';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SETTINGS } from '../adapters/settings-table.js';
import { readSetting } from '../local/local-settings.js';
import type { BenchStack } from './bench-stack.js';
import { drain, takeReceipts } from './burst.js';
import type { ClientPool } from './client-pool.js';
import {
  acceptedEvents,
  type ClientPublishJudgement,
  compareRoundTrips,
  judgeClientPublish,
  type RoundTripComparison,
} from './client-publish-judge.js';
import { closeAllClients, collectReceipts, openIndexedClients, subscribeClients } from './connections.js';
import { type BenchContext, StageError, sleep, throwIfAborted, within } from './context.js';
import { runInOwnProcess } from './own-process.js';
import { hrNow, round, roundSummary, type Summary, summarize } from './stats.js';
import type { ClientRequest, RequestResult } from './worker-protocol.js';

export interface ClientPublishOptions {
  /** Clients of the spread and hot scenarios. */
  readonly clients: number;
  /** Events each client publishes in the spread and hot scenarios. */
  readonly perClient: number;
  readonly rounds: number;
  readonly warmupRounds: number;
  readonly pauseMs: number;
}

export type ClientPublishScenarioName = 'spread' | 'hot' | 'one-connection';

export interface ClientPublishScenario {
  readonly name: ClientPublishScenarioName;
  readonly publishers: number;
  readonly channels: number;
  /** Publishes sent (accepted + refused). */
  readonly sent: number;
  readonly accepted: number;
  readonly refused: Readonly<Record<string, number>>;
  readonly expectedDeliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  /** Distinct events received that no `published` reply named (a refused publish delivered). */
  readonly refusedDelivered: number;
  readonly outOfOrder: number;
  readonly seqCheck: { readonly channels: number; readonly exact: number; readonly ok: boolean };
  readonly seqProblems: readonly string[];
  readonly deadLettered: number;
  readonly drained: boolean;
  /** From the first request sent to the last reply. */
  readonly sendSeconds: number;
  /** Delivered (client, event) pairs / (first request sent → last receipt). */
  readonly eventsPerSecond: number;
  /** Request sent → receipt, every first delivery. */
  readonly latencyMs: Summary;
  /** Request sent → `published` reply. */
  readonly replyMs: Summary;
}

interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

export interface ClientPublishResult {
  readonly clients: number;
  readonly connectSeconds: number;
  /** The per-connection limit the stack ran with (`bench-stack.ts`). */
  readonly rateLimit: RateLimit;
  /** The one-connection scenario's stack: the handlers' default limit. */
  readonly oneConnectionRateLimit: RateLimit;
  readonly roundTrip: RoundTripComparison & {
    readonly rounds: number;
    readonly warmupRounds: number;
    readonly pauseMs: number;
  };
  readonly scenarios: readonly ClientPublishScenario[];
  readonly closeSeconds: number;
}

const RTT_ROOM = 'room:cp-rtt';
const HOT_ROOM = 'room:cp-hot';
const ONE_ROOM = 'room:cp-one';
const LIMIT_PROCESS_FILE = fileURLToPath(new URL('./client-publish-limit-process.ts', import.meta.url));
const spreadRoom = (i: number) => `room:cp-spread-${i}`;

interface Client {
  readonly index: number;
  readonly key: string;
  readonly channels: string[];
}

/** The stack's per-connection limit, as `startBenchStack` set it for the handlers. */
function stackRateLimit(): RateLimit {
  return {
    burst: readSetting<number>(SETTINGS.rateLimitBurst, process.env),
    perSecond: readSetting<number>(SETTINGS.rateLimitPerSecond, process.env),
  };
}

function publishMessage(index: number, channel: string, tag: string, k: number): ClientRequest['message'] {
  return { action: 'publish', channel, data: { tag, k }, id: `${tag}-${index}-${k}` };
}

/** `count` publishes of every client, to the room `channelOf` names; `rate_limited` is recorded, not a failure. */
function publishesOf(
  clients: readonly Client[],
  channelOf: (client: Client) => string,
  tag: string,
  count: number,
): (ClientRequest & { readonly index: number })[] {
  return clients.flatMap((client) =>
    Array.from({ length: count }, (_, k) => ({
      index: client.index,
      key: client.key,
      message: publishMessage(client.index, channelOf(client), tag, k),
      expect: 'published',
      tolerate: ['rate_limited'],
    })),
  );
}

/**
 * The one-connection scenario, on a stack whose limit is `rateLimit` (in the child process): one
 * client subscribed to its room publishes twice the burst there, all at once.
 */
export async function measureOneConnection(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  rateLimit: RateLimit,
): Promise<{ readonly rateLimit: RateLimit; readonly scenario: ClientPublishScenario }> {
  const client: Client = { index: 0, key: 'cp-one-0', channels: [ONE_ROOM] };
  const { workerOfKey } = await openIndexedClients(ctx, stack, pool, [client], 'cp-one');
  await subscribeClients(ctx, pool, [client], 'cp-one subscribe');
  const plan: LoadPlan = {
    name: 'one-connection',
    requests: publishesOf([client], () => ONE_ROOM, 'cp-one', 2 * rateLimit.burst),
    audience: new Map([[ONE_ROOM, [client.key]]]),
  };
  const scenario = await runLoad(ctx, stack, pool, workerOfKey, plan, 'cp-one');
  await closeAllClients(ctx, stack, pool, 'cp-one close');
  return { rateLimit, scenario };
}

/** Client 0's round trips: its own publish and a service's PutEvents, alternating, to RTT_ROOM. */
async function measureRoundTrips(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  client: Client,
  options: ClientPublishOptions,
): Promise<ClientPublishResult['roundTrip']> {
  const worker = pool.workerOf(client.index);
  const expected = Array.from({ length: pool.size }, (_, w) => (w === worker ? 1 : 0));
  const clientMs: number[] = [];
  const serviceMs: number[] = [];
  const total = options.warmupRounds + options.rounds;
  for (let r = 0; r < total; r++) {
    throwIfAborted(ctx.signal);
    const measured = r >= options.warmupRounds;

    const clientTag = `cp-rtt-client-${r}`;
    const clientReceipt = collectReceipts(ctx, pool, expected, clientTag, `client publish round ${r}`);
    const answer = await within(
      pool.call<RequestResult>(worker, {
        op: 'request',
        items: [
          {
            key: client.key,
            message: publishMessage(client.index, RTT_ROOM, clientTag, r),
            expect: 'published',
          },
        ],
        concurrency: 1,
      }),
      30_000,
      `client publish round ${r}`,
      ctx.signal,
    );
    const sentAt = answer.published[client.key]?.[0]?.sentAt;
    if (sentAt === undefined) throw new StageError(`client publish round ${r}: no published reply`);
    const [clientArrival] = await clientReceipt.arrived;
    if (measured) clientMs.push((clientArrival as number) - sentAt);
    await sleep(options.pauseMs, ctx.signal);

    const serviceTag = `cp-rtt-service-${r}`;
    const serviceReceipt = collectReceipts(ctx, pool, expected, serviceTag, `service publish round ${r}`);
    const before = hrNow();
    const put = await stack.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'switchboard.bench',
            DetailType: 'client_publish_rtt',
            Detail: JSON.stringify({ channel: RTT_ROOM, data: { tag: serviceTag, k: r } }),
          },
        ],
      }),
    );
    if (put.FailedEntryCount) throw new StageError(`service publish round ${r}: PutEvents refused it`);
    const [serviceArrival] = await serviceReceipt.arrived;
    if (measured) serviceMs.push((serviceArrival as number) - before);
    await sleep(options.pauseMs, ctx.signal);
    ctx.progress.update((r + 1) / total, `round trip ${r + 1}/${total}`);
  }
  return {
    rounds: options.rounds,
    warmupRounds: options.warmupRounds,
    pauseMs: options.pauseMs,
    ...compareRoundTrips(clientMs, serviceMs),
  };
}

interface LoadPlan {
  readonly name: ClientPublishScenarioName;
  /** Who publishes what (all sent at once, every request in flight). */
  readonly requests: readonly (ClientRequest & { readonly index: number })[];
  readonly audience: ReadonlyMap<string, readonly string[]>;
}

/** Sends the plan's publishes at once, waits for the publish queue and the receipts, judges. */
async function runLoad(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  workerOfKey: (key: string) => number,
  plan: LoadPlan,
  tag: string,
): Promise<ClientPublishScenario> {
  const label = `client publish ${plan.name}`;
  await within(pool.all({ op: 'track', tag }), 10_000, `${label}: starting to track`, ctx.signal);
  const deadBefore = stack.stack.deadLetterQueue.size;
  const perWorker: ClientRequest[][] = Array.from({ length: pool.size }, () => []);
  for (const { index, ...request } of plan.requests) perWorker[pool.workerOf(index)]?.push(request);
  const firstSent = hrNow();
  const results = await within(
    pool.all<RequestResult>((worker) => {
      const items = perWorker[worker] ?? [];
      return { op: 'request', items, concurrency: Math.max(1, items.length) };
    }),
    120_000,
    `${label}: publishing`,
    ctx.signal,
  );
  const replied = hrNow();
  const drained = await drain(ctx, stack, 120_000, (detail) =>
    ctx.progress.update(0.5, `${label}: ${detail}`),
  );
  const deadLettered = stack.stack.deadLetterQueue.size - deadBefore;
  const receipts = await takeReceipts(
    ctx,
    pool,
    acceptedEvents(results),
    plan.audience,
    workerOfKey,
    tag,
    label,
  );
  const judged: ClientPublishJudgement = judgeClientPublish(results, plan.audience, receipts);
  const replyMs = results.flatMap((result) =>
    Object.values(result.published).flatMap((list) => list.map((r) => r.repliedAt - r.sentAt)),
  );
  const seconds = (judged.lastReceipt - firstSent) / 1000;
  return {
    name: plan.name,
    publishers: new Set(plan.requests.map((r) => r.key)).size,
    channels: new Set(plan.requests.map((r) => String(r.message.channel))).size,
    sent: plan.requests.length,
    accepted: judged.accepted,
    refused: judged.refused,
    expectedDeliveries: judged.expected,
    delivered: judged.delivered,
    lost: judged.lost,
    duplicated: judged.duplicated,
    unexpected: judged.unexpected,
    refusedDelivered: judged.refusedDelivered,
    outOfOrder: judged.outOfOrder,
    seqCheck: {
      channels: judged.seq.channels,
      exact: judged.seq.exact,
      ok: judged.seq.exact === judged.seq.channels,
    },
    seqProblems: judged.seq.problems,
    deadLettered,
    drained,
    sendSeconds: round((replied - firstSent) / 1000, 3),
    eventsPerSecond: judged.delivered > 0 ? round(judged.delivered / seconds, 0) : 0,
    latencyMs: roundSummary(summarize(judged.latencies)),
    replyMs: roundSummary(summarize(replyMs)),
  };
}

export async function runClientPublish(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  options: ClientPublishOptions,
  phase: (name: 'client publish: connect' | 'client publish: measure' | 'client publish: close') => void,
  /** The environment the bench was started with: not the one the shared stack has since set. */
  environment: NodeJS.ProcessEnv,
): Promise<ClientPublishResult> {
  if (!(options.clients >= 2)) throw new StageError(`client-publish needs 2 clients or more`);
  const rateLimit = stackRateLimit();
  phase('client publish: connect');
  const clients: Client[] = Array.from({ length: options.clients }, (_, index) => ({
    index,
    key: `cp-${index}`,
    channels: [spreadRoom(index), HOT_ROOM, ...(index === 0 ? [RTT_ROOM] : [])],
  }));
  const { opened, workerOfKey } = await openIndexedClients(ctx, stack, pool, clients, 'cp');
  await subscribeClients(ctx, pool, clients, 'client publish subscribe');
  const audience = new Map<string, string[]>();
  for (const client of clients) {
    for (const channel of client.channels)
      audience.set(channel, [...(audience.get(channel) ?? []), client.key]);
  }

  phase('client publish: measure');
  const first = clients[0] as Client;
  const roundTrip = await measureRoundTrips(ctx, stack, pool, first, options);
  ctx.progress.log(
    `  client publish round trip: p50 ${roundTrip.client.p50} / p99 ${roundTrip.client.p99} ms; ` +
      `service publish p50 ${roundTrip.service.p50} / p99 ${roundTrip.service.p99} ms (×${roundTrip.ratio.p50} at p50)`,
  );

  const each = (channelOf: (client: Client) => string, tag: string, count: number) =>
    publishesOf(clients, channelOf, tag, count);
  const plans: (LoadPlan & { tag: string })[] = [
    {
      name: 'spread',
      tag: 'cp-spread',
      requests: each((c) => spreadRoom(c.index), 'cp-spread', options.perClient),
      audience,
    },
    { name: 'hot', tag: 'cp-hot', requests: each(() => HOT_ROOM, 'cp-hot', options.perClient), audience },
  ];
  const scenarios: ClientPublishScenario[] = [];
  const report = (s: ClientPublishScenario) => {
    scenarios.push(s);
    ctx.progress.log(
      `  client publish ${s.name.padEnd(14)} ${s.sent} sent, ${s.accepted} accepted: ${s.eventsPerSecond} deliveries/s, ` +
        `p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms; lost ${s.lost}, duplicated ${s.duplicated}, ` +
        `dead-lettered ${s.deadLettered}, refused ${JSON.stringify(s.refused)}, refused delivered ${s.refusedDelivered}`,
    );
    if (s.lost || s.duplicated || s.unexpected || s.refusedDelivered || s.deadLettered || !s.seqCheck.ok) {
      ctx.warn(
        `client publish ${s.name}: lost ${s.lost}, duplicated ${s.duplicated}, unexpected ${s.unexpected}, ` +
          `refused delivered ${s.refusedDelivered}, dead-lettered ${s.deadLettered}; seq: ${s.seqProblems.slice(0, 3).join('; ') || 'exact'}`,
      );
    }
  };
  for (const plan of plans) {
    throwIfAborted(ctx.signal);
    report(await runLoad(ctx, stack, pool, workerOfKey, plan, plan.tag));
  }
  // Before the shared stack's clients close: that stack stays up meanwhile, idle.
  const one = await runInOwnProcess<
    { readonly rateLimit: RateLimit; readonly scenario: ClientPublishScenario },
    string
  >(ctx, LIMIT_PROCESS_FILE, environment, {}, () => {}, 'the client-publish rate-limit process');
  report(one.scenario);

  phase('client publish: close');
  const closed = await closeAllClients(ctx, stack, pool, 'client publish close');
  return {
    clients: clients.length,
    connectSeconds: round(opened.seconds, 1),
    rateLimit,
    oneConnectionRateLimit: one.rateLimit,
    roundTrip,
    scenarios,
    closeSeconds: round(closed.seconds, 1),
  };
}
