/**
 * The `stats` counts (PROTOCOL §4): connections, subscriptions and distinct channels of the live
 * connections given, a tenant's (`ConnectionStore.liveConnections`) or every tenant's. A connection
 * whose token has expired no longer counts, though the sweep may not have removed it yet.
 */
import type { LiveConnection } from './ports.js';
import { isWildcard } from './wildcards.js';

export interface LiveStats {
  readonly connections: number;
  readonly subscriptions: number;
  /**
   * Distinct (tenant, channel) pairs: one name in two tenants is two channels. A wildcard pattern
   * counts as a subscription (as toward the per-connection limit) but is not a channel.
   */
  readonly channels: number;
}

export async function liveStats(live: AsyncIterable<LiveConnection>, now: number): Promise<LiveStats> {
  let connections = 0;
  let subscriptions = 0;
  const channels = new Set<string>();
  for await (const connection of live) {
    if (connection.tokenExpiresAt <= now) continue;
    connections += 1;
    subscriptions += connection.channels.length;
    for (const channel of connection.channels) {
      if (!isWildcard(channel)) channels.add(`${connection.identity.tenant ?? ''}#${channel}`);
    }
  }
  return { connections, subscriptions, channels: channels.size };
}
