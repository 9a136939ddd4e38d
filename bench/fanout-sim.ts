/**
 * Stage "fanout-sim": the big-channel arithmetic checked at 1,000,000 subscribers, in seconds and
 * without a socket. Core's real `runFanoutTask` runs the 16 shard tasks of one event the way the
 * fan-out pipeline does on AWS, against in-memory fakes of its ports, on simulated time
 * (`virtual-clock.ts`):
 * - the queue and Lambda: at most `reservedConcurrency` invocations at once, each with the
 *   function's timeout; a task that throws or times out shows again after the visibility timeout
 *   and is dead-lettered after `maxReceiveCount` receives (`FANOUT_PIPELINE`); a timed-out
 *   invocation is frozen (its later posts and sends never happen), as Lambda's is;
 * - the store: the channel's subscribers split into shards by the real `connectionIdRange`, read
 *   in pages that return a cursor whenever a page is full (DynamoDB's `LastEvaluatedKey`);
 * - the callback budget: one counter per second with the DynamoDB adapter's protocol (one `ADD`
 *   per take), counting its writes per second (a key takes 1,000 writes a second at most);
 * - the gateway: the account quota as the local stack's token bucket (`CallbackQuota`), answering
 *   429 past it, after a network latency.
 * Every delivery is counted per subscriber: lost, duplicated and exactly-once are checked, and
 * the invocations, continuations, retries, read units and cost per event are counted.
 */
import { connectionIdRange } from '../adapters/dynamo-store.js';
import { budgetWindow, windowRights } from '../core/callback-pacer.js';
import { DEFAULT_CHANNEL_POLICY } from '../core/channel-policy.js';
import { ThrottledError } from '../core/delivery.js';
import { FANOUT_SHARDS, type FanoutDeps, runFanoutTask, shardTasks } from '../core/fanout.js';
import type {
  Audience,
  CallbackBudget,
  ChannelHistory,
  ConnectionGateway,
  ConnectionStore,
  Cursor,
  FanoutTask,
  SubscriberRecord,
} from '../core/ports.js';
import type { Settings } from '../core/settings.js';
import { FANOUT_PIPELINE } from '../lambdas/publish-pipeline.js';
import { CallbackQuota } from '../local/emulator/callback-quota.js';
import type { BenchContext } from './context.js';
import { round } from './stats.js';
import { VirtualClock } from './virtual-clock.js';

/** One simulated event: `subscribers` of one channel, a budget, and the account quota behind it. */
export interface SimScenario {
  readonly name: string;
  readonly subscribers: number;
  /** Switchboard's `callbacksPerSecond`. */
  readonly callbacksPerSecond: number;
  /** The account's `@connections` quota (a token bucket with half a second of burst, as locally). */
  readonly quotaPerSecond: number;
}

/** Latencies of the fakes, ms: what a call costs in a Lambda in the same region. */
export const SIM_LATENCY_MS = {
  /** `PostToConnection`, request to answer (± a quarter, seeded). */
  post: 20,
  /** A Query page of 1,000 subscriber items. */
  query: 30,
  /** An UpdateItem on the budget item. */
  budget: 5,
  /** The events of a task (history read). */
  history: 10,
  /** SendMessage(Batch) to the fan-out queue. */
  queueSend: 20,
  /** From a message becoming visible to its invocation starting (poll, invoke). */
  invoke: 50,
} as const;

/** Prices of the design note (us-east-1, arm64), USD. */
export const PRICES = {
  lambdaPerMillionRequests: 0.2,
  lambdaPerGbSecond: 0.0000133334,
  lambdaMemoryGb: 0.5,
  sqsPerMillionRequests: 0.4,
  apiGatewayPerMillionMessages: 1.0,
  dynamoPerMillionWru: 0.625,
  dynamoPerMillionRru: 0.125,
} as const;

/**
 * Bytes of one subscriber item as a Query's read units count it (whole items, whatever the
 * projection): the fan-out stage measured 30 read units for a consistent Query of 1,000
 * (bench/results.json, `fanOut.sizes[].queryReadUnits`), about 33 items per 4 KB unit.
 */
const SUBSCRIBER_ITEM_BYTES = 123;

