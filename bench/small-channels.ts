/**
 * Stage "small-channels" (issue 12 item 6): small channels stay as fast as before big channels.
 *
 * A same-run A/B. A is the last commit before big channels (`SMALL_CHANNELS_BASELINE`), checked
 * out in a temporary git worktree with its own dependencies (`baseline-tree.ts`); B is the working
 * tree. Both run as child processes started the same way (`node --import tsx local/main.ts`, each
 * on its own free loopback ports with its own DynamoDB Local, the same secret and settings:
 * `stack-process.ts`), and one pool of client workers holds both stacks' clients. On each stack,
 * channel `fan-N` gets exactly N subscribers (client i subscribes to every `fan-N` with i < N).
 *
 * For each size, rounds alternate A,B,B,A,A,B,… so that load coming and going on the shared
 * machine hits both alike; each round publishes one event with the real EventBridge client to
 * that stack's endpoint. A delivery's latency is its receipt (stamped in the client worker on the
 * machine-wide monotonic clock) minus the moment the PutEvents call resolved; a round's time to
 * all is the last subscriber's first receipt minus the same moment. Every receipt is checked per
 * client: lost (a subscriber got nothing), duplicated (a second copy) and unexpected (a client that
 * is not a subscriber of the channel) are counted and must be 0.
 *
 * Everything it starts is registered in a `Teardown` (the worktree first, then each stack, then the
 * client workers) and stopped, newest first, on success, on failure, and by the bench on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { signToken } from '../adapters/token-verifier.js';
import { prepareBaselineTree, workingTreeState } from './baseline-tree.js';
import { ClientPool } from './client-pool.js';
import { openClients, sendRequests, takeReceipts, workerCounts } from './connections.js';
import { type BenchContext, StageError, sleep, type Teardown, throwIfAborted } from './context.js';
import { type StackProcess, startStackProcess } from './stack-process.js';
import { hrNow, round, roundSummary, type Summary, summarize } from './stats.js';
import type { TrackedReceipts } from './worker-protocol.js';

/** The last commit before big channels (b33d9ab). */
export const SMALL_CHANNELS_BASELINE = '95a7e20';
export const SMALL_CHANNEL_SIZES = [1, 100, 1000] as const;
/** The goal: time to all subscribers (p50) at most 10 % above the baseline's. */
export const SMALL_CHANNEL_GOAL = 0.1;

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DELIVERY_TIMEOUT_MS = 15_000;
/** After the last expected receipt, how long a round waits for late duplicates. */
const QUIET_MS = 25;

export type Side = 'baseline' | 'current';

export interface SmallChannelsOptions {
  readonly sizes: readonly number[];
  /** Measured rounds per size and side (each: one event). */
  readonly rounds: (size: number) => number;
  /** Per side, before the measured rounds. */
  readonly warmupRounds: number;
  /** Pause after each event, so each is measured on an idle stack. */
  readonly pauseMs: number;
  readonly workers: number;
  readonly baselineCommit: string;
}

export type SmallChannelsPhase =
  | 'small channels: prepare'
  | 'small channels: stacks'
  | 'small channels: connect'
  | 'small channels: measure'
  | 'small channels: stop';

export interface SmallChannelSide {
  /** Per-delivery latency, ms, over every first receipt of every measured round. */
  readonly latencyMs: Summary;
  /** Per round: the last subscriber's first receipt, ms. */
  readonly timeToAllMs: Summary;
  /** How long the PutEvents call took, ms. */
  readonly putEventsMs: Summary;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
}

export interface SmallChannelSize {
  readonly subscribers: number;
  /** Measured rounds per side. */
  readonly rounds: number;
  readonly baseline: SmallChannelSide;
  readonly current: SmallChannelSide;
  /** current / baseline − 1 of the p50s. */
  readonly change: { readonly timeToAllP50: number; readonly latencyP50: number };
  /** Time to all within the goal, and nothing lost, duplicated or misdelivered on either side. */
  readonly goalMet: boolean;
}

export interface SmallChannelsResult {
  readonly goal: number;
  readonly baseline: { readonly commit: string; readonly subject: string; readonly npmCiSeconds: number };
  readonly current: { readonly commit: string; readonly uncommittedFiles: number };
  readonly warmupRounds: number;
  readonly pauseMs: number;
  readonly clientsPerStack: number;
  readonly connectSeconds: number;
  readonly sizes: readonly SmallChannelSize[];
}

