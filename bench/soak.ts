/**
 * Stage "soak": many clients across tenants and channels under a sustained, paced publish.
 *
 * Client `i` belongs to tenant group `i % G` (the last group has no tenant) and subscribes to two
 * of the group's rooms; every tenant uses the same room names, so a leak across tenants would
 * show. Each event goes to one tenant (or none) and one room. Afterwards every client's receipts
 * are judged against what was published: lost (an expected delivery never arrived), duplicated
 * (the same id and channel twice) and unexpected (another tenant's, an unsubscribed channel's, or
 * an unknown event). Memory: RSS of this process (the stack runs in it), of the client workers
 * and of DynamoDB Local's JVM, sampled every second.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { channelPartition, connectionKey } from '../adapters/dynamo-store.js';
import type { BenchStack } from './bench-stack.js';
import type { ClientPool } from './client-pool.js';
import { closeAllClients, openClients, subscribeClients, workerCounts } from './connections.js';
import { type BenchContext, StageError, sleep, throwIfAborted, within } from './context.js';
import { collectGarbage, rssMiB } from './machine.js';
import { hrNow, round, roundSummary, type Summary, seededRandom, summarize } from './stats.js';
import type { Counts, SoakClient, SoakEvaluation, SoakEvent, SoakSample } from './worker-protocol.js';

export interface SoakOptions {
  readonly clients: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Tenant names; `undefined` is the group of connections without a tenant. */
  readonly tenants: readonly (string | undefined)[];
  readonly roomsPerTenant: number;
}

export interface MemoryPoint {
  /** Seconds since the soak's clients started connecting. */
  readonly t: number;
  readonly stackMiB: number;
  readonly stackHeapMiB: number;
  readonly clientsMiB: number;
  readonly jvmMiB: number | undefined;
}

interface MemoryFigures {
  readonly beforeConnect: number;
  readonly connected: number;
  readonly peak: number;
  readonly end: number;
}

export interface SoakResult {
  readonly clients: number;
  readonly clientWorkers: number;
  readonly tenants: readonly string[];
  readonly roomsPerTenant: number;
  readonly subscriptions: number;
  readonly connectSeconds: number;
  readonly publishSeconds: number;
  readonly eventsPublished: number;
  /** Asked for, and achieved (the publisher shares the stack's process). */
  readonly eventsPerSecondRequested: number;
  readonly eventsPerSecond: number;
  /** Expected deliveries over the publishing window: the load offered to the stack. */
  readonly offeredDeliveriesPerSecond: number;
  readonly expectedDeliveries: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  /** Deliveries per second over the publishing window plus the drain. */
  readonly deliveriesPerSecond: number;
  /** From PutEvents accepted to receipt, every first delivery. */
  readonly latencyMs: Summary;
  /** After the last PutEvents, until every expected delivery was in (or the wait ended). */
  readonly drainSeconds: number;
  /** False when the bus still had deliveries in flight at the end of the wait. */
  readonly drainComplete: boolean;
  /** Closing every client until the table held no connection item. */
  readonly closeSeconds: number;
  readonly memoryMiB: {
    readonly stack: MemoryFigures;
    readonly stackHeap: MemoryFigures;
    readonly clients: MemoryFigures;
    readonly jvm: MemoryFigures | undefined;
  };
  readonly series: readonly MemoryPoint[];
  /** Events moved to the dead-letter queue during the soak (earlier stages' not counted). */
  readonly deadLetters: number;
  readonly unexpectedCloses: Counts['unexpectedCloses'];
  readonly samples: {
    readonly lost: readonly SoakSample[];
    readonly duplicated: readonly SoakSample[];
    readonly unexpected: readonly SoakSample[];
  };
  /** When something was lost: what the table and the gateway say about the affected clients. */
  readonly investigation: readonly string[];
}

const MAX_PUTS_IN_FLIGHT = 50;
const DRAIN_TIMEOUT_MS = 60_000;

const tenantLabel = (tenant: string | undefined) => tenant ?? '(none)';