export interface SimRun {
  readonly scenario: SimScenario;
  readonly shards: number;
  /** Simulated seconds from the tasks being queued to the last first delivery. */
  readonly secondsToAll: number;
  /** subscribers / callbacksPerSecond: the floor the budget sets. */
  readonly budgetSeconds: number;
  readonly deliveriesPerSecond: number;
  /** deliveriesPerSecond / callbacksPerSecond. */
  readonly ratioToBudget: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly invocations: number;
  readonly peakConcurrentInvocations: number;
  /** Tasks queued again from their cursor (an invocation ran low on time). */
  readonly continuations: number;
  /** Tasks queued for the connections whose posts failed (`only`). */
  readonly retryTasks: number;
  /** Invocations that ran into the function timeout (their task is received again: duplicates). */
  readonly timedOut: number;
  /** Invocations whose task threw (received again after the visibility timeout). */
  readonly failedInvocations: number;
  readonly deadLettered: number;
  /** `@connections` calls answered 429 by the quota. */
  readonly throttled: number;
  readonly budget: {
    /** Writes to the per-second items (one per take). */
    readonly writes: number;
    readonly peakWritesPerSecond: number;
  };
  /** The largest task message, bytes (SQS takes 256 KiB, or 1 MiB where raised). */
  readonly largestTaskBytes: number;
  readonly dynamodb: { readonly readUnits: number; readonly writeUnits: number };
  readonly lambdaGbSeconds: number;
  readonly sqsRequests: number;
  /** USD per event, by service, from `PRICES`. */
  readonly costUsd: {
    readonly lambda: number;
    readonly sqs: number;
    readonly apiGateway: number;
    readonly dynamodb: number;
    readonly total: number;
  };
  /** Wall-clock seconds the simulation took. */
  readonly wallSeconds: number;
}

export interface FanoutSimResult {
  readonly method: string;
  readonly latencyMs: typeof SIM_LATENCY_MS;
  readonly pipeline: {
    readonly reservedConcurrency: number;
    readonly functionTimeoutSeconds: number;
    readonly visibilityTimeoutSeconds: number;
    readonly maxReceiveCount: number;
  };
  readonly prices: typeof PRICES;
  readonly runs: readonly SimRun[];
}

/** The base64 characters API Gateway's connection ids start with. */
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A seeded PRNG (mulberry32), so that every run of the simulation is the same run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The channel's subscribers: subscriber `i` has connection id `{c}{i in base 36}`, its first
 * character `c` random as in API Gateway's ids, so shards are as uneven as on AWS. Each shard
 * holds its subscribers' indexes; records are built per page, so a million cost a few MB.
 */
class FakeAudience {
  readonly shards: Int32Array[];
  private readonly first: Uint8Array;

  constructor(
    readonly size: number,
    random: () => number,
  ) {
    const shardOfChar = [...ID_ALPHABET].map((c) => {
      const id = `${c}0`;
      const matches = Array.from({ length: FANOUT_SHARDS }, (_, s) => s).filter((s) => {
        const { lo, hi } = connectionIdRange(s, FANOUT_SHARDS);
        return id >= lo && id <= hi;
      });
      if (matches.length !== 1)
        throw new Error(`connection ids starting ${c} fall in ${matches.length} shards`);
      return matches[0] as number;
    });
    this.first = new Uint8Array(size);
    const counts = new Int32Array(FANOUT_SHARDS);
    for (let i = 0; i < size; i++) {
      const c = Math.floor(random() * ID_ALPHABET.length);
      this.first[i] = c;
      const shard = shardOfChar[c] as number;
      counts[shard] = (counts[shard] as number) + 1;
    }
    this.shards = Array.from(counts, (n) => new Int32Array(n));
    const filled = new Int32Array(FANOUT_SHARDS);
    for (let i = 0; i < size; i++) {
      const shard = shardOfChar[this.first[i] as number] as number;
      const at = filled[shard] as number;
      (this.shards[shard] as Int32Array)[at] = i;
      filled[shard] = at + 1;
    }
  }

  connectionId(i: number): string {
    return `${ID_ALPHABET[this.first[i] as number]}${i.toString(36)}`;
  }

  indexOf(connectionId: string): number {
    return Number.parseInt(connectionId.slice(1), 36);
  }

  record(i: number): SubscriberRecord {
    return {
      connectionId: this.connectionId(i),
      identity: { userId: `user-${i}`, roles: [], anonymous: false },
    };
  }
}

/** The per-window budget items with the DynamoDB adapter's protocol (one `ADD` per take), counting its writes a second. */
class SimBudget implements CallbackBudget {
  private readonly used = new Map<number, number>();
  readonly writesBySecond = new Map<number, number>();

  constructor(
    private readonly perSecond: number,
    private readonly clock: VirtualClock,
  ) {}

