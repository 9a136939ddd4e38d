/**
 * Stage "burst": busy channels. Events are put as fast as the EventBridge client goes (ten
 * entries a `PutEvents` call, calls concurrent) and travel the whole publish path: bus and rule,
 * publish queue, event source mapping (batches of 10, up to 20 at once), publish function, real
 * `ws` clients. Bursts, one after another on an otherwise idle stack:
 * - spread: the events round-robin over `channels` channels, each with one subscriber of its own;
 * - hot: the same number of events on one channel with one subscriber;
 * - hot, large: ten times as many on one channel (fewer with `--quick`);
 * - one connection: spread over the same number of channels, all subscribed by one connection.
 * One connection per channel in the spread, so that it differs from the hot burst in one thing only
 * (how the events fall on channels) and no single socket or client carries it; the one-connection
 * burst then shows what a socket that receives everything costs.
 *
 * Judged per burst (`burst-judge.ts`): lost, duplicated, out of order (seq inversions as
 * received), the seq check (every channel's received seqs are exactly 1..n), what was
 * dead-lettered, events/s delivered (events / from the first PutEvents call to the last receipt),
 * and latency from the carrying call resolving to receipt. The floor is the fan-out stage's bare
 * `PostToConnection` loop (`floor.ts`), posting as many messages to the spread's connections,
 * once right before and once right after the spread burst. The handlers' DynamoDB requests during
 * each burst are counted as they leave (`dynamo-requests.ts`); the units its events cost are
 * measured by publishing the burst's shape again apart (`publish-cost.ts`).
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PUBLISH_PIPELINE } from '../lambdas/publish-pipeline.js';
import type { BenchStack } from './bench-stack.js';
import { judgeBurst, type PutEvent, type SeqCheck } from './burst-judge.js';
import type { ClientPool } from './client-pool.js';
import {
  closeAllClients,
  collectReceipts,
  openIndexedClients,
  subscribeClients,
  takeReceipts as takeTracked,
  workerCounts,
} from './connections.js';
import { type BenchContext, mapConcurrently, StageError, sleep, throwIfAborted, within } from './context.js';
import { countDynamoRequests, type DynamoRequestCounter } from './dynamo-requests.js';
import { type FloorPost, floorMessage, postFloor } from './floor.js';
import { measurePublishUnits, type PublishUnits } from './publish-cost.js';
import { hrNow, round, roundSummary, type Summary, summarize } from './stats.js';
import type { TrackedReceipts } from './worker-protocol.js';

export interface BurstOptions {
  /** Channels of the spread and one-connection bursts, and connections opened. */
  readonly channels: number;
  /** Events of the spread, hot and one-connection bursts, and messages of a floor round. */
  readonly events: number;
  /** Events of the large hot burst. */
  readonly largeEvents: number;
  /** Events of the warm-up burst (not reported). */
  readonly warmupEvents: number;
}

export type BurstName = 'spread' | 'hot' | 'hot-large' | 'one-connection';

export interface BurstDynamoCost {
  /** Every DynamoDB request the handlers made during the burst, over the events put. */
  readonly requestsPerEvent: number;
  /** The same, by operation (`X-Amz-Target`). */
  readonly byOperation: Readonly<
    Record<string, { readonly requests: number; readonly requestsPerEvent: number }>
  >;
  /** The burst's shape published again apart, consumed units as DynamoDB Local reports them. */
  readonly units: PublishUnits;
}

export interface BurstScenario {
  readonly name: BurstName;
  readonly events: number;
  readonly channels: number;
  /** Connections that receive the burst. */
  readonly connections: number;
  readonly putCalls: number;
  /** From the first PutEvents call to the last one resolved. */
  readonly putSeconds: number;
  /** From the first PutEvents call to the last first receipt. */
  readonly deliverySeconds: number;
  /** Delivered (client, event) pairs / deliverySeconds. */
  readonly eventsPerSecond: number;
  readonly expectedDeliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  readonly outOfOrder: number;
  readonly seqCheck: SeqCheck & { readonly ok: boolean };
  /** Moved to the dead-letter queue during the burst (its size after minus before). */
  readonly deadLettered: number;
  /** False when the publish queue was still not drained at the end of the wait. */
  readonly drained: boolean;
  /** From the carrying PutEvents call resolving to receipt, every first delivery. */
  readonly latencyMs: Summary;
  readonly dynamodb: BurstDynamoCost;
}

