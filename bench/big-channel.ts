/**
 * Stage "big-channel" (issue 12): big channels and broadcast against a local stack whose
 * `@connections` answers 429 past a callback quota, as API Gateway's account quota does.
 *
 * The stage runs in a process of its own (`big-channel-process.ts`) with a stack of its own: the
 * bench stack reads `SWITCHBOARD_CALLBACKS_PER_SECOND` from its process's environment, and the
 * quota would slow the other stages' posts, so neither is set for this stage alone in the bench's
 * process. That
 * process starts the stack with the quota, Switchboard's budget under it and a short fan-out
 * timeout, its own client workers, and then, on one set of connections of tenant `big` (and a few
 * outsiders of another tenant and of none, subscribed to channels of the same names):
 * - one channel: every connection subscribes to `big-a`; one event must reach each exactly once;
 * - two channels at once: every connection also subscribes to `big-b`; one PutEvents call carries
 *   an event for each, so two fan-outs share the budget;
 * - broadcast: `Detail.broadcast` to tenant `big` must reach every connection of it, and none of
 *   the outsiders.
 * Each is judged on who received what (lost, duplicated, unexpected), the delivery rate from the
 * PutEvents call to the last first receipt against the quota, the 429s the quota answered, the
 * dead letters, and the fan-out workers' own reports (their log lines): invocations, shards,
 * continuations, connections handed on unstarted, retried, failed and timed-out invocations.
 */
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import { type OwnProcessMessage, runInOwnProcess } from './own-process.js';
import type { Summary } from './stats.js';

export interface BigChannelOptions {
  /** Connections of tenant `big`, subscribers of each big channel (fewer if the open-files limit says so). */
  readonly subscribers: number;
  /** Connections of another tenant and of none, subscribed to channels of the same names. */
  readonly outsiders: number;
  /** `SWITCHBOARD_LOCAL_CALLBACK_RPS`: the local `@connections` answers 429 past it. */
  readonly quotaPerSecond: number;
  /** `SWITCHBOARD_CALLBACKS_PER_SECOND` as a share of the quota. */
  readonly budgetShare: number;
  /** The fan-out function's timeout (`fanoutTimeoutMs`). */
  readonly fanoutTimeoutSeconds: number;
  /** `SWITCHBOARD_SWEEP_INTERVAL_SECONDS`: the sweep's calls share the budget. */
  readonly sweepIntervalSeconds: number;
  /** Client worker processes. */
  readonly workers: number;
}

export type BigScenarioName = 'one channel' | 'two channels' | 'broadcast';

/** What the fan-out workers reported for one scenario (their `fan-out shard done` lines). */
export interface FanoutTally {
  /** Invocations that ended with a report, and those that failed or timed out. */
  readonly invocations: number;
  readonly failedInvocations: number;
  readonly timedOut: number;
  /** Distinct shards that posted, per channel. */
  readonly shards: Readonly<Record<string, number>>;
  readonly deliveries: number;
  /** Invocations that queued the rest of their shard, or posts not started, for lack of time. */
  readonly continued: number;
  /** Connections handed on unstarted (their turn in the budget came too late). */
  readonly unstarted: number;
  /** Connections queued again after their posts failed. */
  readonly retried: number;
  /** 429s the workers saw (each retried within its invocation, AIMD). */
  readonly throttled: number;
}

export interface BigScenarioResult {
  readonly name: BigScenarioName;
  readonly channels: readonly string[];
  readonly expectedDeliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Receipts by connections that should have received nothing (another tenant, no tenant). */
  readonly unexpected: number;
  /** From the PutEvents call to the last first receipt. */
  readonly seconds: number;
  /** Per channel: from the PutEvents call to its last first receipt. */
  readonly secondsByChannel: Readonly<Record<string, number>>;
  readonly deliveriesPerSecond: number;
  /** deliveriesPerSecond / the quota: goal ≥ 0.8, and ≤ 1 but for the bucket's burst. */
  readonly ratioToQuota: number;
  /** The ratio in its range, everyone reached exactly once, nobody else, nothing dead-lettered. */
  readonly goalMet: boolean;
  /** Receipt minus the PutEvents call, every first delivery. */
  readonly latencyMs: Summary;
  readonly deadLettered: number;
  /** What the local quota answered during the scenario. */
  readonly quota: { readonly allowed: number; readonly throttled: number };
  readonly fanout: FanoutTally;
}

export interface BigChannelResult {
  readonly requestedSubscribers: number;
  readonly subscribers: number;
  /** Why `subscribers` may be fewer: the stack process's open-files limit (one per socket). */
  readonly sizeLimit: {
    readonly openFiles: number;
    readonly openAtStart: number;
    readonly reserve: number;
    readonly capped: boolean;
  };
  readonly outsiders: number;
  readonly quotaPerSecond: number;
  readonly quotaBurst: number;
  readonly callbacksPerSecond: number;
  readonly fanoutTimeoutSeconds: number;
  readonly sweepIntervalSeconds: number;
  readonly fanoutShards: number;
  readonly fanoutReservedConcurrency: number;
  readonly publishConcurrency: number;
  readonly connectSeconds: number;
  readonly subscribeSeconds: number;
  readonly closeSeconds: number;
  /** The stack's process (Node) and DynamoDB Local (JVM), before connecting and with every connection subscribed. */
  readonly memory: {
    readonly stackRssMiB: { readonly before: number; readonly open: number };
    readonly stackHeapMiB: { readonly before: number; readonly open: number };
    readonly dynamodbLocalRssMiB: { readonly before: number; readonly open: number } | undefined;
    /** (open − before) / connections, KiB: what one connection (and its two subscriptions) costs. */
    readonly kibPerConnection: {
      readonly stackRss: number;
      readonly stackHeap: number;
      readonly dynamodbLocalRss: number | undefined;
    };
    readonly openFiles: number;
  };
  readonly scenarios: readonly BigScenarioResult[];
}

export type BigChannelMessage = OwnProcessMessage<BigChannelResult, BigChannelPhase>;

export type BigChannelPhase =
  | 'big channel: stack'
  | 'big channel: connect'
  | 'big channel: measure'
  | 'big channel: close';

const PROCESS_FILE = fileURLToPath(new URL('./big-channel-process.ts', import.meta.url));

/** The budget the stage gives Switchboard: a share of the quota, whole calls. */
export function budgetOf(options: Pick<BigChannelOptions, 'quotaPerSecond' | 'budgetShare'>): number {
  return Math.max(1, Math.floor(options.quotaPerSecond * options.budgetShare));
}

/**
 * Runs the stage in its own process (stack, client workers, measurement) and relays its progress.
 * Kills it on abort; it stops its workers and its stack when told (SIGTERM) or when this process goes.
 */
export async function runBigChannel(
  ctx: BenchContext,
  options: BigChannelOptions,
  phase: (name: BigChannelPhase) => void,
  /** The environment the bench was started with: not the one a stack of its own has since set. */
  environment: NodeJS.ProcessEnv,
): Promise<BigChannelResult> {
  return runInOwnProcess<BigChannelResult, BigChannelPhase>(
    ctx,
    PROCESS_FILE,
    {
      ...environment,
      SWITCHBOARD_LOCAL_CALLBACK_RPS: String(options.quotaPerSecond),
      SWITCHBOARD_CALLBACKS_PER_SECOND: String(budgetOf(options)),
      SWITCHBOARD_SWEEP_INTERVAL_SECONDS: String(options.sweepIntervalSeconds),
      // The fan-out workers report each invocation at INFO (`fan-out shard done`); the stage tallies them.
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    options,
    phase,
    'the big-channel process',
  );
}
