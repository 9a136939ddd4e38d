/**
 * The big-channel stage's measurement, run in the stage's own process (`big-channel-process.ts`;
 * the stage is described in `big-channel.ts`): connects and subscribes the clients, puts each
 * scenario's events, judges every receipt, tallies the fan-out workers' reports, and measures what
 * a connection costs the stack.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { FANOUT_SHARDS } from '../core/fanout.js';
import { FANOUT_PIPELINE } from '../lambdas/publish-pipeline.js';
import type { BenchStack } from './bench-stack.js';
import {
  type BigChannelOptions,
  type BigChannelPhase,
  type BigChannelResult,
  type BigScenarioName,
  type BigScenarioResult,
  budgetOf,
  type FanoutTally,
} from './big-channel.js';
import type { ClientPool } from './client-pool.js';
import { openClients, sendRequests } from './connections.js';
import { type BenchContext, StageError, sleep, within } from './context.js';
import { collectGarbage, rssMiB } from './machine.js';
import { hrNow, round, roundSummary, summarize } from './stats.js';
import type { TrackedReceipts } from './worker-protocol.js';

const TENANT = 'big';
const CHANNELS = ['big-a', 'big-b'] as const;
/** Open files kept free for what is not a client socket: DynamoDB, `@connections` and SQS clients, both ends. */
const FILE_RESERVE = 1_200;
const QUIET_MS = 3_000;

/** The soft open-files limit of this process (one per socket): what bounds the connections it holds. */
export function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const value = Number(line?.split(/\s+/)[3]);
  return Number.isFinite(value) ? value : Number.POSITIVE_INFINITY;
}

export const openFiles = (): number => readdirSync('/proc/self/fd').length;

/** Tallies the fan-out workers' log lines (`lambdas/fanout.ts`) and the stack's timeouts. */
export class FanoutLog {
  private tally = FanoutLog.empty();

  private static empty() {
    return {
      invocations: 0,
      failedInvocations: 0,
      timedOut: 0,
      shards: {} as Record<string, number[]>,
      deliveries: 0,
      continued: 0,
      unstarted: 0,
      retried: 0,
      throttled: 0,
    };
  }

  readonly onLine = (source: 'handler' | 'stack', line: string): void => {
    if (source === 'stack') {
      if (line.includes('switchboard-fanout failed') && line.includes('timed out')) this.tally.timedOut += 1;
      return;
    }
    if (!line.includes('"fan-out shard')) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (entry.message === 'fan-out shard failed') {
      this.tally.failedInvocations += 1;
      return;
    }
    if (entry.message !== 'fan-out shard done') return;
    const t = this.tally;
    t.invocations += 1;
    const channel = String(entry.channel);
    const shard = Number((entry.audience as { shard?: unknown } | undefined)?.shard);
    const seen = t.shards[channel] ?? [];
    if (!seen.includes(shard)) seen.push(shard);
    t.shards[channel] = seen;
    t.deliveries += Number(entry.deliveries ?? 0);
    t.unstarted += Number(entry.unstarted ?? 0);
    t.retried += Number(entry.retried ?? 0);
    t.throttled += Number(entry.throttled ?? 0);
    if (entry.continued === true) t.continued += 1;
  };

  /** What was tallied since the last call. */
  take(): FanoutTally {
    const t = this.tally;
    this.tally = FanoutLog.empty();
    return {
      ...t,
      shards: Object.fromEntries(
        Object.entries(t.shards).map(([channel, shards]) => [channel, shards.length]),
      ),
    };
  }
}

interface ScenarioPlan {
  readonly name: BigScenarioName | 'warm-up';
  /** One PutEvents entry each: the channel it goes to, and its detail but for tenant and tag. */
  readonly entries: readonly { readonly channel: string; readonly detail: Record<string, unknown> }[];
}

interface Client {
  readonly index: number;
  readonly key: string;
  readonly tenant: string | undefined;
}

