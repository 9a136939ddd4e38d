/**
 * The sweep's decisions, with a store and an API Gateway of stand-ins: what is closed, what is
 * forgotten, what is left alone, and that liveness is read from API Gateway, never written.
 */
import { describe, expect, it } from 'vitest';
import type {
  ConnectionGateway,
  ConnectionRecord,
  ConnectionStatus,
  ConnectionStatusSource,
  ConnectionStore,
  SweepEntry,
} from '../../core/ports.js';
import { CONNECT_GRACE_SECONDS, sweep } from '../../core/sweep.js';
import { HANDLERS } from '../../lambdas/handlers.js';

const NOW = 1_800_000_000;

function record(connectionId: string, parts: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    connectionId,
    identity: { userId: connectionId, roles: [], anonymous: false },
    connectedAt: NOW - 600,
    tokenExpiresAt: NOW + 3600,
    endsAt: NOW + 6000,
    channels: [],
    ...parts,
  };
}

function world(connections: ConnectionRecord[], statuses: Record<string, ConnectionStatus | Error>) {
  const removed: string[] = [];
  const closed: string[] = [];
  const asked: string[] = [];
  const byId = new Map(connections.map((c) => [c.connectionId, c]));
  const store = {
    async *sweepEntries(): AsyncIterable<SweepEntry> {
      for (const c of connections)
        yield { connectionId: c.connectionId, dueAt: Math.min(c.tokenExpiresAt, c.endsAt) };
    },
    getConnection: async (id: string) => byId.get(id),
    removeConnection: async (id: string) => {
      removed.push(id);
    },
  } as unknown as ConnectionStore;
  const gateway: ConnectionGateway & ConnectionStatusSource = {
    post: async () => 'delivered',
    close: async (id) => {
      closed.push(id);
      return 'delivered';
    },
    status: async (id) => {
      asked.push(id);
      const status = statuses[id] ?? { lastActiveAt: NOW - 30 };
      if (status instanceof Error) throw status;
      return status;
    },
  };
  const log = { info: () => {}, warn: () => {}, error: () => {} };
  const run = () =>
    sweep({ store, gateway, settings: { idleTimeoutSeconds: 600 }, log, now: () => NOW * 1000 });
  return { run, removed, closed, asked };
}

describe('the sweep', () => {
  it("judges a 410 only once the connection's $connect must have returned", () => {
    expect(CONNECT_GRACE_SECONDS).toBeGreaterThan(HANDLERS.connect.timeoutSeconds);
  });

  it('closes expired tokens, forgets what API Gateway no longer has, and leaves the living alone', async () => {
    // Prepare
    const w = world(
      [
        record('alive'),
        record('expired', { tokenExpiresAt: NOW - 1 }),
        record('lost'),
        record('young', { connectedAt: NOW - CONNECT_GRACE_SECONDS + 5 }),
        record('stuck'),
        record('failing'),
      ],
      {
        lost: 'gone',
        young: 'gone',
        stuck: { lastActiveAt: NOW - 600 - 61 },
        failing: new Error('timeout'),
      },
    );
    // Act
    const report = await w.run();
    // Assess
    expect(report).toEqual({ examined: 6, closedExpired: 1, removedSilent: 2, failed: 1 });
    expect(w.closed.sort()).toEqual(['expired', 'stuck']);
    expect(w.removed.sort()).toEqual(['expired', 'lost', 'stuck']);
    // An expired token is closed on the index's word; every other connection is asked.
    expect(w.asked.sort()).toEqual(['alive', 'failing', 'lost', 'stuck', 'young']);
  });

  it('asks API Gateway about a connection the index has due but a refresh extended', async () => {
    // Prepare: the index still says due (eventually consistent), the item says refreshed.
    const refreshed = record('refreshed');
    const w = world([refreshed], {});
    const store = {
      async *sweepEntries(): AsyncIterable<SweepEntry> {
        yield { connectionId: 'refreshed', dueAt: NOW - 5 };
      },
      getConnection: async () => refreshed,
      removeConnection: async () => {},
    } as unknown as ConnectionStore;
    // Act
    const report = await sweep({
      store,
      gateway: {
        post: async () => 'delivered',
        close: async () => 'delivered',
        status: async () => ({ lastActiveAt: NOW }),
      },
      settings: { idleTimeoutSeconds: 600 },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      now: () => NOW * 1000,
    });
    // Assess
    expect(report).toEqual({ examined: 1, closedExpired: 0, removedSilent: 0, failed: 0 });
    expect(w.removed).toEqual([]);
  });
});
