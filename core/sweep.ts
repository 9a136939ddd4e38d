/**
 * The scheduled sweep. API Gateway only promises `$disconnect` on a best-effort basis, and tokens
 * expire while connections stay open, so the sweep closes connections whose token expired (or
 * that reached API Gateway's 2-hour end) and forgets those API Gateway no longer has. Liveness is
 * not written by client messages: it is API Gateway's, and the sweep asks it
 * (`GET @connections/{id}`) about every registered connection each run (as many as its share of
 * the budget reaches in one invocation, below), which finds a lost `$disconnect` within one period
 * of the close (docs/design/keep-alive.md).
 *
 * Those calls count against the account's API Gateway quota as the fan-out's posts do, so each
 * takes a right from the shared callback budget, and the sweep takes at most `SWEEP_SHARE` of it:
 * unpaced, a sweep of 18,742 connections at 16 calls in flight burst past a 1,000/s quota in the
 * middle of a big-channel fan-out and had 11,351 of its posts answered 429 (big-channel bench).
 *
 * A run examines the index in order of due time across its shards, and stops starting calls when
 * its invocation runs low: with more connections than its share of the budget can examine in
 * one invocation, what is left out is the connections due last (their turn comes when they are
 * due), never a whole shard run after run.
 */
import { CallbackPacer, CallSpacing } from './callback-pacer.js';
import { POST_REQUEST_TIMEOUT_MS, ThrottledError } from './delivery.js';
import {
  type CallbackBudget,
  type ConnectionGateway,
  type ConnectionStatusSource,
  type ConnectionStore,
  errorName,
  type Log,
  type SweepEntry,
} from './ports.js';
import { epochSeconds, LIVENESS_GRACE_SECONDS } from './settings.js';

export interface SweepDeps {
  readonly store: ConnectionStore;
  readonly gateway: ConnectionGateway & ConnectionStatusSource;
  /** The `@connections` budget the fan-out workers share (`fanout.callbacksPerSecond`). */
  readonly budget: CallbackBudget;
  readonly settings: {
    readonly idleTimeoutSeconds: number;
    readonly fanout: { readonly callbacksPerSecond: number };
  };
  readonly log: Log;
  readonly now?: () => number;
  /** The invocation's time left (Lambda's `getRemainingTimeInMillis`); none: no limit. */
  readonly remainingTimeMs?: () => number;
}

export interface SweepReport {
  /** Entries examined: read, asked about or closed (not those the run had no time left for). */
  readonly examined: number;
  readonly closedExpired: number;
  readonly removedSilent: number;
  readonly failed: number;
  /** Calls API Gateway answered 429 to, after their retries (left for the next run). */
  readonly throttled: number;
  /** True when the run stopped for lack of time before the end of the index. */
  readonly outOfTime: boolean;
}

/** `GET @connections` calls in flight at once. */
export const STATUS_CONCURRENCY = 16;

/**
 * The part of the callback budget the sweep may take: the rest stays with the fan-out. At the
 * default budget (4,000/s) a run examines 1,000 connections a second, so about 110,000 in one
 * invocation (docs/design/keep-alive.md).
 */
export const SWEEP_SHARE = 0.25;

/**
 * No call starts later than this before the invocation ends: one started at the last moment may
 * take its whole request timeout, and a removal follows it.
 */
const SWEEP_MARGIN_MS = POST_REQUEST_TIMEOUT_MS + 5_000;

/** Tries of a call API Gateway answers 429 to, backing off in between. */
const THROTTLED_TRIES = 3;

/**
 * The sweep takes its rights a window's share at a time: one budget write per 100 calls at the
 * default budget, where the fan-out's chunk (`paceChunk`) would write 5 times as often, every run.
 */
export function sweepChunk(callbacksPerSecond: number): number {
  return Math.max(1, Math.min(100, Math.floor(sweepShare(callbacksPerSecond) / 10)));
}

/** The sweep's calls a second at most (a fraction below 4: one every few seconds). */
export function sweepShare(callbacksPerSecond: number): number {
  return callbacksPerSecond * SWEEP_SHARE;
}

/**
 * Makes one `@connections` call once it has its right (the sweep's share, then the shared
 * budget), trying again after a 429; `undefined` when the run is out of time.
 */