export interface BurstFloorRound {
  readonly messages: number;
  /** Until the last POST was answered. */
  readonly postedMs: number;
  /** From the loop's start to the last receipt. */
  readonly timeToAllMs: number;
  readonly messagesPerSecond: number;
}

export interface Goal {
  readonly value: number;
  readonly goal: number;
  readonly met: boolean;
}

export interface BurstResult {
  readonly connections: number;
  readonly connectSeconds: number;
  readonly subscriptions: number;
  readonly putsInFlight: number;
  readonly entriesPerPut: number;
  readonly publishConcurrency: number;
  readonly pipeline: { readonly batchSize: number; readonly reservedConcurrency: number };
  readonly scenarios: readonly BurstScenario[];
  /** The bare PostToConnection loop to the spread's connections, before and after the spread burst. */
  readonly floor: {
    readonly rounds: readonly BurstFloorRound[];
    /** Mean of the rounds. */
    readonly messagesPerSecond: number;
  };
  readonly ratios: {
    /** Hot events/s over spread events/s (same event count). */
    readonly hotOverSpread: Goal;
    /** Spread events/s over the floor's messages/s. */
    readonly spreadOverFloor: Goal;
  };
  /** How the DynamoDB figures were taken. */
  readonly dynamodbMethod: string;
  /** Tagged events that arrived after their burst was judged (should stay 0). */
  readonly lateReceipts: number;
  readonly closeSeconds: number;
}

/** In flight at once: the EventBridge client's socket pool (the SDK's default, 50). */
const PUTS_IN_FLIGHT = 50;
/** PutEvents' limit. */
const ENTRIES_PER_PUT = 10;
/** After the publish queue drained, the last receipts are in flight on loopback sockets only. */
const RECEIPT_TIMEOUT_MS = 15_000;
/** Late duplicates: a tracked tag is judged once nothing arrived for this long. */
const QUIET_MS = 300;
/** The publish queue not shrinking for this long means the pipeline is stuck. */
const STALL_MS = 30_000;
const GOALS = { hotOverSpread: 0.8, spreadOverFloor: 0.5 } as const;

/** Events of each burst's shape published again apart to measure consumed units (full batches). */
const UNIT_EVENTS = 100;

const DYNAMODB_METHOD =
  "requests: the handlers' own, counted by X-Amz-Target as they leave this process (Node's http.client.request.start " +
  "diagnostics channel), from the first PutEvents call until the publish queue drained; units: the burst's shape " +
  `(${UNIT_EVENTS} events, batches of ${PUBLISH_PIPELINE.batchSize}) published again through core's publishBatch and ` +
  'the real DynamoDB adapters on a client asking ReturnConsumedCapacity TOTAL, as DynamoDB Local reports them';

/** A burst to run: which channel event `k` goes to, and who is subscribed to each channel. */
interface Plan {
  readonly name: BurstName | 'warm-up';
  readonly events: number;
  readonly channelOf: (k: number) => string;
  readonly audience: ReadonlyMap<string, readonly string[]>;
}

interface Client {
  readonly index: number;
  readonly key: string;
  readonly channels: string[];
}

const spreadChannel = (i: number) => `burst-spread-${i}`;
const oneConnectionChannel = (i: number) => `burst-one-${i}`;
const warmChannel = (i: number) => `burst-warm-${i}`;
const HOT = 'burst-hot';
const HOT_LARGE = 'burst-hot-large';
const WARM_CHANNELS = 10;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Who subscribes to what: client i to spread channel i (and the first ten to a warm-up channel),
 * client 0 to the hot channels, client 1 to every one-connection channel.
 */
