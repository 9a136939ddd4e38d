/**
 * The scheduled sweep. API Gateway only promises `$disconnect` on a best-effort basis, and tokens
 * expire while connections stay open, so the sweep closes connections whose token expired (or
 * that reached API Gateway's 2-hour end) and forgets those API Gateway no longer has. Liveness is
 * not written by client messages: it is API Gateway's, and the sweep asks it
 * (`GET @connections/{id}`) for every registered connection each run, which finds a lost
 * `$disconnect` within one period of the close (docs/design/keep-alive.md).
 */
import {
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
  readonly settings: { readonly idleTimeoutSeconds: number };
  readonly log: Log;
  readonly now?: () => number;
}

export interface SweepReport {
  readonly examined: number;
  readonly closedExpired: number;
  readonly removedSilent: number;
  readonly failed: number;
}

/** `GET @connections` calls in flight at once. */
export const STATUS_CONCURRENCY = 16;

/**
 * `$connect` writes the entry before API Gateway opens the connection, and API Gateway answers 410
 * for it until then: an entry is judged by a 410 only once its `$connect` must have returned, that
 * is past the route function's timeout (10 s, `lambdas/handlers.ts`; a test checks it)
 * and a second of rounding (`connectedAt` is in whole seconds). A connection that closes sooner
 * with its `$disconnect` lost is forgotten at most this long after it connected, plus a period.
 */
export const CONNECT_GRACE_SECONDS = 12;

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const now = epochSeconds(deps.now?.() ?? Date.now());
  const report = { examined: 0, closedExpired: 0, removedSilent: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  for await (const entry of deps.store.sweepEntries()) {
    report.examined += 1;
    const task = examine(entry, now, deps, report).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= STATUS_CONCURRENCY) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return report;
}

type Counts = { closedExpired: number; removedSilent: number; failed: number };

async function examine(entry: SweepEntry, now: number, deps: SweepDeps, report: Counts): Promise<void> {
  const { connectionId } = entry;
  try {
    if (entry.dueAt <= now) {
      // The index is eventually consistent: re-read, as a refresh may just have extended it.
      const connection = await deps.store.getConnection(connectionId, now);
      const tokenExpired = connection !== undefined && connection.tokenExpiresAt <= now;
      const ended = connection === undefined || connection.endsAt <= now;
      if (tokenExpired || ended) {
        await deps.gateway.close(connectionId);
        await deps.store.removeConnection(connectionId);
        if (tokenExpired) report.closedExpired += 1;
        else report.removedSilent += 1;
        return;
      }
    }
    const status = await deps.gateway.status(connectionId);
    if (status === 'gone') {
      const connection = await deps.store.getConnection(connectionId, now);
      if (connection && connection.connectedAt > now - CONNECT_GRACE_SECONDS) return;
      await deps.store.removeConnection(connectionId);
      report.removedSilent += 1;
      return;
    }
    // API Gateway closes a connection idle for its timeout; one it still reports open but silent
    // for longer is not trusted to be alive.
    if (status.lastActiveAt < now - deps.settings.idleTimeoutSeconds - LIVENESS_GRACE_SECONDS) {
      await deps.gateway.close(connectionId);
      await deps.store.removeConnection(connectionId);
      report.removedSilent += 1;
    }
  } catch (error) {
    report.failed += 1;
    deps.log.error('sweep could not examine a connection', {
      connectionId,
      error: errorName(error),
    });
  }
}