type Call = <T>(call: () => Promise<T>) => Promise<T | undefined>;

/**
 * `$connect` writes the entry before API Gateway opens the connection, and API Gateway answers 410
 * for it until then: an entry is judged by a 410 only once its `$connect` must have returned, that
 * is past the route function's timeout (10 s, `lambdas/handlers.ts`; a test checks it)
 * and a second of rounding (`connectedAt` is in whole seconds). A connection that closes sooner
 * with its `$disconnect` lost is forgotten at most this long after it connected, plus a period.
 */
export const CONNECT_GRACE_SECONDS = 12;

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const clock = deps.now ?? Date.now;
  const now = epochSeconds(clock());
  const until = clock() + (deps.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY) - SWEEP_MARGIN_MS;
  const report = {
    examined: 0,
    closedExpired: 0,
    removedSilent: 0,
    failed: 0,
    throttled: 0,
    outOfTime: false,
  };
  const { callbacksPerSecond } = deps.settings.fanout;
  const spacing = new CallSpacing(sweepShare(callbacksPerSecond), clock);
  const pacer = new CallbackPacer(deps.budget, sweepChunk(callbacksPerSecond), clock);
  const call: Call = async (request) => {
    for (let attempt = 1; ; attempt++) {
      if (!(await spacing.wait(until)) || !(await pacer.acquire(until))) {
        report.outOfTime = true;
        return undefined;
      }
      try {
        return await request();
      } catch (error) {
        if (!(error instanceof ThrottledError) || attempt >= THROTTLED_TRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  };
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const entry of deps.store.sweepEntries()) {
      if (report.outOfTime || clock() >= until) {
        report.outOfTime = true;
        break;
      }
      const task = examine(entry, now, deps, call, report)
        .then((examined) => {
          if (examined) report.examined += 1;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= STATUS_CONCURRENCY) await Promise.race(inFlight);
    }
  } finally {
    // Also when reading the index fails: no call is left running past the invocation.
    await Promise.allSettled(inFlight);
  }
  if (report.throttled > 0) {
    deps.log.warn('sweep calls answered 429 (the account quota); left for the next run', {
      throttled: report.throttled,
    });
  }
  return report;
}

type Counts = { closedExpired: number; removedSilent: number; failed: number; throttled: number };

async function examine(
  entry: SweepEntry,
  now: number,
  deps: SweepDeps,
  call: Call,
  report: Counts,
): Promise<boolean> {
  const { connectionId } = entry;
  try {
    if (entry.dueAt <= now) {
      // The index is eventually consistent: re-read, as a refresh may just have extended it.
      const connection = await deps.store.getConnection(connectionId, now);
      const tokenExpired = connection !== undefined && connection.tokenExpiresAt <= now;
      const ended = connection === undefined || connection.endsAt <= now;
      if (tokenExpired || ended) {
        if ((await call(() => deps.gateway.close(connectionId))) === undefined) return false;
        await deps.store.removeConnection(connectionId);
        if (tokenExpired) report.closedExpired += 1;
        else report.removedSilent += 1;
        return true;
      }
    }
    const status = await call(() => deps.gateway.status(connectionId));
    if (status === undefined) return false;
    if (status === 'gone') {
      const connection = await deps.store.getConnection(connectionId, now);
      if (connection && connection.connectedAt > now - CONNECT_GRACE_SECONDS) return true;
      await deps.store.removeConnection(connectionId);
      report.removedSilent += 1;
      return true;
    }
    // API Gateway closes a connection idle for its timeout; one it still reports open but silent
    // for longer is not trusted to be alive.
    if (status.lastActiveAt < now - deps.settings.idleTimeoutSeconds - LIVENESS_GRACE_SECONDS) {
      // Asked already: examined, even when the close must wait for the next run.
      if ((await call(() => deps.gateway.close(connectionId))) === undefined) return true;
      await deps.store.removeConnection(connectionId);
      report.removedSilent += 1;
    }
    return true;
  } catch (error) {
    if (error instanceof ThrottledError) {
      report.throttled += 1;
      return true;
    }
    report.failed += 1;
    deps.log.error('sweep could not examine a connection', {
      connectionId,
      error: errorName(error),
    });
    return true;
  }
}