function subscriptionPlan(channels: number): Client[] {
  const clients = Array.from({ length: channels }, (_, index) => ({
    index,
    key: `burst-${index}`,
    channels: [spreadChannel(index), ...(index < WARM_CHANNELS ? [warmChannel(index)] : [])],
  }));
  const hot = clients[0] as Client;
  const receiver = clients[1 % channels] as Client;
  hot.channels.push(HOT, HOT_LARGE);
  for (let i = 0; i < channels; i++) receiver.channels.push(oneConnectionChannel(i));
  return clients;
}

function audienceOf(clients: readonly Client[]): Map<string, string[]> {
  const audience = new Map<string, string[]>();
  for (const client of clients) {
    for (const channel of client.channels) {
      const keys = audience.get(channel) ?? [];
      keys.push(client.key);
      audience.set(channel, keys);
    }
  }
  return audience;
}

/**
 * Waits until the publish queue is drained (every event published or dead-lettered). Gives up,
 * returning false, once the queue has not shrunk for `STALL_MS` or after `capMs`: a slow machine
 * gets the time it needs, a stuck pipeline does not hold the run.
 */
export async function drain(
  ctx: BenchContext,
  stack: BenchStack,
  capMs: number,
  tell: (detail: string) => void,
): Promise<boolean> {
  const { publishQueue, deadLetterQueue } = stack.stack;
  const settled = stack.stack.settled().then(() => true);
  const started = hrNow();
  let size = publishQueue.size;
  let changedAt = started;
  for (;;) {
    if (await Promise.race([settled, sleep(250, ctx.signal).then(() => false)])) return true;
    const now = hrNow();
    if (publishQueue.size !== size) {
      size = publishQueue.size;
      changedAt = now;
    }
    if (now - changedAt > STALL_MS || now - started > capMs) return false;
    tell(`${size} in the publish queue, ${deadLetterQueue.size} dead-lettered`);
  }
}

function requestsPerEvent(
  counted: Readonly<Record<string, number>>,
  events: number,
): Omit<BurstDynamoCost, 'units'> {
  const per = (n: number) => round(n / events, 3);
  return {
    requestsPerEvent: per(Object.values(counted).reduce((sum, n) => sum + n, 0)),
    byOperation: Object.fromEntries(
      Object.entries(counted).map(([operation, requests]) => [
        operation,
        { requests, requestsPerEvent: per(requests) },
      ]),
    ),
  };
}

/**
 * Hands over every worker's tracked receipts of `tag`, each worker waiting for as many as the
 * audience of `events`' channels it holds, then for late duplicates.
 */
export function takeReceipts(
  ctx: BenchContext,
  pool: ClientPool,
  events: readonly { readonly channel: string }[],
  audience: ReadonlyMap<string, readonly string[]>,
  workerOfKey: (key: string) => number,
  tag: string,
  label: string,
): Promise<TrackedReceipts[]> {
  const expectedPerWorker = Array.from({ length: pool.size }, () => 0);
  for (const event of events) {
    for (const key of audience.get(event.channel) ?? []) {
      const worker = workerOfKey(key);
      expectedPerWorker[worker] = (expectedPerWorker[worker] ?? 0) + 1;
    }
  }
  return takeTracked(
    ctx,
    pool,
    tag,
    expectedPerWorker,
    { timeoutMs: RECEIPT_TIMEOUT_MS, quietMs: QUIET_MS },
    `${label}: collecting the receipts`,
  );
}

/** A burst as measured live; the units its shape costs are measured after every burst ran. */
type LiveBurst = Omit<BurstScenario, 'dynamodb'> & { readonly requests: Omit<BurstDynamoCost, 'units'> };

