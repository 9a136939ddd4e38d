/**
 * Every Switchboard function, defined once: its entry file, what invokes it (a WebSocket route or
 * another trigger), what it may touch, its timeout, memory and reserved concurrency. The CDK
 * stack (`lib/switchboard-api.ts`) builds and grants the functions from this list and the local
 * stack (`local/local-stack.ts`) runs the same files with the same timeouts and concurrency, so
 * the handlers deployed are exactly the ones run locally.
 */
import { FANOUT_PIPELINE, PUBLISH_PIPELINE } from './publish-pipeline.js';

/** API Gateway evaluates this on every message; a body without a matching `action` goes to `$default`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

/** What a handler may touch: the IAM grants the stack gives it (checked against its bundle). */
export interface HandlerAccess {
  readonly table: 'none' | 'write' | 'readWrite';
  /** Reads the HS256 secret (fetched at init by the handlers that verify or sign tokens). */
  readonly secret: boolean;
  /** `execute-api:ManageConnections` on this stage's `@connections` (post, get, delete). */
  readonly manageConnections: boolean;
  /** `sqs:SendMessage` on the fan-out queue (queues shard tasks). */
  readonly fanoutQueue: boolean;
  /** `sqs:SendMessage` on the publish queue (puts client-published events and presence notices). */
  readonly publishQueue: boolean;
}

export type AccessNeed = keyof HandlerAccess;

export interface HandlerSpec {
  /**
   * File name under `lambdas/` (without extension): the function's entry, which the CDK bundles.
   * It exports `handler`, built once at init from the environment (`loadConfig()`), and
   * `createHandler`.
   */
  readonly entry: string;
  /**
   * The file that defines `createHandler(config, env?)` without building a handler at import,
   * which the local stack and tests import to build handlers from a configuration of their own.
   * @default `{entry}-handler`
   */
  readonly factory?: string;
  /**
   * The WebSocket route it serves. Two-way routes send the handler's returned `body` back to the
   * client (a route response). Without a route, `trigger` says what invokes it.
   */
  readonly route?: { readonly routeKey: string; readonly twoWay: boolean };
  readonly trigger?: 'publish queue' | 'fan-out queue' | 'schedule' | 'HTTP API';
  readonly access: HandlerAccess;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** @default - none: the function draws on the account's unreserved pool */
  readonly reservedConcurrency?: number;
}

/** WebSocket routes and the token exchange answer a waiting client: 10 s at most. */
const ROUTE_TIMEOUT_SECONDS = 10;
const ROUTE_SIZING = { timeoutSeconds: ROUTE_TIMEOUT_SECONDS, memorySize: 256 } as const;
const NONE: HandlerAccess = {
  table: 'none',
  secret: false,
  manageConnections: false,
  fanoutQueue: false,
  publishQueue: false,
};

/**
 * The four message routes run one handler (`client-message.ts`): it builds the token verifier on
 * the first `refresh`, replays history on subscribe through `@connections` and puts
 * client-published events and presence notices on the publish queue (PROTOCOL §8).
 */
const MESSAGE_ROUTE_ACCESS: HandlerAccess = {
  ...NONE,
  table: 'readWrite',
  secret: true,
  manageConnections: true,
  publishQueue: true,
};

const messageRoute = (entry: string, routeKey: string): HandlerSpec => ({
  entry,
  factory: 'client-message',
  route: { routeKey, twoWay: true },
  access: MESSAGE_ROUTE_ACCESS,
  ...ROUTE_SIZING,
});