/** Receipts of one tag, judged against who should have received it. */
function judge(
  receipts: readonly TrackedReceipts[],
  expected: ReadonlySet<string>,
  sent: number,
): {
  delivered: number;
  duplicated: number;
  unexpected: number;
  lastFirst: number;
  latencies: number[];
} {
  const seen = new Set<string>();
  let duplicated = 0;
  let unexpected = 0;
  let lastFirst = sent;
  const latencies: number[] = [];
  for (const worker of receipts) {
    worker.keys.forEach((key, i) => {
      if (!expected.has(key)) {
        unexpected += 1;
        return;
      }
      if (seen.has(key)) {
        duplicated += 1;
        return;
      }
      seen.add(key);
      const at = worker.times[i] as number;
      latencies.push(at - sent);
      if (at > lastFirst) lastFirst = at;
    });
  }
  return { delivered: seen.size, duplicated, unexpected, lastFirst, latencies };
}

/**
 * Closes every client and waits for the gateway to have no socket left. Unlike the other stages it
 * does not wait for every `$disconnect` to remove its items: locally nothing bounds how many run at
 * once, and tens of thousands at once time out on DynamoDB Local (their items are left for the
 * sweep; the stack goes away with this process anyway).
 */
async function closeClients(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
): Promise<{ seconds: number }> {
  const started = hrNow();
  await within(
    pool.all({ op: 'closeAll', timeoutMs: 30_000 }),
    90_000,
    'big channel: closing clients',
    ctx.signal,
  );
  const deadline = Date.now() + 60_000;
  while (stack.stack.gateway.connections.size > 0 && Date.now() < deadline) await sleep(500, ctx.signal);
  const left = stack.stack.gateway.connections.size;
  if (left > 0) ctx.warn(`big channel: ${left} sockets still open 60 s after the clients closed`);
  return { seconds: (hrNow() - started) / 1000 };
}

