/**
 * The cost model of the current design: what each operation (a keep-alive, a reconnect, an event,
 * a sweep) costs in billable units, and a month of a scenario priced line by line with `PRICES`.
 * Pure arithmetic: the measured inputs (`BenchFacts`) come from the bench's results and are passed
 * in, so tests can hand-check every figure.
 *
 * Units per request follow DynamoDB's documented rules (a strongly consistent read: 1 unit per
 * 4 KB; eventually consistent: half; a write: 1 unit per KB; a transactional write: 2 per item and
 * KB; a global secondary index write: 1 more per item written to the index, and 2 when an update
 * changes the item's index key, "one to delete the previous item from the index and another to put
 * the new item", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes).
 */
import { FANOUT_SHARDS } from '../core/fanout.js';
import { sweepChunk } from '../core/sweep.js';
import { FANOUT_PIPELINE, PUBLISH_PIPELINE } from '../lambdas/publish-pipeline.js';
import { priceOf } from './prices.js';

/** The month the figures are for: 30 days. */
export const MONTH_MINUTES = 30 * 24 * 60;

/** Billable units, of one operation or of a month of something. */
export interface Usage {
  readonly messages?: number;
  readonly connectionMinutes?: number;
  readonly lambdaRequests?: number;
  readonly lambdaGbSeconds?: number;
  readonly readUnits?: number;
  readonly writeUnits?: number;
  readonly sqsRequests?: number;
  readonly customEvents?: number;
  readonly httpRequests?: number;
  readonly managementCalls?: number;
}

const USAGE_KEYS = [
  'messages',
  'connectionMinutes',
  'lambdaRequests',
  'lambdaGbSeconds',
  'readUnits',
  'writeUnits',
  'sqsRequests',
  'customEvents',
  'httpRequests',
  'managementCalls',
] as const satisfies readonly (keyof Usage)[];

export function addUsage(...parts: readonly Usage[]): Usage {
  const sum: Record<string, number> = {};
  for (const part of parts) {
    for (const key of USAGE_KEYS) {
      const value = part[key];
      if (value) sum[key] = (sum[key] ?? 0) + value;
    }
  }
  return sum;
}

export function scaleUsage(usage: Usage, factor: number): Usage {
  const scaled: Record<string, number> = {};
  for (const key of USAGE_KEYS) {
    const value = usage[key];
    if (value) scaled[key] = value * factor;
  }
  return scaled;
}

/** Dollars for `usage` at list prices. */
export function usdOf(usage: Usage): number {
  return (
    priceOf('webSocketMessage', usage.messages ?? 0) +
    priceOf('connectionMinute', usage.connectionMinutes ?? 0) +
    priceOf('lambdaRequest', usage.lambdaRequests ?? 0) +
    priceOf('lambdaGbSecond', usage.lambdaGbSeconds ?? 0) +
    priceOf('readRequestUnit', usage.readUnits ?? 0) +
    priceOf('writeRequestUnit', usage.writeUnits ?? 0) +
    priceOf('sqsRequest', usage.sqsRequests ?? 0) +
    priceOf('customEvent', usage.customEvents ?? 0) +
    priceOf('httpApiRequest', usage.httpRequests ?? 0) +
    priceOf('managementApiCall', usage.managementCalls ?? 0)
  );
}

/** One Lambda invocation of `ms` at `memoryMb`. */
export function invocation(ms: number, memoryMb: number, count = 1): Usage {
  return { lambdaRequests: count, lambdaGbSeconds: (count * ms * memoryMb) / 1024 / 1000 };
}

/** Read units of a strongly consistent read of `bytes` (at least one unit, as DynamoDB bills). */
/**
 * Strongly consistent read units for `bytes` read: one per 4 KB, rounded up. Sizes derived from a
 * measurement (286.72 B × 100 = 28,672.000000000004 in floating point) must not round up a unit
 * that is exactly whole, so a part below a millionth of a byte is dropped first.
 */
