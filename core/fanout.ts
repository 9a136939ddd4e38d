/**
 * Fan-out of big channels and broadcasts (issue: big channels). The publish function numbers and
 * stores the events, then, for a channel past `fanout.threshold` subscribers or for a broadcast,
 * queues one task per shard of the audience instead of posting itself; fan-out workers run the
 * tasks in parallel (the fan-out queue's event source mapping):
 * - a shard is a range of connection ids of the channel's subscribers, or one shard of the
 *   tenant's live-connection index (broadcast), read page by page;
 * - a worker posts its pages while its invocation has time, then queues the rest of its shard
 *   from its cursor: no invocation runs past its timeout, however big the channel;
 * - the connections whose posts still failed are queued again as a task of their own (`only`),
 *   so a failure is retried alone, without posting to everyone again;
 * - every worker paces its posts by the callbacks-per-second budget they all share.
 */
import { CallbackPacer, paceChunk } from './callback-pacer.js';
import { canSubscribe } from './channel-policy.js';
import { AdaptiveLimit, deliverAll, POST_REQUEST_TIMEOUT_MS } from './delivery.js';
import type { CallbackBudget, DeliveryDeps, FanoutQueue, FanoutTask, SubscriberRecord } from './ports.js';
import { epochSeconds, type Settings } from './settings.js';

/** Shards of a big channel's fan-out and of the live-connection index. */
export const FANOUT_SHARDS = 16;
/** Subscribers read per Query page of a shard. */
const PAGE_SIZE = 1000;
/** A page is started only with this much of the invocation left; otherwise the shard is re-queued. */
const START_MARGIN_MS = 12_000;
/**
 * No post starts later than this before the invocation ends: one started at the last moment may
 * take its whole request timeout, and the connections left must still be handed on (one queue
 * send). Shorter, a post hung on a saturated gateway ran the worker past its timeout, and the
 * queue's retry of the whole task posted its connections a second time.
 */
const POST_MARGIN_MS = POST_REQUEST_TIMEOUT_MS + 3_000;
/** Tries of the same failed connections before their task is left to the queue's own retries. */
const MAX_TASK_ATTEMPTS = 3;

/** The reserved channel of broadcasts (PROTOCOL §6). */
export const BROADCAST_CHANNEL = 'broadcast';

export interface FanoutDeps extends DeliveryDeps {
  readonly queue: FanoutQueue;
  readonly budget: CallbackBudget;
}

export interface FanoutReport {
  readonly deliveries: number;
  readonly gone: number;
  readonly refused: number;
  readonly throttled: number;
  /** Connections queued again after their posts failed. */
  readonly retried: number;
  /** Connections whose posts had not started when the time ran out, queued as they are. */
  readonly unstarted: number;
  /** True when the shard's rest (or posts not started) was queued for lack of time. */
  readonly continued: boolean;
}

/** The shard tasks of one fan-out: every shard of a channel, or of the tenant's live index. */
export function shardTasks(
  tenant: string | undefined,
  channel: string,
  seqs: readonly number[],
  kind: 'channel' | 'live',
  /** An unnumbered message to post instead of stored events (`seqs` empty): a presence notice. */
  payload?: string,
): FanoutTask[] {
  return Array.from({ length: FANOUT_SHARDS }, (_, shard) => ({
    ...(tenant !== undefined ? { tenant } : {}),
    channel,
    seqs,
    ...(payload !== undefined ? { payload } : {}),
    audience:
      kind === 'channel' ? { kind, channel, shard, shards: FANOUT_SHARDS } : { kind: 'live' as const, shard },
  }));
}