/** Round k's order: A,B then B,A, and so on (A,B,B,A,A,B,…). */
export function abbaOrder(k: number): readonly [Side, Side] {
  return k % 2 === 0 ? ['baseline', 'current'] : ['current', 'baseline'];
}

export interface RoundJudgement {
  /** Each subscriber's first receipt minus `acceptedAt`, ms. */
  readonly latencies: number[];
  /** The last subscriber's first receipt minus `acceptedAt`; undefined when none arrived. */
  readonly timeToAll: number | undefined;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
}

/** One event's receipts against the clients that should have received it, once each. */
export function judgeRound(
  receipts: Pick<TrackedReceipts, 'keys' | 'times'>,
  subscribers: ReadonlySet<string>,
  acceptedAt: number,
): RoundJudgement {
  const first = new Map<string, number>();
  let duplicated = 0;
  let unexpected = 0;
  receipts.keys.forEach((key, i) => {
    if (!subscribers.has(key)) unexpected += 1;
    else if (first.has(key)) duplicated += 1;
    else first.set(key, receipts.times[i] as number);
  });
  const latencies = [...first.values()].map((t) => t - acceptedAt);
  return {
    latencies,
    timeToAll: latencies.length > 0 ? Math.max(...latencies) : undefined,
    lost: subscribers.size - first.size,
    duplicated,
    unexpected,
  };
}

/** One side's measured rounds of one size, summarised. */
export function summarizeSide(
  rounds: readonly (RoundJudgement & { readonly putEventsMs: number })[],
): SmallChannelSide {
  const sum = (pick: (r: RoundJudgement) => number) => rounds.reduce((n, r) => n + pick(r), 0);
  return {
    latencyMs: roundSummary(summarize(rounds.flatMap((r) => r.latencies)), 2),
    timeToAllMs: roundSummary(
      summarize(rounds.flatMap((r) => (r.timeToAll === undefined ? [] : [r.timeToAll]))),
      2,
    ),
    putEventsMs: roundSummary(summarize(rounds.map((r) => r.putEventsMs)), 2),
    lost: sum((r) => r.lost),
    duplicated: sum((r) => r.duplicated),
    unexpected: sum((r) => r.unexpected),
  };
}

/** The A/B verdict of one size. */
export function compareSides(
  subscribers: number,
  rounds: number,
  baseline: SmallChannelSide,
  current: SmallChannelSide,
): SmallChannelSize {
  const change = {
    timeToAllP50: round(current.timeToAllMs.p50 / baseline.timeToAllMs.p50 - 1, 3),
    latencyP50: round(current.latencyMs.p50 / baseline.latencyMs.p50 - 1, 3),
  };
  const clean = [baseline, current].every((s) => s.lost + s.duplicated + s.unexpected === 0);
  return {
    subscribers,
    rounds,
    baseline,
    current,
    change,
    goalMet: clean && change.timeToAllP50 <= SMALL_CHANNEL_GOAL,
  };
}

interface Target {
  readonly side: Side;
  readonly stack: StackProcess;
  /** Client keys by index (0 … largest size − 1). */
  readonly keys: readonly string[];
  /** The pool index of client 0: baseline clients come first, then the current tree's. */
  readonly offset: number;
}

/** Publishes one event to `fan-{size}` on `target`'s stack and judges its receipts. */
async function measureRound(
  ctx: BenchContext,
  pool: ClientPool,
  target: Target,
  size: number,
  tag: string,
): Promise<RoundJudgement & { readonly putEventsMs: number }> {
  const subscribers = new Set(target.keys.slice(0, size));
  const expectedPerWorker = Array.from({ length: pool.size }, () => 0);
  for (let i = 0; i < size; i++) {
    const worker = pool.workerOf(target.offset + i);
    expectedPerWorker[worker] = (expectedPerWorker[worker] ?? 0) + 1;
  }
  // Tracked before the event is sent, so no receipt can be missed.
  await pool.all({ op: 'track', tag });
  const sent = hrNow();
  const answer = await target.stack.eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: 'switchboard.bench',
          DetailType: 'bench_event',
          Detail: JSON.stringify({ channel: `fan-${size}`, data: { tag } }),
        },
      ],
    }),
  );
  const acceptedAt = hrNow();
  if (answer.FailedEntryCount) {
    throw new StageError(`${target.side}: PutEvents refused: ${JSON.stringify(answer.Entries)}`);
  }
  const taken = await takeReceipts(
    ctx,
    pool,
    tag,
    expectedPerWorker,
    { timeoutMs: DELIVERY_TIMEOUT_MS, quietMs: QUIET_MS },
    `${target.side} fan-${size}: receipts of ${tag}`,
  );
  const keys = taken.flatMap((r) => r.keys);
  const times = taken.flatMap((r) => [...r.times]);
  return {
    ...judgeRound({ keys, times: Float64Array.from(times) }, subscribers, acceptedAt),
    putEventsMs: acceptedAt - sent,
  };
}

