/**
 * The scheduled sweep. API Gateway only promises `$disconnect` on a best-effort basis, and tokens
 * expire while connections stay open, so the sweep closes connections whose token expired and
 * forgets those that went silent. It reads only the stale entries (a sparse index sorted by the
 * moment each goes stale), so its work grows with them, not with the table.
 */
import type { ConnectionGateway, ConnectionStore, Log } from './ports.js';
import { epochSeconds } from './settings.js';

export interface SweepDeps {
  readonly store: ConnectionStore;
  readonly gateway: ConnectionGateway;
  readonly log: Log;
  readonly now?: () => number;
}

export interface SweepReport {
  readonly examined: number;
  readonly closedExpired: number;
  readonly removedSilent: number;
  readonly failed: number;
}

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const now = epochSeconds(deps.now?.() ?? Date.now());
  const report = { examined: 0, closedExpired: 0, removedSilent: 0, failed: 0 };
  for await (const connectionId of deps.store.staleConnections(now)) {
    report.examined += 1;
    try {
      // The index is eventually consistent: re-read, as a ping may just have revived it.
      const connection = await deps.store.getConnection(connectionId, now);
      const tokenExpired = connection !== undefined && connection.tokenExpiresAt <= now;
      const silent = connection === undefined || connection.liveUntil <= now || connection.endsAt <= now;
      if (!tokenExpired && !silent) continue;
      // Closing a silent connection is usually a 410 already; it is still closed in case it is not.
      await deps.gateway.close(connectionId);
      await deps.store.removeConnection(connectionId);
      if (tokenExpired) report.closedExpired += 1;
      else report.removedSilent += 1;
    } catch (error) {
      report.failed += 1;
      deps.log.error('sweep could not remove a connection', {
        connectionId,
        error: error instanceof Error ? error.name : typeof error,
      });
    }
  }
  return report;
}