/** Puts the plan's events, waits for the queue to drain and every receipt, and judges them. */
async function runBurst(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  workerOfKey: (key: string) => number,
  requests: DynamoRequestCounter,
  plan: Plan,
  progress: (detail: string) => void,
): Promise<{ burst: LiveBurst; received: number }> {
  const label = `burst ${plan.name}`;
  const tell = (detail: string) => progress(`${plan.name}: ${detail}`);
  const tag = `burst-${plan.name}`;
  // Tracking starts in every worker before the first event is put: no receipt can be missed.
  await within(pool.all({ op: 'track', tag }), 10_000, `${label}: starting to track receipts`, ctx.signal);
  const deadBefore = stack.stack.deadLetterQueue.size;
  const keys = Array.from({ length: plan.events }, (_, k) => k);
  const calls = chunks(keys, ENTRIES_PER_PUT);
  const put: PutEvent[] = [];
  let putDone = 0;
  tell(`putting ${plan.events} events`);
  requests.start();
  const firstPut = hrNow();
  await mapConcurrently(calls, PUTS_IN_FLIGHT, async (ks) => {
    throwIfAborted(ctx.signal);
    const entries: PutEventsRequestEntry[] = ks.map((k) => ({
      Source: 'switchboard.bench',
      DetailType: 'burst_event',
      Detail: JSON.stringify({ channel: plan.channelOf(k), data: { tag, k } }),
    }));
    const answer = await stack.eventBridge.send(new PutEventsCommand({ Entries: entries }));
    const acceptedAt = hrNow();
    if (answer.FailedEntryCount || answer.Entries?.length !== ks.length) {
      throw new StageError(
        `${label}: PutEvents refused entries: ${JSON.stringify(answer.Entries).slice(0, 300)}`,
      );
    }
    ks.forEach((k, i) => {
      const id = answer.Entries?.[i]?.EventId;
      if (!id) throw new StageError(`${label}: PutEvents returned no EventId for entry ${i}`);
      put.push({ id, channel: plan.channelOf(k), acceptedAt });
    });
    putDone = acceptedAt;
  });

  const capMs = 60_000 + 50 * plan.events;
  const drained = await drain(ctx, stack, capMs, tell);
  const counted = requests.take();
  const deadLettered = stack.stack.deadLetterQueue.size - deadBefore;
  if (!drained) {
    ctx.warn(
      `${label}: the publish queue still held ${stack.stack.publishQueue.size} events ` +
        `${round((hrNow() - putDone) / 1000, 0)} s after the last PutEvents (stalled for ${STALL_MS / 1000} s, or past ${capMs / 1000} s); ` +
        'receipts judged as they stood',
    );
  }
  const receipts = await takeReceipts(ctx, pool, put, plan.audience, workerOfKey, tag, label);
  const judged = judgeBurst(put, plan.audience, receipts);
  const deliverySeconds = (judged.lastReceipt - firstPut) / 1000;
  const channels = new Set(put.map((event) => event.channel)).size;
  const connections = new Set(
    [...new Set(put.map((e) => e.channel))].flatMap((c) => plan.audience.get(c) ?? []),
  ).size;
  return {
    received: receipts.reduce((sum, r) => sum + r.ids.length, 0),
    burst: {
      name: plan.name as BurstName,
      events: plan.events,
      channels,
      connections,
      putCalls: calls.length,
      putSeconds: round((putDone - firstPut) / 1000, 3),
      deliverySeconds: round(deliverySeconds, 3),
      eventsPerSecond: judged.delivered > 0 ? round(judged.delivered / deliverySeconds, 0) : 0,
      expectedDeliveries: judged.expected,
      delivered: judged.delivered,
      lost: judged.lost,
      duplicated: judged.duplicated,
      unexpected: judged.unexpected,
      outOfOrder: judged.outOfOrder,
      seqCheck: { ...judged.seq, ok: judged.seq.exact === judged.seq.channels },
      deadLettered,
      drained,
      latencyMs: roundSummary(summarize(judged.latencies), 1),
      requests: requestsPerEvent(counted, plan.events),
    },
  };
}