/** Opens `target`'s clients and subscribes client i to every `fan-N` with i < N. */
async function connect(
  ctx: BenchContext,
  pool: ClientPool,
  target: Target,
  sizes: readonly number[],
  secret: string,
): Promise<void> {
  const specs = await Promise.all(
    target.keys.map(async (key, i) => ({
      index: target.offset + i,
      key,
      token: await signToken({ secret, identity: { userId: key, roles: [] }, ttlSeconds: 3600 }),
    })),
  );
  await openClients(ctx, target.stack.endpoints.websocket, pool, specs, `${target.side}: connect`);
  const subscribes = specs.flatMap((spec, i) =>
    sizes
      .filter((size) => i < size)
      .map((size) => ({
        index: spec.index,
        key: spec.key,
        message: { action: 'subscribe', channel: `fan-${size}`, id: `sub-${spec.key}-${size}` },
        expect: 'subscribed',
      })),
  );
  await sendRequests(ctx, pool, subscribes, `${target.side}: subscribe`);
}

/** Runs the A/B, then stops everything it started (`teardown`), whether it succeeded or not. */
export async function runSmallChannels(...args: Parameters<typeof measure>): Promise<SmallChannelsResult> {
  const [ctx, , phase, , teardown] = args;
  try {
    return await measure(...args);
  } finally {
    phase('small channels: stop');
    await teardown.run((message) => ctx.warn(`small channels: stopping: ${message}`));
  }
}