/** Each handler's permissions follow its code: test/infra checks them against its bundle's adapters. */
export const HANDLERS = {
  // Verifies the token, then writes the connection item (PutItem only).
  connect: {
    entry: 'connect',
    route: { routeKey: '$connect', twoWay: false },
    access: { ...NONE, table: 'write', secret: true },
    ...ROUTE_SIZING,
  },
  // Reads the connection item to find its subscriptions, then deletes them all by key; queues the
  // presence leaves of its presence channels (core/presence.ts).
  disconnect: {
    entry: 'disconnect',
    route: { routeKey: '$disconnect', twoWay: false },
    access: { ...NONE, table: 'readWrite', publishQueue: true },
    ...ROUTE_SIZING,
  },
  subscribe: messageRoute('subscribe', 'subscribe'),
  unsubscribe: messageRoute('unsubscribe', 'unsubscribe'),
  ping: messageRoute('ping', 'ping'),
  default: messageRoute('default', '$default'),
  // Fan-out: queries a channel's subscribers, posts to each, removes gone connections; queues
  // shard tasks for big channels. Fed by the publish queue (PublishPipeline grants it the queue);
  // sends to it the presence leaves of the connections it finds gone.
  publish: {
    entry: 'publish',
    trigger: 'publish queue',
    access: { ...NONE, table: 'readWrite', manageConnections: true, fanoutQueue: true, publishQueue: true },
    timeoutSeconds: PUBLISH_PIPELINE.functionTimeoutSeconds,
    memorySize: 512,
    // The stack's `publishReservedConcurrency` prop may change it there.
    reservedConcurrency: PUBLISH_PIPELINE.reservedConcurrency,
  },
  // Big channels and broadcasts: reads a shard's audience page by page, posts within the shared
  // callback budget (a counter item per second), queues a continuation or a retry of its shard.
  // Queues the presence leaves of the connections it finds gone.
  fanout: {
    entry: 'fanout',
    trigger: 'fan-out queue',
    access: { ...NONE, table: 'readWrite', manageConnections: true, fanoutQueue: true, publishQueue: true },
    timeoutSeconds: FANOUT_PIPELINE.functionTimeoutSeconds,
    memorySize: 512,
    reservedConcurrency: FANOUT_PIPELINE.reservedConcurrency,
  },
  // Closes stale connections (DeleteConnection) and removes their items; queues the presence
  // leaves of the connections it removes.
  sweep: {
    entry: 'sweep',
    trigger: 'schedule',
    access: { ...NONE, table: 'readWrite', manageConnections: true, publishQueue: true },
    timeoutSeconds: 120,
    memorySize: 256,
    // One run at a time: a run may take longer than the period, and two at once would each take
    // the sweep's share of the callback budget. The schedule's next event is then throttled, and
    // Lambda keeps a throttled asynchronous event and tries it again ("How Lambda handles errors
    // and retries with asynchronous invocation": for throttling errors (429) … for up to 6 hours),
    // here at most `sweepPeriod` (the target's maxEventAge), then drops it: that tick is skipped.
    reservedConcurrency: 1,
  },
  // Token exchange: verifies the main token, signs a short one. No table.
  auth: { entry: 'auth', trigger: 'HTTP API', access: { ...NONE, secret: true }, ...ROUTE_SIZING },
} as const satisfies Readonly<Record<string, HandlerSpec>>;

export type HandlerEntry = keyof typeof HANDLERS;

/** Every handler, in the order the stack creates them. */
export const HANDLER_LIST: readonly HandlerSpec[] = Object.values(HANDLERS);

/** The handler of an entry name; throws on a name that is not one. */
export function handlerSpec(entry: string): HandlerSpec {
  const spec = HANDLER_LIST.find((candidate) => candidate.entry === entry);
  if (!spec) throw new Error(`no handler named ${JSON.stringify(entry)} in lambdas/handlers.ts`);
  return spec;
}

/** The file under `lambdas/` whose `createHandler` builds a handler from a configuration. */
export function handlerFactoryModule(spec: HandlerSpec): string {
  return spec.factory ?? `${spec.entry}-handler`;
}

/** The entry names of the handlers that are not WebSocket routes, for readable call sites. */
export const TRIGGER_ENTRIES = {
  publish: HANDLERS.publish.entry,
  fanout: HANDLERS.fanout.entry,
  sweep: HANDLERS.sweep.entry,
  auth: HANDLERS.auth.entry,
} as const;

export interface WebSocketRoute {
  readonly routeKey: string;
  readonly entry: string;
  readonly twoWay: boolean;
}

/** The WebSocket routes served by a handler: the CDK stack wires them, the local gateway dispatches. */
export const WEBSOCKET_ROUTES: readonly WebSocketRoute[] = HANDLER_LIST.flatMap(({ entry, route }) =>
  route ? [{ entry, ...route }] : [],
);

/**
 * Routes API Gateway serves itself, with a `MOCK` integration: no function and no table behind
 * them, so a message on one costs only the message. One-way (no route response): nothing is sent
 * back (docs/design/keep-alive.md).
 */
export interface MockRoute {
  readonly routeKey: string;
  /**
   * The integration's request template (the `$default` one): a mock integration takes its status
   * code from it. The local gateway evaluates the same text.
   */
  readonly requestTemplate: string;
}

export const MOCK_ROUTES: readonly MockRoute[] = [
  // `{"action":"keepalive"}`: restarts API Gateway's idle timer; the SDK's heartbeat.
  { routeKey: 'keepalive', requestTemplate: '{"statusCode": 200}' },
];

/**
 * The adapters that reach AWS, and the access each needs. A handler whose bundle contains one of
 * these files (with code in the output, i.e. not tree-shaken away) needs that access
 * (`adapterPermissions` in lib/bundling.ts reads a bundle's metafile).
 */
export const ADAPTER_ACCESS = {
  'adapters/dynamo-store.ts': 'table',
  'adapters/dynamo-history.ts': 'table',
  'adapters/dynamo-presence.ts': 'table',
  'adapters/auth.ts': 'secret',
  'adapters/management-gateway.ts': 'manageConnections',
  'adapters/sqs-fanout-queue.ts': 'fanoutQueue',
  'adapters/sqs-event-queue.ts': 'publishQueue',
} as const satisfies Readonly<Record<string, AccessNeed>>;