/** Posts one task's events to its audience. Throws when a retry has failed too often. */
export async function runFanoutTask(task: FanoutTask, deps: FanoutDeps): Promise<FanoutReport> {
  const nowMs = deps.now ?? Date.now;
  const end = nowMs() + (deps.remainingTimeMs?.() ?? 30_000);
  const report = {
    deliveries: 0,
    gone: 0,
    refused: 0,
    throttled: 0,
    retried: 0,
    unstarted: 0,
    continued: false,
  };
  const events =
    task.payload !== undefined
      ? [{ seq: 0, payload: task.payload }]
      : await deps.history.events(task.tenant, task.channel, task.seqs);
  if (events.length < task.seqs.length) {
    deps.log.warn('fan-out task names events no longer kept; posting the rest', {
      channel: task.channel,
      missing: task.seqs.length - events.length,
    });
  }
  if (events.length === 0) return report;
  const pacer = new CallbackPacer(deps.budget, paceChunk(deps.settings.fanout.callbacksPerSecond), nowMs);
  const limit = new AdaptiveLimit(deps.settings.publishConcurrency, nowMs);
  const failed: Missed = new Map();
  const unstarted: Missed = new Map();
  // Posts wait for their turn in the budget; none may start so late that it outlives the invocation.
  const startBy = end - POST_MARGIN_MS;

  const post = async (page: readonly SubscriberRecord[]) => {
    const allowed = page.filter(
      (s) => s.identity.tenant === task.tenant && mayReceive(task, s, deps.settings),
    );
    report.refused += page.length - allowed.length;
    // Event after event, so each connection's posts start in seq order.
    const targets = events.flatMap((event) => allowed.map((subscriber) => ({ event, subscriber })));
    const result = await deliverAll(
      targets,
      (t) => deps.gateway.post(t.subscriber.connectionId, t.event.payload),
      {
        maxConcurrency: deps.settings.publishConcurrency,
        limit,
        deadline: startBy,
        startBy,
        now: nowMs,
        pace: () => pacer.acquire(startBy),
      },
    );
    report.deliveries += result.delivered;
    report.throttled += result.throttled;
    for (const { target } of result.failed) miss(failed, target.subscriber, target.event.seq);
    for (const target of result.unstarted) miss(unstarted, target.subscriber, target.event.seq);
    const gone = new Set(result.gone.map((t) => t.subscriber.connectionId));
    report.gone += gone.size;
    for (const connectionId of gone) await deps.store.removeConnection(connectionId);
  };

  if (task.only) {
    await post(task.only);
  } else {
    let cursor = task.cursor;
    do {
      if (end - nowMs() < START_MARGIN_MS) {
        // Out of time: the rest of this shard goes on in another invocation, from here.
        await deps.queue.send([{ ...task, ...(cursor ? { cursor } : {}) }]);
        report.continued = true;
        break;
      }
      const page = await deps.store.audiencePage(
        task.tenant,
        task.audience,
        epochSeconds(nowMs()),
        PAGE_SIZE,
        cursor,
      );
      await post(page.items);
      cursor = page.cursor;
    } while (cursor);
  }

  const attempt = (task.attempt ?? 0) + 1;
  if (failed.size > 0 && attempt >= MAX_TASK_ATTEMPTS) {
    // The queue retries this task whole, unstarted posts included: nothing is handed on.
    throw new FanoutRetryError(`${failed.size} connections still failing after ${attempt} tries`);
  }
  if (unstarted.size > 0) {
    // Not a failure: the same try goes on in another invocation, for these connections only.
    await deps.queue.send(handOn(task, unstarted, task.attempt));
    report.unstarted += unstarted.size;
    report.continued = true;
  }
  if (failed.size > 0) {
    await deps.queue.send(handOn(task, failed, attempt));
    report.retried += failed.size;
    deps.log.warn('fan-out posts failed; queued again for those connections only', {
      channel: task.channel,
      connections: failed.size,
      attempt,
    });
  }
  return report;
}

/** Connections whose posts of some of the task's events did not happen, with those events' seqs. */
type Missed = Map<string, { readonly subscriber: SubscriberRecord; readonly seqs: number[] }>;

function miss(missed: Missed, subscriber: SubscriberRecord, seq: number): void {
  const entry = missed.get(subscriber.connectionId);
  if (entry) entry.seqs.push(seq);
  else missed.set(subscriber.connectionId, { subscriber, seqs: [seq] });
}

/**
 * Tasks for the connections `missed`, one per set of events they missed, so that no connection
 * is posted again an event it already has.
 */
function handOn(task: FanoutTask, missed: Missed, attempt: number | undefined): FanoutTask[] {
  const groups = new Map<string, { seqs: number[]; only: SubscriberRecord[] }>();
  for (const { subscriber, seqs } of missed.values()) {
    const sorted = [...seqs].sort((a, b) => a - b);
    const key = sorted.join(',');
    const group = groups.get(key);
    if (group) group.only.push(subscriber);
    else groups.set(key, { seqs: sorted, only: [subscriber] });
  }
  return [...groups.values()].map(({ seqs, only }) => ({
    ...(task.tenant !== undefined ? { tenant: task.tenant } : {}),
    channel: task.channel,
    // An unnumbered message is carried along; its stand-in seq (0) is no stored event's.
    ...(task.payload !== undefined ? { seqs: [], payload: task.payload } : { seqs }),
    audience: task.audience,
    only,
    ...(attempt ? { attempt } : {}),
  }));
}

/** A retry task whose connections failed every time; the queue retries it, then dead-letters it. */
export class FanoutRetryError extends Error {
  override readonly name = 'FanoutRetryError';
}

/**
 * Policy is checked again at fan-out, as for small channels. A broadcast reaches every live
 * connection of the tenant, subscribed or not (PROTOCOL §6).
 */
function mayReceive(task: FanoutTask, subscriber: SubscriberRecord, settings: Settings): boolean {
  if (task.audience.kind !== 'channel') return true;
  return canSubscribe(settings.channelPolicy, subscriber.identity, task.channel);
}