/** Runs in the stage's process: connects, subscribes, measures the three scenarios, closes. */
export async function measureBigChannel(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  fanoutLog: FanoutLog,
  options: BigChannelOptions,
  phase: (name: BigChannelPhase) => void,
): Promise<BigChannelResult> {
  const quota = stack.stack.callbackQuota;
  if (!quota)
    throw new StageError('the stack has no callback quota: SWITCHBOARD_LOCAL_CALLBACK_RPS was not set');
  const limit = openFilesLimit();
  const openAtStart = openFiles();
  const room = limit - openAtStart - FILE_RESERVE - options.outsiders;
  const subscribers = Math.max(1, Math.min(options.subscribers, room));
  if (subscribers < options.subscribers) {
    ctx.warn(
      `big-channel: ${subscribers} subscribers instead of ${options.subscribers}: the stack's process may hold ` +
        `${limit} open files (ulimit -n; one per socket) and ${openAtStart} are open at the start`,
    );
  }

  phase('big channel: connect');
  collectGarbage();
  const before = { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed };
  const jvmBefore = stack.jvmPid !== undefined ? rssMiB(stack.jvmPid) : undefined;
  const clients: Client[] = [
    ...Array.from({ length: subscribers }, (_, i) => ({ index: i, key: `big-${i}`, tenant: TENANT })),
    ...Array.from({ length: options.outsiders }, (_, j) => ({
      index: subscribers + j,
      key: `out-${j}`,
      tenant: j % 2 === 0 ? 'rival' : undefined,
    })),
  ];
  const specs = await Promise.all(
    clients.map(async (client) => ({
      index: client.index,
      key: client.key,
      token: await stack.token({
        userId: client.key,
        roles: [],
        ...(client.tenant !== undefined ? { tenant: client.tenant } : {}),
      }),
    })),
  );
  const opened = await openClients(ctx, stack.stack.endpoints.websocket, pool, specs, 'big channel: connect');
  const subscribed = await sendRequests(
    ctx,
    pool,
    clients.flatMap((client) =>
      CHANNELS.map((channel) => ({
        index: client.index,
        key: client.key,
        message: { action: 'subscribe', channel, id: `sub-${client.key}-${channel}` },
        expect: 'subscribed',
      })),
    ),
    'big channel: subscribe',
  );
  ctx.progress.log(
    `  big channel: ${clients.length} connections in ${opened.seconds.toFixed(1)} s, ` +
      `${clients.length * CHANNELS.length} subscriptions in ${subscribed.seconds.toFixed(1)} s`,
  );
  collectGarbage();
  const open = { rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed };
  const jvmOpen = stack.jvmPid !== undefined ? rssMiB(stack.jvmPid) : undefined;
  const openFilesNow = openFiles();

  phase('big channel: measure');
  const audience = new Set(clients.filter((c) => c.tenant === TENANT).map((c) => c.key));
  const expectedPerWorker = Array.from(
    { length: pool.size },
    (_, worker) => clients.filter((c) => c.tenant === TENANT && pool.workerOf(c.index) === worker).length,
  );
  const scenarios: BigScenarioResult[] = [];
  const plans: ScenarioPlan[] = [
    // Not reported: the first fan-out after thousands of subscribes meets a DynamoDB Local (and a
    // stack) still settling, as the fan-out stage's first rounds do.
    { name: 'warm-up', entries: [{ channel: 'big-a', detail: { channel: 'big-a' } }] },
    { name: 'one channel', entries: [{ channel: 'big-a', detail: { channel: 'big-a' } }] },
    { name: 'two channels', entries: CHANNELS.map((channel) => ({ channel, detail: { channel } })) },
    { name: 'broadcast', entries: [{ channel: 'broadcast', detail: { broadcast: true } }] },
  ];
  for (const [k, plan] of plans.entries()) {
    ctx.progress.update(k / plans.length, `${plan.name}: ${subscribers * plan.entries.length} deliveries`);
    fanoutLog.take();
    const quotaBefore = { ...quota.counts };
    const deadBefore = stack.stack.deadLetterQueue.size;
    const tags = plan.entries.map((entry) => `big-${k}-${entry.channel}`);
    for (const tag of tags) {
      await within(pool.all({ op: 'track', tag }), 10_000, `${plan.name}: tracking receipts`, ctx.signal);
    }
    const entries: PutEventsRequestEntry[] = plan.entries.map((entry, i) => ({
      Source: 'switchboard.bench',
      DetailType: 'bench_event',
      Detail: JSON.stringify({ ...entry.detail, tenant: TENANT, data: { tag: tags[i] } }),
    }));
    const expectedDeliveries = subscribers * plan.entries.length;
    const timeoutMs = Math.ceil((expectedDeliveries / budgetOf(options)) * 3000) + 60_000;
    const sent = hrNow();
    const answer = await stack.eventBridge.send(new PutEventsCommand({ Entries: entries }));
    if (answer.FailedEntryCount) throw new StageError(`PutEvents refused: ${JSON.stringify(answer.Entries)}`);
    const byTag = await Promise.all(
      tags.map((tag) =>
        within(
          pool.all<TrackedReceipts>((worker) => ({
            op: 'take',
            tag,
            expected: expectedPerWorker[worker] ?? 0,
            timeoutMs,
            quietMs: QUIET_MS,
          })),
          timeoutMs + QUIET_MS + 10_000,
          `${plan.name}: collecting the receipts`,
          ctx.signal,
        ),
      ),
    );
    await within(
      stack.stack.settled(),
      120_000,
      `${plan.name}: waiting for the fan-out to settle`,
      ctx.signal,
    );
    const judged = byTag.map((receipts) => judge(receipts, audience, sent));
    const delivered = judged.reduce((sum, j) => sum + j.delivered, 0);
    const lastFirst = Math.max(...judged.map((j) => j.lastFirst));
    const seconds = (lastFirst - sent) / 1000;
    const rate = delivered / seconds;
    // The bucket starts full: over `seconds`, half a second's burst on top of the quota.
    const ceiling = 1 + quota.burst / (quota.perSecond * seconds);
    const ratio = rate / quota.perSecond;
    const duplicated = judged.reduce((sum, j) => sum + j.duplicated, 0);
    const unexpected = judged.reduce((sum, j) => sum + j.unexpected, 0);
    const deadLettered = stack.stack.deadLetterQueue.size - deadBefore;
    const { name } = plan;
    if (name === 'warm-up') {
      fanoutLog.take();
      if (delivered !== expectedDeliveries || deadLettered > 0) {
        throw new StageError(
          `warm-up: ${delivered} of ${expectedDeliveries} delivered, ${deadLettered} dead-lettered; ` +
            `the stack's latest warnings and errors: ${stack.logs.recent.slice(-6).join(' | ')}`,
        );
      }
      continue;
    }
    const result: BigScenarioResult = {
      name,
      channels: plan.entries.map((e) => e.channel),
      expectedDeliveries,
      delivered,
      lost: expectedDeliveries - delivered,
      duplicated,
      unexpected,
      seconds: round(seconds, 2),
      secondsByChannel: Object.fromEntries(
        plan.entries.map((e, i) => [e.channel, round(((judged[i]?.lastFirst ?? sent) - sent) / 1000, 2)]),
      ),
      deliveriesPerSecond: round(rate, 0),
      ratioToQuota: round(ratio, 3),
      goalMet:
        ratio >= 0.8 &&
        ratio <= ceiling &&
        delivered === expectedDeliveries &&
        duplicated === 0 &&
        unexpected === 0 &&
        deadLettered === 0,
      latencyMs: roundSummary(summarize(judged.flatMap((j) => j.latencies)), 1),
      deadLettered,
      quota: {
        allowed: quota.counts.allowed - quotaBefore.allowed,
        throttled: quota.counts.throttled - quotaBefore.throttled,
      },
      fanout: fanoutLog.take(),
    };
    scenarios.push(result);
    ctx.progress.log(
      `  big channel, ${plan.name}: ${delivered}/${expectedDeliveries} in ${result.seconds} s, ` +
        `${result.deliveriesPerSecond}/s (×${result.ratioToQuota} of the quota ${quota.perSecond}/s), ` +
        `lost ${result.lost}, duplicated ${result.duplicated}, unexpected ${result.unexpected}, ` +
        `429s ${result.quota.throttled}, dead letters ${result.deadLettered}, ` +
        `${result.fanout.invocations} invocations (${result.fanout.continued} continued, ${result.fanout.timedOut} timed out)`,
    );
  }

  phase('big channel: close');
  const closed = await closeClients(ctx, stack, pool);
  const mib = (bytes: number) => round(bytes / 1024 ** 2, 1);
  const perConnection = (delta: number) => round(delta / 1024 / clients.length, 1);
  return {
    requestedSubscribers: options.subscribers,
    subscribers,
    sizeLimit: {
      openFiles: limit,
      openAtStart,
      reserve: FILE_RESERVE,
      capped: subscribers < options.subscribers,
    },
    outsiders: options.outsiders,
    quotaPerSecond: quota.perSecond,
    quotaBurst: quota.burst,
    callbacksPerSecond: budgetOf(options),
    fanoutTimeoutSeconds: options.fanoutTimeoutSeconds,
    sweepIntervalSeconds: options.sweepIntervalSeconds,
    fanoutShards: FANOUT_SHARDS,
    fanoutReservedConcurrency: FANOUT_PIPELINE.reservedConcurrency,
    publishConcurrency: stack.publishConcurrency,
    connectSeconds: round(opened.seconds, 1),
    subscribeSeconds: round(subscribed.seconds, 1),
    closeSeconds: round(closed.seconds, 1),
    memory: {
      stackRssMiB: { before: mib(before.rss), open: mib(open.rss) },
      stackHeapMiB: { before: mib(before.heap), open: mib(open.heap) },
      dynamodbLocalRssMiB:
        jvmBefore !== undefined && jvmOpen !== undefined ? { before: jvmBefore, open: jvmOpen } : undefined,
      kibPerConnection: {
        stackRss: perConnection(open.rss - before.rss),
        stackHeap: perConnection(open.heap - before.heap),
        dynamodbLocalRss:
          jvmBefore !== undefined && jvmOpen !== undefined
            ? round(((jvmOpen - jvmBefore) * 1024) / clients.length, 1)
            : undefined,
      },
      openFiles: openFilesNow,
    },
    scenarios,
  };
}