export const consistentReadUnits = (bytes: number) =>
  Math.max(1, Math.ceil(Math.round(bytes * 1e6) / 1e6 / 4096));

/** What the bench measured that the model uses (`bench/results.json`, see `bench-facts.ts`). */
export interface BenchFacts {
  /** A subscription item as stored (the fan-out Query reads these). */
  readonly subscriptionItemBytes: number;
  /** A stored history event as a replay reads it: from the measured recovery rows. */
  readonly storedEventBytes: number;
  /** Publish: time per delivery on the measured fan-out (p50 time to all / subscribers). */
  readonly msPerDelivery: number;
}

/**
 * The deployed design's facts the arithmetic needs. Memory sizes are `HANDLERS`'s
 * (lambdas/handlers.ts; a test checks they agree); durations are assumptions, stated.
 */
export const DESIGN = {
  routeMemoryMb: 256,
  publishMemoryMb: 512,
  fanoutMemoryMb: 512,
  sweepMemoryMb: 256,
  /** A warm message or handshake handler: token check or one or two DynamoDB calls (assumed). */
  routeMs: 20,
  /** A `ping`: parsed and answered, no I/O (assumed). */
  pingMs: 5,
  /** A publish batch before its posts: marker read, counter, batch write, Query (assumed). */
  publishBatchMs: 30,
  /** A sweep run over an empty index (assumed). */
  sweepRunMs: 50,
  /** The SDK's default keep-alive interval, minutes (`heartbeatIntervalMs`, client/options.ts). */
  keepAliveMinutes: 9,
  /** The SDK replaces a connection at this age, before API Gateway's 2-hour cap. */
  reconnectMinutes: 115,
  /** The sweep's schedule (`sweepPeriod`'s default). */
  sweepPeriodMinutes: 1,
  /** Queries per sweep run: one per shard of the sweep index. */
  sweepIndexShards: 4,
  /** A connection's entry in the sweep index (keys only), bytes (assumed from the key sizes). */
  sweepIndexEntryBytes: 100,
  /**
   * The sweep's time per connection: a `GET @connections` of ~15 ms, 16 at a time
   * (`STATUS_CONCURRENCY`), rounded up (assumed).
   */
  sweepMsPerConnection: 1,
  /** `callbacksPerSecond`'s default: the sweep takes its calls' rights from it (core/sweep.ts). */
  callbacksPerSecond: 4000,
  fanoutThreshold: 1000,
  publishBatchSize: PUBLISH_PIPELINE.batchSize,
  fanoutShards: FANOUT_SHARDS,
  fanoutBatchSize: FANOUT_PIPELINE.batchSize,
  /**
   * Every client message but `ping` and `keepalive` runs through admission: a strongly consistent
   * GetItem of the connection and an UpdateItem of its rate bucket (no index key moves: 1 WRU).
   */
  admission: { readUnits: 1, writeUnits: 1 } as Usage,
} as const;

export type KeepAlive = 'ping' | 'one-way';

/** A keep-alive as the SDK sends it. */
export function keepAlive(kind: KeepAlive): Usage {
  // `{"action":"keepalive"}`: one message in, served by API Gateway's mock integration.
  if (kind === 'one-way') return { messages: 1 };
  // `{"action":"ping"}`: in, pong out, the ping route's function; no table.
  return addUsage({ messages: 2 }, invocation(DESIGN.pingMs, DESIGN.routeMemoryMb));
}

/** `$connect`: the function checks the token and writes the connection (+ its sweep-index entry) and its live entry. */
export function connect(): Usage {
  return addUsage(invocation(DESIGN.routeMs, DESIGN.routeMemoryMb), { writeUnits: 3 });
}

/** `$disconnect`: reads the connection, deletes it (+ index entry), its live entry and its subscriptions. */
export function disconnect(channels: number): Usage {
  return addUsage(invocation(DESIGN.routeMs, DESIGN.routeMemoryMb), {
    readUnits: 1,
    writeUnits: 3 + channels,
  });
}