/** The floor: the spread's message count, round-robin over the spread's connections, bare posts. */
async function floorRound(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  targets: readonly { readonly index: number; readonly connectionId: string }[],
  messages: number,
  roundNumber: number,
): Promise<BurstFloorRound> {
  const tag = `burst-floor-${roundNumber}`;
  const expectedPerWorker = Array.from({ length: pool.size }, () => 0);
  const posts: FloorPost[] = [];
  for (let k = 0; k < messages; k++) {
    const target = targets[k % targets.length] as (typeof targets)[number];
    const worker = pool.workerOf(target.index);
    expectedPerWorker[worker] = (expectedPerWorker[worker] ?? 0) + 1;
    const seq = Math.floor(k / targets.length) + 1;
    posts.push({
      connectionId: target.connectionId,
      payload: floorMessage(spreadChannel(target.index), tag, seq),
    });
  }
  const { arrived } = collectReceipts(ctx, pool, expectedPerWorker, tag, `burst floor, round ${roundNumber}`);
  const { start, posted } = await postFloor(stack, posts);
  const last = (await arrived).reduce((latest, time) => Math.max(latest, time), start);
  return {
    messages,
    postedMs: round(posted - start, 1),
    timeToAllMs: round(last - start, 1),
    messagesPerSecond: round(messages / ((last - start) / 1000), 0),
  };
}

const goal = (value: number, target: number): Goal => ({
  value: round(value, 3),
  goal: target,
  met: value >= target,
});

