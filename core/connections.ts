/** `$connect` and `$disconnect`: registering and forgetting a connection. */
import type { AdmittedHandshake } from './handshake.js';
import type { ConnectionRecord, ConnectionStore } from './ports.js';
import { epochSeconds, type Settings } from './settings.js';

export async function registerConnection(
  connectionId: string,
  admitted: AdmittedHandshake,
  store: ConnectionStore,
  settings: Settings,
  nowMs: number = Date.now(),
): Promise<ConnectionRecord> {
  const now = epochSeconds(nowMs);
  const connection: ConnectionRecord = {
    connectionId,
    identity: admitted.identity,
    connectedAt: now,
    tokenExpiresAt: admitted.expiresAt,
    endsAt: now + settings.maxConnectionSeconds,
    channels: [],
  };
  await store.putConnection(connection);
  return connection;
}

/** `$disconnect` may arrive twice, late, or never (the sweep covers that): removal is idempotent. */
export async function forgetConnection(connectionId: string, store: ConnectionStore): Promise<void> {
  await store.removeConnection(connectionId);
}