/** Read units of a resubscribe with `since`: the counter, then a consistent Query of the replayed events. */
export function recoveryReadUnits(events: number, facts: BenchFacts): number {
  return 1 + consistentReadUnits(events * facts.storedEventBytes);
}

/**
 * `subscribe` (with `since` when `replayed` is given): in and out, admission, the subscription
 * transaction (connection's set and subscription item: 2 items × 2), the counter, and the replay's
 * Query and posts.
 */
export function subscribe(facts: BenchFacts, replayed = 0): Usage {
  return addUsage(
    { messages: 2 + replayed },
    invocation(DESIGN.routeMs, DESIGN.routeMemoryMb),
    DESIGN.admission,
    { writeUnits: 4, readUnits: recoveryReadUnits(replayed, facts) },
  );
}

/** One connection's life: connect, resubscribe its channels with `since`, disconnect. */
export function reconnect(channels: number, facts: BenchFacts, replayedPerChannel = 0): Usage {
  return addUsage(
    connect(),
    scaleUsage(subscribe(facts, replayedPerChannel), channels),
    disconnect(channels),
  );
}

/** Read units of a consistent Query of a channel's `subscribers`. */
export function subscriberQueryReadUnits(subscribers: number, facts: BenchFacts): number {
  return consistentReadUnits(subscribers * facts.subscriptionItemBytes);
}

/**
 * One published event to one channel of `subscribers`, with `batch` events of that channel per
 * publish batch (docs/design/sequencing.md): the EventBridge event; the queue's send and its share
 * of a receive and a delete; its share of the invocation; the marker read, event and marker
 * writes, and its share of the counter update and the subscriber Query; one post per subscriber.
 * A channel above the fan-out threshold goes to the fan-out workers instead: `FANOUT_SHARDS`
 * tasks (sent ten to a request), each received, run alone and deleted, each reading its shard.
 */
export function publishedEvent(subscribers: number, batch: number, facts: BenchFacts): Usage {
  const shared = 1 / batch;
  const own: Usage = {
    customEvents: 1,
    sqsRequests: 1 + 2 * shared,
    readUnits: 1,
    writeUnits: 2 + shared,
    messages: subscribers,
  };
  const postsMs = subscribers * facts.msPerDelivery;
  if (subscribers <= DESIGN.fanoutThreshold) {
    return addUsage(
      own,
      { readUnits: shared * subscriberQueryReadUnits(subscribers, facts) },
      invocation(DESIGN.publishBatchMs + batch * postsMs, DESIGN.publishMemoryMb, shared),
    );
  }
  const shards = DESIGN.fanoutShards;
  return addUsage(
    own,
    invocation(DESIGN.publishBatchMs, DESIGN.publishMemoryMb, shared),
    {
      sqsRequests: Math.ceil(shards / 10) + (2 * shards) / DESIGN.fanoutBatchSize,
      readUnits: shards * subscriberQueryReadUnits(subscribers / shards, facts),
    },
    invocation(DESIGN.publishBatchMs + postsMs / shards, DESIGN.fanoutMemoryMb, shards),
  );
}

/** What a scenario describes; see `parseScenario` for the defaults. */
export interface Scenario {
  /** Always-connected clients. */
  readonly clients: number;
  /** Events published per second, each to one channel. */
  readonly eventsPerSecond: number;
  /** Subscribers of each event's channel. */
  readonly subscribers: number;
  /** Events of a channel per publish batch, 1 (quiet) to 10 (busy). */
  readonly batch: number;
  /** Minutes between keep-alives. */
  readonly pingMinutes: number;
  readonly keepAlive: KeepAlive;
  /** Channels each client subscribes to (resubscribed at every reconnect). */
  readonly channelsPerClient: number;
  /** Events a resubscribe replays per channel. */
  readonly replayedPerResubscribe: number;
}