  async take(n: number, nowMs: number): Promise<number> {
    const window = budgetWindow(nowMs);
    const limit = windowRights(this.perSecond, window);
    const want = Math.min(n, limit);
    if (want <= 0) return 0;
    await this.clock.sleep(SIM_LATENCY_MS.budget / 2);
    // The atomic ADD: what was counted before it, and the count after it.
    const before = this.used.get(window) ?? 0;
    this.used.set(window, before + want);
    const second = Math.floor(nowMs / 1000);
    this.writesBySecond.set(second, (this.writesBySecond.get(second) ?? 0) + 1);
    await this.clock.sleep(SIM_LATENCY_MS.budget / 2);
    return Math.max(0, Math.min(want, limit - before));
  }
}

interface Invocation {
  killed: boolean;
}

interface QueuedTask {
  readonly body: string;
  receives: number;
}

const never = <T>() => new Promise<T>(() => {});

/** Runs one scenario to completion on simulated time. */
async function simulate(scenario: SimScenario, seed: number): Promise<SimRun> {
  const wallStart = performance.now();
  const random = seeded(seed);
  const audience = new FakeAudience(scenario.subscribers, random);
  const clock = new VirtualClock(Date.UTC(2030, 0, 1));
  const t0 = clock.now;
  const quota = new CallbackQuota(scenario.quotaPerSecond, undefined, () => clock.now);
  const budget = new SimBudget(scenario.callbacksPerSecond, clock);
  const received = new Uint8Array(scenario.subscribers);
  let lastFirstDelivery = t0;
  const payload = JSON.stringify({ type: 'event', channel: 'big', seq: 1, data: null });
  const settings: Settings = {
    channelPolicy: DEFAULT_CHANNEL_POLICY,
    publishPolicy: [],
    maxSubscriptions: 100,
    maxMessageBytes: 32 * 1024,
    idleTimeoutSeconds: 600,
    maxConnectionSeconds: 7200,
    publishConcurrency: 32,
    rateLimit: { burst: 100, perSecond: 10, closeAfter: 50 },
    fanout: { threshold: 1000, callbacksPerSecond: scenario.callbacksPerSecond },
  };
  const counts = {
    invocations: 0,
    running: 0,
    peak: 0,
    continuations: 0,
    retryTasks: 0,
    timedOut: 0,
    failed: 0,
    deadLettered: 0,
    waiting: 0,
    readUnits: 0,
    gbSeconds: 0,
    sqsRequests: 0,
    largestTaskBytes: 0,
  };
  const ready: QueuedTask[] = [];
  const jitter = () => SIM_LATENCY_MS.post * (0.75 + random() / 2);

  const gatewayOf = (invocation: Invocation): ConnectionGateway => ({
    async post(connectionId) {
      await clock.sleep(jitter() / 2);
      if (invocation.killed) return never();
      const allowed = quota.take();
      if (allowed) {
        const i = audience.indexOf(connectionId);
        if (received[i] === 0) lastFirstDelivery = clock.now;
        received[i] = Math.min(255, (received[i] as number) + 1);
      }
      await clock.sleep(jitter() / 2);
      if (!allowed) throw new ThrottledError('429 (simulated quota)');
      return 'delivered';
    },
    close: async () => 'delivered',
  });

  const storeOf = (invocation: Invocation): Pick<ConnectionStore, 'audiencePage' | 'removeConnection'> => ({
    async audiencePage(_tenant, target: Audience, _now, limit, cursor?: Cursor) {
      await clock.sleep(SIM_LATENCY_MS.query);
      if (invocation.killed) return never();
      if (target.kind !== 'channel') throw new Error('the simulation has channel audiences only');
      const shard = audience.shards[target.shard] as Int32Array;
      const from = Number((cursor as { i?: unknown } | undefined)?.i ?? 0);
      const to = Math.min(shard.length, from + limit);
      const items = Array.from(shard.subarray(from, to), (i) => audience.record(i));
      // Strongly consistent Query: one read unit per 4 KB read.
      counts.readUnits += Math.max(1, Math.ceil((items.length * SUBSCRIBER_ITEM_BYTES) / 4096));
      // As DynamoDB: a full page carries a cursor, even when nothing follows it.
      return items.length === limit ? { items, cursor: { i: to } } : { items };
    },
    removeConnection: async () => {},
  });

  const history: ChannelHistory = {
    append: () => Promise.reject(new Error('not used')),
    current: async () => 1,
    replay: () => Promise.reject(new Error('not used')),
    async events(_tenant, _channel, seqs) {
      await clock.sleep(SIM_LATENCY_MS.history);
      counts.readUnits += 1;
      return seqs.map((seq) => ({ seq, payload }));
    },
  };

  const enqueue = (tasks: readonly FanoutTask[]) => {
    counts.sqsRequests += Math.ceil(tasks.length / 10);
    for (const task of tasks) {
      const body = JSON.stringify(task);
      counts.largestTaskBytes = Math.max(counts.largestTaskBytes, Buffer.byteLength(body));
      ready.push({ body, receives: 0 });
    }
    pump();
  };

  const retryLater = (message: QueuedTask) => {
    if (message.receives >= FANOUT_PIPELINE.maxReceiveCount) {
      counts.deadLettered += 1;
      return;
    }
    counts.waiting += 1;
    void clock.sleep(FANOUT_PIPELINE.visibilityTimeoutSeconds * 1000).then(() => {
      counts.waiting -= 1;
      ready.push(message);
      pump();
    });
  };

  const invoke = async (message: QueuedTask) => {
    message.receives += 1;
    counts.invocations += 1;
    // ReceiveMessage and, on success, DeleteMessage.
    counts.sqsRequests += 2;
    await clock.sleep(SIM_LATENCY_MS.invoke);
    const started = clock.now;
    const timeoutMs = FANOUT_PIPELINE.functionTimeoutSeconds * 1000;
    const deadline = started + timeoutMs;
    const invocation: Invocation = { killed: false };
    const task = JSON.parse(message.body) as FanoutTask;
    const deps: FanoutDeps = {
      store: storeOf(invocation) as ConnectionStore,
      history,
      gateway: gatewayOf(invocation),
      queue: {
        async send(tasks) {
          await clock.sleep(SIM_LATENCY_MS.queueSend);
          if (invocation.killed) return never();
          for (const sent of tasks) {
            // A retry counts one more try; the rest go on where this one stopped for lack of time.
            if ((sent.attempt ?? 0) > (task.attempt ?? 0)) counts.retryTasks += 1;
            else counts.continuations += 1;
          }
          enqueue(tasks);
        },
      },
      budget,
      settings,
      log: { info: () => {}, warn: () => {}, error: () => {} },
      now: () => clock.now,
      remainingTimeMs: () => Math.max(0, deadline - clock.now),
    };
    const outcome = await Promise.race([
      runFanoutTask(task, deps).then(
        () => 'done' as const,
        () => 'threw' as const,
      ),
      clock.sleep(timeoutMs).then(() => 'timed out' as const),
    ]);
    counts.gbSeconds += ((Math.min(clock.now, deadline) - started) / 1000) * PRICES.lambdaMemoryGb;
    if (outcome === 'timed out') {
      invocation.killed = true;
      counts.timedOut += 1;
      retryLater(message);
    } else if (outcome === 'threw') {
      counts.failed += 1;
      retryLater(message);
    }
    counts.running -= 1;
    pump();
  };

  function pump(): void {
    while (counts.running < FANOUT_PIPELINE.reservedConcurrency && ready.length > 0) {
      const message = ready.shift() as QueuedTask;
      counts.running += 1;
      counts.peak = Math.max(counts.peak, counts.running);
      void invoke(message);
    }
  }

  clock.install();
  try {
    // What publish queues for a channel past the threshold: one task per shard.
    enqueue(shardTasks(undefined, 'big', [1], 'channel'));
    await clock.runUntil(
      () => ready.length === 0 && counts.running === 0 && counts.waiting === 0,
      t0 + 6 * 3600 * 1000,
    );
  } finally {
    clock.uninstall();
  }

  let delivered = 0;
  let duplicated = 0;
  for (const n of received) {
    if (n > 0) delivered += 1;
    if (n > 1) duplicated += n - 1;
  }
  const secondsToAll = (lastFirstDelivery - t0) / 1000;
  const writes = [...budget.writesBySecond.values()].reduce((sum, n) => sum + n, 0);
  const peakWrites = Math.max(0, ...budget.writesBySecond.values());
  const deliveriesPerSecond = delivered / Math.max(secondsToAll, 1e-9);
  const writeUnits = writes;
  const readUnits = counts.readUnits;
  const cost = {
    lambda:
      (counts.invocations / 1e6) * PRICES.lambdaPerMillionRequests +
      counts.gbSeconds * PRICES.lambdaPerGbSecond,
    sqs: (counts.sqsRequests / 1e6) * PRICES.sqsPerMillionRequests,
    apiGateway: (quota.counts.allowed / 1e6) * PRICES.apiGatewayPerMillionMessages,
    dynamodb:
      (writeUnits / 1e6) * PRICES.dynamoPerMillionWru + (readUnits / 1e6) * PRICES.dynamoPerMillionRru,
  };
  return {
    scenario,
    shards: FANOUT_SHARDS,
    secondsToAll: round(secondsToAll, 1),
    budgetSeconds: round(scenario.subscribers / scenario.callbacksPerSecond, 1),
    deliveriesPerSecond: round(deliveriesPerSecond, 0),
    ratioToBudget: round(deliveriesPerSecond / scenario.callbacksPerSecond, 3),
    delivered,
    lost: scenario.subscribers - delivered,
    duplicated,
    invocations: counts.invocations,
    peakConcurrentInvocations: counts.peak,
    continuations: counts.continuations,
    retryTasks: counts.retryTasks,
    timedOut: counts.timedOut,
    failedInvocations: counts.failed,
    deadLettered: counts.deadLettered,
    throttled: quota.counts.throttled,
    budget: { writes, peakWritesPerSecond: peakWrites },
    largestTaskBytes: counts.largestTaskBytes,
    dynamodb: { readUnits, writeUnits },
    lambdaGbSeconds: round(counts.gbSeconds, 1),
    sqsRequests: counts.sqsRequests,
    costUsd: {
      lambda: round(cost.lambda, 4),
      sqs: round(cost.sqs, 6),
      apiGateway: round(cost.apiGateway, 4),
      dynamodb: round(cost.dynamodb, 4),
      total: round(cost.lambda + cost.sqs + cost.apiGateway + cost.dynamodb, 4),
    },
    wallSeconds: round((performance.now() - wallStart) / 1000, 1),
  };
}