export async function runBurstStage(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  options: BurstOptions,
  phase: (name: 'burst: connect' | 'burst: measure' | 'burst: close') => void,
): Promise<BurstResult> {
  // Client 1 subscribes to every channel of the one-connection burst, within the default limit of 100.
  if (!(options.channels >= 2 && options.channels <= 90)) {
    throw new StageError(`burst needs 2 to 90 channels (got ${options.channels})`);
  }
  phase('burst: connect');
  const clients = subscriptionPlan(options.channels);
  const { opened, workerOfKey } = await openIndexedClients(ctx, stack, pool, clients, 'burst');
  const { subscriptions, connectionIds } = await subscribeClients(ctx, pool, clients, 'burst subscribe');
  // The floor posts to the spread's connections.
  const targets = clients.map((client) => ({
    index: client.index,
    connectionId: connectionIds.get(client.key) as string,
  }));
  ctx.progress.log(
    `  burst: ${clients.length} clients connected, ${subscriptions} subscriptions, in ${opened.seconds.toFixed(1)} s`,
  );

  phase('burst: measure');
  const audience = audienceOf(clients);
  const n = options.channels;
  const plans: Plan[] = [
    {
      name: 'warm-up',
      events: options.warmupEvents,
      channelOf: (k) => warmChannel(k % WARM_CHANNELS),
      audience,
    },
    { name: 'spread', events: options.events, channelOf: (k) => spreadChannel(k % n), audience },
    { name: 'hot', events: options.events, channelOf: () => HOT, audience },
    {
      name: 'one-connection',
      events: options.events,
      channelOf: (k) => oneConnectionChannel(k % n),
      audience,
    },
    { name: 'hot-large', events: options.largeEvents, channelOf: () => HOT_LARGE, audience },
  ];
  const totalEvents =
    plans.reduce((sum, plan) => sum + plan.events, 0) + options.warmupEvents + 2 * options.events;
  let done = 0;
  const tell = (detail: string) => ctx.progress.update(done / totalEvents, detail);
  const step = (events: number, detail: string) => {
    done += events;
    tell(detail);
  };
  const eventsBefore = (await workerCounts(pool)).events;
  let tracked = 0;
  const floor: BurstFloorRound[] = [];
  const live: { readonly plan: Plan; readonly burst: LiveBurst }[] = [];
  const requests = countDynamoRequests();
  try {
    for (const plan of plans) {
      throwIfAborted(ctx.signal);
      if (plan.name === 'warm-up') {
        // The bench's own Management API client opens its sockets here, not in a measured round.
        await floorRound(ctx, stack, pool, targets, options.warmupEvents, 0);
        step(options.warmupEvents, 'floor warm-up');
      }
      if (plan.name === 'spread') {
        floor.push(await floorRound(ctx, stack, pool, targets, options.events, 1));
        step(options.events, 'floor round 1');
      }
      const { burst: s, received } = await runBurst(ctx, stack, pool, workerOfKey, requests, plan, tell);
      tracked += received;
      step(plan.events, `${plan.name}: ${s.eventsPerSecond} events/s`);
      if (plan.name === 'spread') {
        floor.push(await floorRound(ctx, stack, pool, targets, options.events, 2));
        step(options.events, 'floor round 2');
      }
      if (plan.name === 'warm-up') continue;
      live.push({ plan, burst: s });
      ctx.progress.log(
        `  burst ${s.name.padEnd(14)} ${String(s.events).padStart(6)} events: ${s.eventsPerSecond}/s, put in ${s.putSeconds} s, ` +
          `p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms; lost ${s.lost}, duplicated ${s.duplicated}, ` +
          `out of order ${s.outOfOrder}, seq ${s.seqCheck.exact}/${s.seqCheck.channels} exact, dead-lettered ${s.deadLettered}` +
          `; DynamoDB ${s.requests.requestsPerEvent} requests/event`,
      );
      if (s.lost > 0 || s.duplicated > 0 || s.unexpected > 0 || !s.seqCheck.ok || s.deadLettered > 0) {
        ctx.warn(
          `burst ${s.name}: lost ${s.lost}, duplicated ${s.duplicated}, unexpected ${s.unexpected}, ` +
            `dead-lettered ${s.deadLettered}; seq: ${s.seqCheck.problems.slice(0, 3).join('; ') || 'exact'}`,
        );
      }
    }
  } finally {
    requests.close();
  }

  const counts = await workerCounts(pool);
  if (counts.unexpectedCloses.length > 0) {
    throw new StageError(
      `burst: ${counts.unexpectedCloses.length} clients were disconnected by the stack, e.g. ${JSON.stringify(counts.unexpectedCloses.slice(0, 3))}`,
    );
  }
  const floorMessages = options.warmupEvents + floor.reduce((sum, r) => sum + r.messages, 0);
  const lateReceipts = counts.events - eventsBefore - tracked - floorMessages;
  if (lateReceipts !== 0)
    ctx.warn(`burst: ${lateReceipts} tagged events arrived after their burst was judged`);

  // On the bursts' own channels, while their subscribers are still there (the Query reads them).
  const scenarios: BurstScenario[] = [];
  for (const { plan, burst } of live) {
    tell(`${plan.name}: units of ${UNIT_EVENTS} events published apart`);
    const { requests: counted, ...measured } = burst;
    const units = await measurePublishUnits(stack, plan.channelOf, UNIT_EVENTS);
    scenarios.push({ ...measured, dynamodb: { ...counted, units } });
  }
  ctx.progress.log(
    `  burst units/event (read/write): ${scenarios.map((s) => `${s.name} ${s.dynamodb.units.readUnitsPerEvent}/${s.dynamodb.units.writeUnitsPerEvent}`).join(', ')}`,
  );

  phase('burst: close');
  const closed = await closeAllClients(ctx, stack, pool, 'burst close');
  const byName = (name: BurstName) => scenarios.find((s) => s.name === name) as BurstScenario;
  const floorRate = floor.reduce((sum, r) => sum + r.messagesPerSecond, 0) / floor.length;
  return {
    connections: clients.length,
    connectSeconds: round(opened.seconds, 1),
    subscriptions,
    putsInFlight: PUTS_IN_FLIGHT,
    entriesPerPut: ENTRIES_PER_PUT,
    publishConcurrency: stack.publishConcurrency,
    pipeline: {
      batchSize: PUBLISH_PIPELINE.batchSize,
      reservedConcurrency: PUBLISH_PIPELINE.reservedConcurrency,
    },
    scenarios,
    floor: { rounds: floor, messagesPerSecond: round(floorRate, 0) },
    ratios: {
      hotOverSpread: goal(
        byName('hot').eventsPerSecond / byName('spread').eventsPerSecond,
        GOALS.hotOverSpread,
      ),
      spreadOverFloor: goal(byName('spread').eventsPerSecond / floorRate, GOALS.spreadOverFloor),
    },
    dynamodbMethod: DYNAMODB_METHOD,
    lateReceipts,
    closeSeconds: round(closed.seconds, 1),
  };
}