export const DEFAULT_SCENARIO: Scenario = {
  clients: 1000,
  eventsPerSecond: 0,
  subscribers: 100,
  batch: PUBLISH_PIPELINE.batchSize,
  pingMinutes: DESIGN.keepAliveMinutes,
  keepAlive: 'one-way',
  channelsPerClient: 1,
  replayedPerResubscribe: 0,
};

export type LineGroup = 'connections' | 'events' | 'stack';

export interface Line {
  readonly group: LineGroup;
  readonly item: string;
  /** What was counted, in words (`8.64 M in + 8.64 M out`). */
  readonly quantity: string;
  readonly usage: Usage;
  readonly usd: number;
}

const line = (group: LineGroup, item: string, quantity: string, usage: Usage): Line => ({
  group,
  item,
  quantity,
  usage,
  usd: usdOf(usage),
});

/** `12345678` → `12.3 M`; small numbers as they are. */
export function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 2)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3).toLocaleString('en-US')} k`;
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2);
}

/** A month of connected clients: their minutes, keep-alives and reconnects, and the sweep's share. */
export function clientLines(scenario: Scenario, facts: BenchFacts): Line[] {
  const { clients } = scenario;
  const minutes = clients * MONTH_MINUTES;
  // Keep-alives fall inside each connection's life; the reconnect's own messages keep it alive at first.
  const keepAlivesPerConnection = Math.floor(DESIGN.reconnectMinutes / scenario.pingMinutes);
  const connections = minutes / DESIGN.reconnectMinutes;
  const keepAlives = connections * keepAlivesPerConnection;
  const ka = scaleUsage(keepAlive(scenario.keepAlive), keepAlives);
  const rc = scaleUsage(
    reconnect(scenario.channelsPerClient, facts, scenario.replayedPerResubscribe),
    connections,
  );
  return [
    line('connections', 'connection-minutes', count(minutes), { connectionMinutes: minutes }),
    line(
      'connections',
      `keep-alives (${scenario.keepAlive === 'ping' ? 'ping + pong' : 'one-way'}, every ${scenario.pingMinutes} min)`,
      `${count(keepAlives)} × ${describe(keepAlive(scenario.keepAlive))}`,
      ka,
    ),
    line(
      'connections',
      `reconnects every ${DESIGN.reconnectMinutes} min (connect, ${scenario.channelsPerClient} resubscribe, disconnect)`,
      `${count(connections)} × ${describe(reconnect(scenario.channelsPerClient, facts, scenario.replayedPerResubscribe))}`,
      rc,
    ),
    line(
      'connections',
      'sweep, per connection',
      `${count(clients)} connections`,
      sweepPerConnection(clients),
    ),
  ];
}

/** A month of publishing. */
export function eventLines(scenario: Scenario, facts: BenchFacts): Line[] {
  if (scenario.eventsPerSecond <= 0) return [];
  const events = scenario.eventsPerSecond * MONTH_MINUTES * 60;
  const perEvent = publishedEvent(scenario.subscribers, scenario.batch, facts);
  const parts: [string, Usage][] = [
    ['API Gateway posts', { messages: perEvent.messages ?? 0 }],
    ['EventBridge', { customEvents: perEvent.customEvents ?? 0 }],
    ['SQS', { sqsRequests: perEvent.sqsRequests ?? 0 }],
    [
      'Lambda (publish, fan-out)',
      { lambdaRequests: perEvent.lambdaRequests ?? 0, lambdaGbSeconds: perEvent.lambdaGbSeconds ?? 0 },
    ],
    ['DynamoDB', { readUnits: perEvent.readUnits ?? 0, writeUnits: perEvent.writeUnits ?? 0 }],
  ];
  return parts.map(([item, usage]) =>
    line('events', `${item}`, `${count(events)} events × ${describe(usage)}`, scaleUsage(usage, events)),
  );
}

/**
 * The sweep's work that grows with connections, a month: every run reads every connection's index
 * entry (keys only, eventually consistent: half a unit per 4 KB) and asks API Gateway about it
 * (`GET @connections`), taking the call's right from the callback budget (one write a chunk).
 */
export function sweepPerConnection(connections: number): Usage {
  const runs = MONTH_MINUTES / DESIGN.sweepPeriodMinutes;
  return addUsage(
    {
      readUnits: (runs * 0.5 * connections * DESIGN.sweepIndexEntryBytes) / 4096,
      writeUnits: (runs * connections) / sweepChunk(DESIGN.callbacksPerSecond),
      managementCalls: runs * connections,
    },
    // The run's own invocation is counted with the stack; here only its added time.
    {
      lambdaGbSeconds:
        (runs * connections * DESIGN.sweepMsPerConnection * DESIGN.sweepMemoryMb) / 1024 / 1000,
    },
  );
}

/** What the stack costs with no clients and no events. */
export interface StackFacts {
  /** CloudWatch alarms, and the metrics they evaluate (the billing unit). */
  readonly alarms: number;
  readonly alarmMetrics: number;
  readonly dashboards: number;
  /** The generated HS256 secret (none when the stack is given one). */
  readonly secrets: number;
  /** SQS event source mappings (publish and fan-out queues), each long-polling its queue. */
  readonly eventSourceMappings: number;
  /** Custom metrics written every sweep run. */
  readonly alwaysOnCustomMetrics: number;
}

/**
 * The deployed stack's idle facts (`SwitchboardApi` with its defaults). test/infra checks them
 * against the synthesized template.
 */
export const DEPLOYED_STACK: StackFacts = {
  alarms: 9,
  // PublishErrors 1, HandlerErrors 10 (one per function), DeadLetterQueueDepth 1, Throttles 9
  // (every function but the sweep, throttled by design), WebSocket5xx 7 (ExecutionError + 6 route
  // functions), AuthApi5xx 1, PublishQueueAge 1, TableThrottles 4 (read and write of the table and
  // its index), PublishRuleFailedInvocations 2.
  alarmMetrics: 36,
  // Only with the `dashboard` prop (off by default).
  dashboards: 0,
  secrets: 1,
  eventSourceMappings: 2,
  // The sweep writes its metric only when it swept something (lambdas/sweep.ts).
  alwaysOnCustomMetrics: 0,
};

/**
 * Lambda's SQS pollers on an idle queue: at least five long polls of 20 s at a time ("Using Lambda
 * with Amazon SQS": Lambda polls with five parallel long-poll connections to start), 3 a minute each.
 */
export const IDLE_POLLERS = 5;
const LONG_POLL_SECONDS = 20;
/** Lambda's START, END and REPORT lines per invocation, bytes (assumed). */
const PLATFORM_LOG_BYTES = 350;

export function stackLines(stack: StackFacts): Line[] {
  const sweeps = MONTH_MINUTES / DESIGN.sweepPeriodMinutes;
  const polls = stack.eventSourceMappings * IDLE_POLLERS * (60 / LONG_POLL_SECONDS) * MONTH_MINUTES;
  const sweepUsage = addUsage(invocation(DESIGN.sweepRunMs, DESIGN.sweepMemoryMb, sweeps), {
    // One Query per index shard, eventually consistent: half a unit at least.
    readUnits: sweeps * DESIGN.sweepIndexShards * 0.5,
  });
  const fixed = (item: string, quantity: string, usd: number): Line => ({
    group: 'stack',
    item,
    quantity,
    usage: {},
    usd,
  });
  return [
    fixed(
      `alarms (${stack.alarms}, evaluating ${stack.alarmMetrics} metrics)`,
      `${stack.alarmMetrics} alarm metrics`,
      priceOf('alarmMetric', stack.alarmMetrics),
    ),
    fixed('dashboard', `${stack.dashboards}`, priceOf('dashboard', stack.dashboards)),
    fixed('secret (HS256 key)', `${stack.secrets}`, priceOf('secret', stack.secrets)),
    line(
      'stack',
      `SQS long polls (${stack.eventSourceMappings} event source mappings × ${IDLE_POLLERS} pollers)`,
      count(polls),
      { sqsRequests: polls },
    ),
    line('stack', `sweep every ${DESIGN.sweepPeriodMinutes} min (no connections)`, count(sweeps), sweepUsage),
    fixed(
      'custom metrics written every sweep',
      `${stack.alwaysOnCustomMetrics}`,
      priceOf('customMetric', stack.alwaysOnCustomMetrics),
    ),
    fixed(
      'logs: the sweep function (platform lines)',
      `${((sweeps * PLATFORM_LOG_BYTES) / 1e6).toFixed(0)} MB`,
      priceOf('logIngestionGb', (sweeps * PLATFORM_LOG_BYTES) / 1e9),
    ),
  ];
}

export interface Bill {
  readonly scenario: Scenario;
  readonly lines: readonly Line[];
  readonly total: number;
}

export function monthlyBill(scenario: Scenario, facts: BenchFacts, stack: StackFacts): Bill {
  const lines = [...clientLines(scenario, facts), ...eventLines(scenario, facts), ...stackLines(stack)];
  return { scenario, lines, total: lines.reduce((sum, l) => sum + l.usd, 0) };
}

/** The goals of issue 15, as the model computes them. */
export interface Goals {
  /** Per 1,000 always-connected idle clients a month (connection lines only). */
  readonly idleClientsPer1000: number;
  /** Of which API Gateway's floor: connection-minutes and keep-alives. */
  readonly keepAliveFloorPer1000: number;
  /** Per million deliveries at 100 subscribers, busy channel (full batches) and quiet (one event a batch). */
  readonly perMillionDeliveriesBusy: number;
  readonly perMillionDeliveriesQuiet: number;
  /** The stack with no clients and no events, a month. */
  readonly idleStack: number;
  /** The sweep's share per 1,000 connections a month. */
  readonly sweepPer1000: number;
}

export function goals(scenario: Scenario, facts: BenchFacts, stack: StackFacts): Goals {
  const idle = clientLines({ ...scenario, clients: 1000, eventsPerSecond: 0 }, facts);
  const perMillion = (batch: number) => (usdOf(publishedEvent(100, batch, facts)) * 1e6) / 100;
  return {
    idleClientsPer1000: idle.reduce((sum, l) => sum + l.usd, 0),
    keepAliveFloorPer1000: (idle[0]?.usd ?? 0) + (idle[1]?.usd ?? 0),
    perMillionDeliveriesBusy: perMillion(DESIGN.publishBatchSize),
    perMillionDeliveriesQuiet: perMillion(1),
    idleStack: stackLines(stack).reduce((sum, l) => sum + l.usd, 0),
    sweepPer1000: usdOf(sweepPerConnection(1000)),
  };
}

/** `2 messages, 1 invocation, 1 RRU, 3 WRU`: a usage in words. */
export function describe(usage: Usage): string {
  const parts: string[] = [];
  const n = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
  if (usage.messages) parts.push(`${n(usage.messages)} msg`);
  if (usage.lambdaRequests) parts.push(`${n(usage.lambdaRequests)} inv`);
  if (usage.readUnits) parts.push(`${n(usage.readUnits)} RRU`);
  if (usage.writeUnits) parts.push(`${n(usage.writeUnits)} WRU`);
  if (usage.sqsRequests) parts.push(`${n(usage.sqsRequests)} SQS req`);
  if (usage.customEvents) parts.push(`${n(usage.customEvents)} event`);
  if (usage.httpRequests) parts.push(`${n(usage.httpRequests)} HTTP req`);
  if (usage.managementCalls) parts.push(`${n(usage.managementCalls)} @connections GET`);
  return parts.join(' + ') || 'nothing';
}