/**
 * The default budget and a raised one under the default account quota (10,000/s), and the
 * default budget above the quota of a newer region (2,500/s), where the 429s pace the workers.
 */
export function simScenarios(subscribers: number): SimScenario[] {
  return [
    { name: 'default budget', subscribers, callbacksPerSecond: 4000, quotaPerSecond: 10_000 },
    { name: 'raised budget', subscribers, callbacksPerSecond: 9000, quotaPerSecond: 10_000 },
    // A fifth of the size: every 429 is a retried post, and the point is that nothing is lost.
    {
      name: 'budget above the quota',
      subscribers: Math.ceil(subscribers / 5),
      callbacksPerSecond: 4000,
      quotaPerSecond: 2500,
    },
  ];
}

export async function runFanoutSim(
  ctx: BenchContext,
  scenarios: readonly SimScenario[],
): Promise<FanoutSimResult> {
  const runs: SimRun[] = [];
  for (const [index, scenario] of scenarios.entries()) {
    ctx.progress.update(index / scenarios.length, `${scenario.name}: ${scenario.subscribers} subscribers`);
    const run = await simulate(scenario, 12 + index);
    runs.push(run);
    ctx.progress.log(
      `  fanout-sim ${scenario.name} (${scenario.subscribers} at ${scenario.callbacksPerSecond}/s, quota ${scenario.quotaPerSecond}/s): ` +
        `${run.secondsToAll} s to all (budget floor ${run.budgetSeconds} s, ×${run.ratioToBudget}), ` +
        `${run.invocations} invocations, ${run.continuations} continuations, ${run.retryTasks} retries, ` +
        `lost ${run.lost}, duplicated ${run.duplicated}, timed out ${run.timedOut}, 429s ${run.throttled}; ` +
        `$${run.costUsd.total}/event; ${run.wallSeconds} s wall`,
    );
  }
  return {
    method:
      "core's runFanoutTask against in-memory fakes on simulated time (bench/virtual-clock.ts): " +
      'queue + Lambda with the fan-out pipeline facts, store pages with DynamoDB cursors, the budget item protocol, ' +
      'a token-bucket gateway answering 429',
    latencyMs: SIM_LATENCY_MS,
    pipeline: {
      reservedConcurrency: FANOUT_PIPELINE.reservedConcurrency,
      functionTimeoutSeconds: FANOUT_PIPELINE.functionTimeoutSeconds,
      visibilityTimeoutSeconds: FANOUT_PIPELINE.visibilityTimeoutSeconds,
      maxReceiveCount: FANOUT_PIPELINE.maxReceiveCount,
    },
    prices: PRICES,
    runs,
  };
}