async function measure(
  ctx: BenchContext,
  options: SmallChannelsOptions,
  phase: (name: SmallChannelsPhase) => void,
  /** The environment the bench was started with: not the one a stack in this process has since set. */
  environment: NodeJS.ProcessEnv,
  /** Where everything started is registered; the bench runs it too if it exits early. */
  teardown: Teardown,
): Promise<SmallChannelsResult> {
  const sizes = [...options.sizes].sort((a, b) => a - b);
  const clientsPerStack = sizes.at(-1) ?? 0;

  phase('small channels: prepare');
  ctx.progress.update(0, `worktree of ${options.baselineCommit} and npm ci`);
  const tree = await prepareBaselineTree(REPO_ROOT, options.baselineCommit, teardown, ctx.signal);
  const current = await workingTreeState(REPO_ROOT);
  ctx.progress.log(
    `  small channels: baseline ${tree.commit.slice(0, 7)} ("${tree.subject}") installed in ${tree.npmCiSeconds} s`,
  );

  phase('small channels: stacks');
  // The same settings for both (the bench stack's): one secret, so one token works on either.
  const secret = randomBytes(32).toString('base64url');
  const stackEnvironment: NodeJS.ProcessEnv = {
    ...environment,
    SWITCHBOARD_AUTH_SECRET: secret,
    SWITCHBOARD_PUBLISH_CONCURRENCY: '32',
    SWITCHBOARD_RATE_LIMIT_BURST: '1000',
    SWITCHBOARD_RATE_LIMIT_PER_SECOND: '1000',
    SWITCHBOARD_TABLE_NAME: 'switchboard-ab',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const stacks = {} as Record<Side, StackProcess>;
  for (const [side, cwd] of [
    ['baseline', tree.dir],
    ['current', REPO_ROOT],
  ] as const) {
    ctx.progress.update(side === 'baseline' ? 0 : 0.5, `starting the ${side} stack`);
    const stack = await startStackProcess({
      label: side,
      cwd,
      environment: stackEnvironment,
      signal: ctx.signal,
    });
    teardown.add(`stopping the ${side} stack`, () => stack.close());
    stacks[side] = stack;
  }
  const pool = await ClientPool.start(options.workers, ctx.signal);
  teardown.add('stopping the client workers', () => pool.stop());

  phase('small channels: connect');
  const connectStarted = hrNow();
  const targets: Record<Side, Target> = {
    baseline: {
      side: 'baseline',
      stack: stacks.baseline,
      keys: Array.from({ length: clientsPerStack }, (_, i) => `ab-a-${i}`),
      offset: 0,
    },
    current: {
      side: 'current',
      stack: stacks.current,
      keys: Array.from({ length: clientsPerStack }, (_, i) => `ab-b-${i}`),
      offset: clientsPerStack,
    },
  };
  for (const target of Object.values(targets)) await connect(ctx, pool, target, sizes, secret);
  const connectSeconds = round((hrNow() - connectStarted) / 1000, 1);
  ctx.progress.log(
    `  small channels: ${clientsPerStack} clients on each stack, subscribed, in ${connectSeconds} s`,
  );

  phase('small channels: measure');
  const totalRounds = sizes.reduce((n, size) => n + options.rounds(size) + options.warmupRounds, 0);
  let roundsDone = 0;
  const results: SmallChannelSize[] = [];
  for (const size of sizes) {
    const rounds = options.rounds(size);
    const measured: Record<Side, Awaited<ReturnType<typeof measureRound>>[]> = { baseline: [], current: [] };
    for (let k = 0; k < options.warmupRounds + rounds; k++) {
      throwIfAborted(ctx.signal);
      for (const side of abbaOrder(k)) {
        const judged = await measureRound(ctx, pool, targets[side], size, `ab-${side}-${size}-${k}`);
        if (k >= options.warmupRounds) measured[side].push(judged);
        await sleep(options.pauseMs, ctx.signal);
      }
      roundsDone += 1;
      ctx.progress.update(
        roundsDone / totalRounds,
        `${size} subscribers: round ${k + 1}/${options.warmupRounds + rounds}${k < options.warmupRounds ? ' (warm-up)' : ''}`,
      );
    }
    const result = compareSides(
      size,
      rounds,
      summarizeSide(measured.baseline),
      summarizeSide(measured.current),
    );
    results.push(result);
    const { baseline, current: now, change } = result;
    ctx.progress.log(
      `  small channels ${String(size).padStart(4)}: all received p50 ${baseline.timeToAllMs.p50} → ${now.timeToAllMs.p50} ms ` +
        `(${change.timeToAllP50 >= 0 ? '+' : ''}${round(change.timeToAllP50 * 100, 1)} %), latency p50 ` +
        `${baseline.latencyMs.p50} → ${now.latencyMs.p50} ms; lost ${baseline.lost}/${now.lost}, ` +
        `duplicated ${baseline.duplicated}/${now.duplicated}`,
    );
    for (const [side, s] of [
      ['baseline', baseline],
      ['current', now],
    ] as const) {
      if (s.lost + s.duplicated + s.unexpected > 0) {
        ctx.warn(
          `small channels ${size}, ${side}: ${s.lost} lost, ${s.duplicated} duplicated, ${s.unexpected} unexpected deliveries`,
        );
      }
    }
  }

  const counts = await workerCounts(pool);
  if (counts.unexpectedCloses.length > 0) {
    throw new StageError(
      `small channels: ${counts.unexpectedCloses.length} clients were disconnected by a stack, e.g. ${JSON.stringify(counts.unexpectedCloses.slice(0, 3))}`,
    );
  }
  for (const stack of Object.values(stacks)) {
    if (stack.output.errors > 0) {
      ctx.warn(
        `small channels: the ${stack.label} stack logged ${stack.output.errors} errors; latest: ${stack.output.recent.slice(-3).join(' | ')}`,
      );
    }
  }
  return {
    goal: SMALL_CHANNEL_GOAL,
    baseline: { commit: tree.commit, subject: tree.subject, npmCiSeconds: tree.npmCiSeconds },
    current,
    warmupRounds: options.warmupRounds,
    pauseMs: options.pauseMs,
    clientsPerStack,
    connectSeconds,
    sizes: results,
  };
}