export async function runSoak(
  ctx: BenchContext,
  stack: BenchStack,
  pool: ClientPool,
  options: SoakOptions,
  phase: (name: 'soak: connect' | 'soak: publish' | 'soak: judge' | 'soak: close') => void,
): Promise<SoakResult> {
  phase('soak: connect');
  const groups = options.tenants.length;
  const rooms = options.roomsPerTenant;
  if (groups < 1 || rooms < 2) throw new StageError('soak needs at least one tenant group and two rooms');
  const soakStarted = hrNow();
  const deadLettersBefore = stack.stack.deadLetterQueue.size;
  const series: MemoryPoint[] = [];
  const sample = (settled = false): MemoryPoint => {
    // At the key moments, after a full collection: the heap then shows what is retained.
    if (settled) collectGarbage();
    const point = {
      t: round((hrNow() - soakStarted) / 1000, 1),
      stackMiB: round(process.memoryUsage.rss() / 1024 ** 2, 1),
      stackHeapMiB: round(process.memoryUsage().heapUsed / 1024 ** 2, 1),
      clientsMiB: round(
        pool.pids.reduce((sum, pid) => sum + (rssMiB(pid) ?? 0), 0),
        1,
      ),
      jvmMiB: stack.jvmPid === undefined ? undefined : round(rssMiB(stack.jvmPid) ?? Number.NaN, 1),
    };
    series.push(point);
    return point;
  };
  const beforeConnect = sample(true);

  const clients = Array.from({ length: options.clients }, (_, index) => {
    const group = index % groups;
    const first = Math.floor(index / groups) % rooms;
    const second = (first + 1 + (Math.floor(index / (groups * rooms)) % (rooms - 1))) % rooms;
    return {
      index,
      key: `soak-${index}`,
      tenant: options.tenants[group],
      channels: [`room-${first}`, `room-${second}`],
    };
  });
  const specs = await Promise.all(
    clients.map(async (client) => ({
      index: client.index,
      key: client.key,
      token: await stack.token({
        userId: `soak-${String(client.index).padStart(5, '0')}`,
        roles: [],
        ...(client.tenant ? { tenant: client.tenant } : {}),
      }),
    })),
  );
  const opened = await openClients(ctx, stack.stack.endpoints.websocket, pool, specs, 'soak connect');
  // The connection ids, to look a client up in the table if something goes missing.
  const { connectionIds } = await subscribeClients(ctx, pool, clients, 'soak subscribe');
  const connectionIdOf = (key: string) => connectionIds.get(key) ?? '';
  await pool.all({ op: 'soakStart' });
  const connected = sample(true);
  ctx.progress.log(
    `  soak: ${options.clients} clients in ${groups} tenant groups connected and subscribed in ${opened.seconds.toFixed(1)} s`,
  );

  phase('soak: publish');
  const audience = new Map<string, number>();
  for (const client of clients) {
    for (const channel of client.channels) {
      const key = `${client.tenant ?? ''}#${channel}`;
      audience.set(key, (audience.get(key) ?? 0) + 1);
    }
  }
  const random = seededRandom(20_240_611);
  const total = Math.round(options.seconds * options.eventsPerSecond);
  const interval = 1000 / options.eventsPerSecond;
  const published: SoakEvent[] = [];
  let expectedDeliveries = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const sampler = setInterval(() => sample(), 1000);
  const publishStart = hrNow();
  try {
    for (let k = 0; k < total; k++) {
      throwIfAborted(ctx.signal);
      if (failure) throw failure;
      const due = publishStart + k * interval;
      const wait = due - hrNow();
      if (wait > 1) await sleep(wait, ctx.signal);
      while (inFlight.size >= MAX_PUTS_IN_FLIGHT) await Promise.race(inFlight);
      const tenant = options.tenants[Math.floor(random() * groups)];
      const channel = `room-${Math.floor(random() * rooms)}`;
      expectedDeliveries += audience.get(`${tenant ?? ''}#${channel}`) ?? 0;
      const put = (async () => {
        const answer = await stack.eventBridge.send(
          new PutEventsCommand({
            Entries: [
              {
                Source: 'switchboard.bench',
                DetailType: 'soak_event',
                Detail: JSON.stringify({
                  channel,
                  ...(tenant ? { tenant } : {}),
                  data: { tag: `soak-${k}` },
                }),
              },
            ],
          }),
        );
        const acceptedAt = hrNow();
        const id = answer.Entries?.[0]?.EventId;
        if (answer.FailedEntryCount || !id)
          throw new StageError(`PutEvents refused: ${JSON.stringify(answer.Entries)}`);
        published.push({ id, tenant, channel, acceptedAt });
      })().catch((error: unknown) => {
        failure ??= error;
      });
      const tracked = put.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (k % 10 === 0) {
        const last = series.at(-1);
        ctx.progress.update(
          (k + 1) / total,
          `${k + 1}/${total} events · stack ${last?.stackMiB ?? '?'} MiB · clients ${last?.clientsMiB ?? '?'} MiB`,
        );
      }
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    const publishSeconds = (hrNow() - publishStart) / 1000;
    if (published.length / publishSeconds < 0.9 * options.eventsPerSecond) {
      ctx.warn(
        `soak: published ${round(published.length / publishSeconds, 1)} events/s of the ${options.eventsPerSecond} asked for: the stack's process could not keep up`,
      );
    }

    // Drain: the publish queue hands every event to the publish function in batches.
    const drainStart = hrNow();
    ctx.progress.update(1, 'draining: waiting for the last deliveries');
    // Past capacity the bus may still be retrying when the wait ends: judge what arrived, and say so.
    const drainComplete = await within(
      stack.stack.settled().then(() => true),
      DRAIN_TIMEOUT_MS,
      'soak: the event bus did not settle',
      ctx.signal,
    ).catch((error: unknown) => {
      if (error instanceof StageError) return false;
      throw error;
    });
    if (!drainComplete) {
      ctx.warn(
        `soak: the event bus was still delivering (or retrying) ${DRAIN_TIMEOUT_MS / 1000} s after the last PutEvents; receipts judged as they stood`,
      );
    }
    const baseline = (await workerCounts(pool)).events;
    let received = baseline;
    let stableSince = hrNow();
    for (const deadline = hrNow() + 30_000; hrNow() < deadline; ) {
      await sleep(250, ctx.signal);
      const now = (await workerCounts(pool)).events;
      if (now !== received) {
        received = now;
        stableSince = hrNow();
      } else if (hrNow() - stableSince > 3000) {
        break;
      }
    }
    const drainSeconds = (hrNow() - drainStart) / 1000;
    clearInterval(sampler);
    const end = sample(true);

    phase('soak: judge');
    const evaluations = await within(
      pool.all<SoakEvaluation>((worker) => ({
        op: 'soakEvaluate',
        clients: clients
          .filter((client) => pool.workerOf(client.index) === worker)
          .map(({ key, tenant, channels }) => ({ key, tenant, channels }) satisfies SoakClient),
        events: published,
      })),
      120_000,
      'soak: judging the receipts',
      ctx.signal,
    );
    const sum = (pick: (e: SoakEvaluation) => number) => evaluations.reduce((s, e) => s + pick(e), 0);
    const latencies = new Float64Array(sum((e) => e.latencies.length));
    let offset = 0;
    for (const evaluation of evaluations) {
      latencies.set(evaluation.latencies, offset);
      offset += evaluation.latencies.length;
    }
    const lost = sum((e) => e.lost);
    const expected = sum((e) => e.expected);
    if (expected !== expectedDeliveries) {
      throw new StageError(
        `soak: the workers expected ${expected} deliveries, the bench ${expectedDeliveries}`,
      );
    }
    const recorded = sum((e) => e.received);
    if (recorded !== sum((e) => e.delivered + e.duplicated + e.unexpected)) {
      throw new StageError(`soak: ${recorded} receipts do not add up to delivered + duplicated + unexpected`);
    }
    const lostSamples = evaluations.flatMap((e) => e.lostSamples).slice(0, 20);
    const counts = await workerCounts(pool);
    const investigation = lost > 0 ? await investigate(stack, lostSamples, connectionIdOf) : [];
    const figures = (pick: (p: MemoryPoint) => number | undefined): MemoryFigures => ({
      beforeConnect: pick(beforeConnect) ?? Number.NaN,
      connected: pick(connected) ?? Number.NaN,
      // From the moment the clients are in: before that the RSS still holds the previous stage's.
      peak: Math.max(
        ...series
          .filter((p) => p.t >= connected.t)
          .map((p) => pick(p) ?? Number.NaN)
          .filter(Number.isFinite),
      ),
      end: pick(end) ?? Number.NaN,
    });
    const delivered = sum((e) => e.delivered);

    // Every $disconnect done before the stack stops, so none of them meets a stopped DynamoDB.
    phase('soak: close');
    const closed = await closeAllClients(ctx, stack, pool, 'soak close').catch((error: unknown) => {
      // Judged already; an overloaded stack slow to forget its connections is worth a note, not a failure.
      if (!(error instanceof StageError)) throw error;
      ctx.warn(error.message);
      return { seconds: Number.NaN };
    });
    return {
      clients: options.clients,
      clientWorkers: pool.size,
      tenants: options.tenants.map(tenantLabel),
      roomsPerTenant: rooms,
      subscriptions: clients.length * 2,
      connectSeconds: round(opened.seconds, 1),
      publishSeconds: round(publishSeconds, 1),
      eventsPublished: published.length,
      eventsPerSecondRequested: options.eventsPerSecond,
      eventsPerSecond: round(published.length / publishSeconds, 1),
      offeredDeliveriesPerSecond: round(expectedDeliveries / publishSeconds, 0),
      expectedDeliveries,
      delivered,
      lost,
      duplicated: sum((e) => e.duplicated),
      unexpected: sum((e) => e.unexpected),
      deliveriesPerSecond: round(delivered / (publishSeconds + drainSeconds), 0),
      latencyMs: roundSummary(summarize(latencies), 1),
      drainSeconds: round(drainSeconds, 1),
      drainComplete,
      closeSeconds: round(closed.seconds, 1),
      memoryMiB: {
        stack: figures((p) => p.stackMiB),
        stackHeap: figures((p) => p.stackHeapMiB),
        clients: figures((p) => p.clientsMiB),
        jvm: stack.jvmPid === undefined ? undefined : figures((p) => p.jvmMiB),
      },
      series,
      deadLetters: stack.stack.deadLetterQueue.size - deadLettersBefore,
      unexpectedCloses: counts.unexpectedCloses,
      samples: {
        lost: lostSamples,
        duplicated: evaluations.flatMap((e) => e.duplicateSamples).slice(0, 20),
        unexpected: evaluations.flatMap((e) => e.unexpectedSamples).slice(0, 20),
      },
      investigation,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** For lost deliveries: is the client still connected, and are its items in the table? */
async function investigate(
  stack: BenchStack,
  samples: readonly SoakSample[],
  connectionIdOf: (key: string) => string,
): Promise<string[]> {
  const notes: string[] = [];
  notes.push(`dead-lettered events: ${stack.stack.deadLetterQueue.size}`);
  for (const lost of samples.slice(0, 5)) {
    const connectionId = connectionIdOf(lost.key);
    const gateway = stack.stack.gateway.connections.get(connectionId);
    const key = (pk: string, sk: string) => ({ pk: { S: pk }, sk: { S: sk } });
    const ck = connectionKey(connectionId);
    const [conn, sub] = await Promise.all([
      stack.dynamodb.send(
        new GetItemCommand({
          TableName: stack.tableName,
          Key: key(String(ck.pk), String(ck.sk)),
          ConsistentRead: true,
        }),
      ),
      stack.dynamodb.send(
        new GetItemCommand({
          TableName: stack.tableName,
          Key: key(channelPartition(lost.clientTenant, lost.channel), connectionId),
          ConsistentRead: true,
        }),
      ),
    ]);
    notes.push(
      `event ${lost.eventId} (tenant ${tenantLabel(lost.eventTenant)}, ${lost.channel}) → client ${lost.key} ` +
        `(connection ${connectionId || '?'}): gateway ${gateway?.state ?? 'no connection'}, ` +
        `connection item ${conn.Item ? 'present' : 'missing'}, subscription item ${sub.Item ? 'present' : 'missing'}`,
    );
  }
  notes.push(...stack.logs.recent.slice(-10).map((line) => `log: ${line}`));
  return notes;
}
