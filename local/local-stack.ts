/**
 * The local stack that `npm start` runs: the real handler modules of `lambdas/`, in-process,
 * behind a local API Gateway WebSocket API, its `@connections` API, the HTTP API's token
 * exchange and an EventBridge `PutEvents` endpoint, all on ONE loopback port, with DynamoDB
 * Local beside them and the sweep on its schedule. The same port serves a browser console that
 * exists only locally: a test client page, a live dashboard and a token minter
 * (`console/web-console.ts`).
 *
 * With `SWITCHBOARD_LOCAL_FAULTS=1` (tests only) the stack also plays a fault plan, controlled at
 * `/local/faults` (see `faults/fault-plan.ts`): a proxy then sits between the handlers and DynamoDB.
 *
 * Each handler is built with its module's `createHandler` from a configuration this stack computes
 * (`localHandlerConfig`: its settings and endpoints), never by writing `process.env`: stacks with
 * different settings can run side by side in one process, each with its own handlers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createVerifierFromConfig } from '../adapters/auth.js';
import type { AwsClientConfig, Config } from '../adapters/config.js';
import { DynamoPresenceStore } from '../adapters/dynamo-presence.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { switchboardEventPattern } from '../adapters/event-pattern.js';
import { signToken } from '../adapters/token-verifier.js';
import { CLIENT_EVENT_SOURCE } from '../core/publishers.js';
import {
  HANDLER_LIST,
  handlerFactoryModule,
  handlerSpec,
  MOCK_ROUTES,
  TRIGGER_ENTRIES,
  WEBSOCKET_ROUTES,
} from '../lambdas/handlers.js';
import { FANOUT_PIPELINE, PUBLISH_PIPELINE } from '../lambdas/publish-pipeline.js';
import { LocalActivity } from './console/activity.js';
import { buildWebAssets } from './console/web-assets.js';
import { createWebConsole, type WebConsole } from './console/web-console.js';
import { CallbackQuota } from './emulator/callback-quota.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './emulator/dynamodb-local.js';
import { EventBridgeEndpoint } from './emulator/eventbridge-endpoint.js';
import { createHttpApi, TOKEN_EXCHANGE_PATH } from './emulator/http-api.js';
import {
  createLocalFunction,
  importHandlerFactory,
  type LambdaHandler,
  LOCAL_ACCOUNT,
  type LocalFunction,
} from './emulator/lambda-runtime.js';
import { createManagementApi } from './emulator/management-api.js';
import { createMeterRoute, LocalMeter } from './emulator/meter.js';
import type { EventEnvelope } from './emulator/put-events.js';
import { createSqsEndpoint } from './emulator/sqs-endpoint.js';
import { SqsEventSource } from './emulator/sqs-event-source.js';
import { LOCAL_QUEUE_NAMES, LocalQueue } from './emulator/sqs-queue.js';
import { type SweepSchedule, startSweepSchedule } from './emulator/sweep-schedule.js';
import { type GatewayFaults, WebSocketGateway } from './emulator/websocket-gateway.js';
import { LocalStackError } from './errors.js';
import { createFaultRoute, FAULTS_PATH, LocalFaults } from './faults/fault-plan.js';
import { startTcpProxy, type TcpProxy } from './faults/tcp-proxy.js';
import { type RequestHandler, sendJson } from './http-io.js';
import { listenOnLoopback } from './listen.js';
import { type LocalHandlerConfig, localAws, localHandlerConfig } from './local-env.js';
import { LOCAL_ENV, resolveSettings } from './local-settings.js';
import { createLocalLog, type LocalLog } from './log.js';
import { createRequestGuard } from './request-guard.js';

export interface LocalStackOptions {
  /**
   * The environment this stack reads its settings and its handlers' configuration from; it is
   * never written. @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The one HTTP/WebSocket port on 127.0.0.1; 0 picks a free one. @default SWITCHBOARD_PORT, else its default in docs/configuration.md */
  readonly port?: number;
  /** DynamoDB Local's port; 0 picks a free one. @default SWITCHBOARD_DYNAMODB_PORT, else its default in docs/configuration.md */
  readonly dynamodbPort?: number;
  /** An existing DynamoDB to use instead of starting DynamoDB Local. @default SWITCHBOARD_DYNAMODB_ENDPOINT */
  readonly dynamodbEndpoint?: string;
  /** @default SWITCHBOARD_TABLE_NAME, else its default in docs/configuration.md */
  readonly tableName?: string;
  /** The WebSocket stage (URL path). @default the `stageName` default in docs/configuration.md */
  readonly stage?: string;
  /** The bus Switchboard's rule listens on. @default SWITCHBOARD_EVENT_BUS_NAME, else its default in docs/configuration.md */
  readonly eventBusName?: string;
  /** @default SWITCHBOARD_SWEEP_INTERVAL_SECONDS, else its default in docs/configuration.md */
  readonly sweepIntervalSeconds?: number;
  /** @default SWITCHBOARD_IDLE_TIMEOUT_SECONDS, else its default in docs/configuration.md */
  readonly idleTimeoutSeconds?: number;
  /** @default SWITCHBOARD_MAX_CONNECTION_SECONDS, else its default in docs/configuration.md */
  readonly maxConnectionSeconds?: number;
  /** Where the handler modules (`{entry}.ts`) are imported from. @default this repository's `lambdas/` */
  readonly handlersDir?: URL;
  /** Handlers to use instead of importing modules, by entry name (for tests of the stack itself). */
  readonly handlers?: Readonly<Record<string, LambdaHandler>>;
  /** Every function's timeout, instead of each one's own (`lambdas/handlers.ts`). @default each one's own */
  readonly functionTimeoutMs?: number;
  /**
   * The fan-out function's timeout alone, so that one invocation cannot post to a whole big
   * channel while the routes and publish keep theirs (the bench's big-channel stage).
   * @default `functionTimeoutMs`, else its own
   */
  readonly fanoutTimeoutMs?: number;
  /** The wait before a failed publish record is retried. @default SWITCHBOARD_LOCAL_RETRY_SECONDS, else its default in docs/configuration.md */
  readonly retryDelayMs?: number;
  /** `@connections` calls per second before 429s. @default SWITCHBOARD_LOCAL_CALLBACK_RPS, else no limit */
  readonly callbackRps?: number;
  /** @default none */
  readonly faults?: GatewayFaults;
  /**
   * Serves the fault plan at `/local/faults` and puts a proxy in front of DynamoDB (tests only).
   * @default SWITCHBOARD_LOCAL_FAULTS, else its default in docs/configuration.md
   */
  readonly faultInjection?: boolean;
  /** @default stderr, with debug lines when SWITCHBOARD_LOCAL_VERBOSE=true */
  readonly log?: LocalLog;
}

export interface LocalStackEndpoints {
  /** `ws://127.0.0.1:{port}/ws` */
  readonly websocket: string;
  /** `http://127.0.0.1:{port}/api/v1/auth` */
  readonly auth: string;
  /** The `@connections` endpoint to give the SDK: `http://127.0.0.1:{port}/ws` (the callback URL). */
  readonly management: string;
  /** `http://127.0.0.1:{port}` (PutEvents) */
  readonly eventBridge: string;
  /** `http://127.0.0.1:{port}`: SQS, serving the publish and dead-letter queues (`npm run redrive`). */
  readonly sqs: string;
  /** DynamoDB Local, or the configured endpoint. */
  readonly dynamodb: string;
  /** The test client page, `http://127.0.0.1:{port}/` (local only). */
  readonly testPage: string;
  /** The live dashboard, `http://127.0.0.1:{port}/admin` (local only; admin token required). */
  readonly dashboard: string;
  /** The fault plan, `http://127.0.0.1:{port}/local/faults`: only with fault injection on (tests). */
  readonly faults?: string;
}

export interface LocalStack {
  readonly port: number;
  readonly endpoints: LocalStackEndpoints;
  readonly tableName: string;
  readonly eventBusName: string;
  /** The region and credentials the stack's SDK clients use, for clients of the caller's own. */
  readonly aws: AwsClientConfig;
  /** The configuration the handlers were built from (endpoints, limits, auth), for tests and the bench. */
  readonly handlerConfig: Config;
  /** The WebSocket API: `connections`, `closeConnection(id, code)`, `faults`. */
  readonly gateway: WebSocketGateway;
  /** The event bus (`PutEvents`), whose rule puts events on the publish queue. */
  readonly eventBus: EventBridgeEndpoint;
  /** The publish queue, between the rule and the publish function (`lambdas/publish-pipeline.ts`). */
  readonly publishQueue: LocalQueue;
  /** Shard tasks of big channels and broadcasts, run by the fan-out workers. */
  readonly fanoutQueue: LocalQueue;
  /** The `@connections` quota, when `SWITCHBOARD_LOCAL_CALLBACK_RPS` sets one. */
  readonly callbackQuota: CallbackQuota | undefined;
  /** Events the publish function failed on `maxReceiveCount` times (and fan-out tasks likewise). */
  readonly deadLetterQueue: LocalQueue;
  /** Resolves once every event put so far is published or dead-lettered. */
  settled(): Promise<void>;
  /** The sweep's schedule: `runNow()` runs it without waiting for the next tick. */
  readonly sweep: Pick<SweepSchedule, 'runNow'>;
  /** The recent PutEvents entries and their delivery counts, as the dashboard shows them. */
  readonly activity: LocalActivity;
  /** The fault plan (`set`, `clear`, `state`), when fault injection is on; otherwise undefined. */
  readonly faults: LocalFaults | undefined;
  /** Lambda invocations, DynamoDB requests and messages by route so far (`GET /local/meter`). */
  readonly meter: LocalMeter;
  /** Stops everything this stack started (DynamoDB Local included). Idempotent. */
  close(): Promise<void>;
}

/** The gateway's faults: the ones given in the options, and the plan's `dropDisconnect`. */
function gatewayFaults(
  given: GatewayFaults | undefined,
  plan: LocalFaults | undefined,
): { faults?: GatewayFaults } {
  if (!plan) return given ? { faults: given } : {};
  return {
    faults: {
      dropDisconnect: (connectionId) =>
        given?.dropDisconnect?.(connectionId) === true ||
        plan.gatewayFaults.dropDisconnect?.(connectionId) === true,
    },
  };
}

const FANOUT_QUEUE_NAME = 'switchboard-fanout';

/** The id of the EventBridge event a queue message holds. */
/** A client publish as the message handler queued it (PROTOCOL §8), or undefined for anything else. */
function clientEnvelopeOf(body: string): EventEnvelope | undefined {
  try {
    const envelope = JSON.parse(body) as Partial<EventEnvelope> | null;
    if (envelope?.source !== CLIENT_EVENT_SOURCE || typeof envelope.id !== 'string') return undefined;
    if (typeof envelope.detail !== 'object' || envelope.detail === null) return undefined;
    return envelope as EventEnvelope;
  } catch {
    return undefined;
  }
}

function eventIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Listens on the stack's one port; a port in use is named with the variable that moves it. */
async function listen(server: Server, port: number): Promise<number> {
  try {
    return await listenOnLoopback(server, port, true);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw code === 'EADDRINUSE'
      ? new LocalStackError(`port ${port} is in use; set ${LOCAL_ENV.port}`)
      : new LocalStackError(`cannot listen on 127.0.0.1:${port}: ${message}`, { cause: error });
  }
}

function stopServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function refuseUpgrade(socket: Duplex, status: 404 | 503): void {
  const text = status === 404 ? 'Not Found' : 'Service Unavailable';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Each entry's handler: the injected one, else its module's `createHandler` given `handlerConfig`. */
async function loadHandlers(
  options: LocalStackOptions,
  handlerConfig: LocalHandlerConfig,
): Promise<(entry: string) => LambdaHandler> {
  const injected = options.handlers ?? {};
  const handlers = new Map<string, LambdaHandler>(Object.entries(injected));
  const dir = options.handlersDir ?? new URL('../lambdas/', import.meta.url);
  for (const spec of HANDLER_LIST) {
    if (handlers.has(spec.entry)) continue;
    const createHandler = await importHandlerFactory(dir, handlerFactoryModule(spec));
    handlers.set(spec.entry, await createHandler(handlerConfig.config, handlerConfig.env));
  }
  return (entry) => {
    const handler = handlers.get(entry);
    if (!handler) throw new LocalStackError(`no handler for ${entry}`);
    return handler;
  };
}

/**
 * Starts the local stack. Explicit options win over the environment (`LOCAL_ENV`), which wins
 * over the defaults. Rejects with a `LocalStackError` (one line, says what to do) on a port in
 * use, missing Java, a bad variable or a handler that cannot be loaded, after stopping whatever
 * it had started. Several stacks may run in one process (on different ports), each with its own
 * settings.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const settings = resolveSettings(options, env);
  const aws = localAws(env);
  const log = options.log ?? createLocalLog({ verbose: settings.verbose });

  // Bundled while DynamoDB Local starts; a failure is reported by the console, not fatal.
  const assets = buildWebAssets();
  assets.catch(() => undefined);

  let services: RequestHandler[] = [];
  let webConsole: WebConsole | undefined;
  let tableClient: DynamoDBClient | undefined;
  let gateway: WebSocketGateway | undefined;
  let eventBus: EventBridgeEndpoint | undefined;
  let publishSource: SqsEventSource | undefined;
  let fanoutSource: SqsEventSource | undefined;
  let sweep: SweepSchedule | undefined;
  let dynamodb: DynamoDbLocal | undefined;
  let dynamodbProxy: TcpProxy | undefined;
  let faults: LocalFaults | undefined;
  const meter = new LocalMeter();

  const guard = createRequestGuard({ corsPaths: [TOKEN_EXCHANGE_PATH] });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (guard.refuseRequest(req, res)) return;
    void (async () => {
      try {
        if (services.length === 0) return sendJson(res, 503, { message: 'The local stack is starting' });
        for (const service of services) if (await service(req, res)) return;
        sendJson(res, 404, { message: 'Not Found' });
      } catch (error) {
        log.error(`${req.method} ${req.url} failed`, error);
        if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
        else res.destroy();
      }
    })();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (guard.refuseUpgrade(req, socket)) return;
    if (!gateway) return refuseUpgrade(socket, 503);
    if (!gateway.handlesPath(req.url)) return refuseUpgrade(socket, 404);
    gateway.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await faults?.close().catch((error: unknown) => log.error('fault plan could not be cleared', error));
      await sweep?.close();
      webConsole?.close();
      await gateway?.close();
      eventBus?.close();
      await publishSource?.stop();
      await fanoutSource?.stop();
      services = [];
      await stopServer(server);
      tableClient?.destroy();
      await dynamodbProxy?.close();
      await dynamodb?.close();
      meter.close();
    })();
    return closing;
  };

  try {
    const port = await listen(server, settings.port);
    const base = `127.0.0.1:${port}`;
    const callbackUrl = `http://${base}/${settings.stage}`;
    dynamodb = await startDynamoDbLocal({
      tableName: settings.tableName,
      ...(settings.dynamodbEndpoint
        ? { endpoint: settings.dynamodbEndpoint }
        : { port: settings.dynamodbPort }),
      ...aws,
      log,
    });
    if (settings.faultInjection) {
      const target = new URL(dynamodb.endpoint);
      if (target.protocol !== 'http:') {
        throw new LocalStackError(
          `${LOCAL_ENV.localFaults}=1 needs a plain-HTTP DynamoDB endpoint to put its proxy in front of (got ${dynamodb.endpoint})`,
        );
      }
      // The handlers reach DynamoDB through the proxy, so that an outage can be played without
      // losing what DynamoDB Local holds in memory; the console and the tests read it directly.
      dynamodbProxy = await startTcpProxy({
        target: { host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port || 80) },
        log,
      });
      faults = new LocalFaults({ dynamodbProxy, log });
      log.warn(
        `fault injection is ON (${LOCAL_ENV.localFaults}=1, tests only): the plan is at http://${base}${FAULTS_PATH}`,
      );
    }
    const handlerConfig = localHandlerConfig(env, {
      callbackUrl,
      sqsEndpoint: `http://${base}`,
      fanoutQueueUrl: `http://${base}/${LOCAL_ACCOUNT}/${FANOUT_QUEUE_NAME}`,
      publishQueueUrl: `http://${base}/${LOCAL_ACCOUNT}/${LOCAL_QUEUE_NAMES.publish}`,
      dynamodbEndpoint: dynamodbProxy ? `http://127.0.0.1:${dynamodbProxy.port}` : dynamodb.endpoint,
      tableName: settings.tableName,
      idleTimeoutSeconds: settings.idleTimeoutSeconds,
      maxConnectionSeconds: settings.maxConnectionSeconds,
    });
    const { region } = aws;
    const handlerFor = await loadHandlers(options, handlerConfig);
    // The console checks admin tokens with the handlers' verifier, built from the same configuration.
    const { config } = handlerConfig;
    const verifier = await createVerifierFromConfig(config.auth);
    const activity = new LocalActivity();
    // Each function with the stack's timeout and reserved concurrency (lambdas/handlers.ts).
    const unmetered = (entry: string): LocalFunction => {
      const { timeoutSeconds, reservedConcurrency } = handlerSpec(entry);
      return createLocalFunction({
        name: `switchboard-${entry}`,
        handler: handlerFor(entry),
        timeoutMs:
          (entry === TRIGGER_ENTRIES.fanout ? options.fanoutTimeoutMs : undefined) ??
          options.functionTimeoutMs ??
          1000 * timeoutSeconds,
        ...(reservedConcurrency ? { reservedConcurrency } : {}),
        region,
        account: LOCAL_ACCOUNT,
      });
    };
    const fn = (entry: string): LocalFunction => meter.metered(unmetered(entry));

    gateway = new WebSocketGateway({
      functions: new Map(WEBSOCKET_ROUTES.map((route) => [route.routeKey, fn(route.entry)])),
      twoWayRoutes: new Set(WEBSOCKET_ROUTES.filter((route) => route.twoWay).map((route) => route.routeKey)),
      mockRoutes: new Map(MOCK_ROUTES.map((route) => [route.routeKey, route.requestTemplate])),
      stage: settings.stage,
      idleTimeoutSeconds: settings.idleTimeoutSeconds,
      maxConnectionSeconds: settings.maxConnectionSeconds,
      ...gatewayFaults(options.faults, faults),
      observer: {
        connectionChanged: () => activity.changed(),
        messageHandled: (_id, routeKey) => {
          meter.message(routeKey);
          activity.changed();
        },
      },
      log,
    });
    const quota = settings.callbackRps ? new CallbackQuota(settings.callbackRps) : undefined;
    // The publish pipeline (lambdas/publish-pipeline.ts): rule -> queue -> event source -> function.
    const deadLetterQueue = new LocalQueue({
      name: LOCAL_QUEUE_NAMES.deadLetters,
      region,
      account: LOCAL_ACCOUNT,
      onSend: (body) => {
        const eventId = eventIdOf(body);
        if (eventId) activity.settled(eventId, 'failed');
        log.error(`event ${eventId ?? '(unreadable)'} moved to the dead-letter queue`);
      },
    });
    const publishQueue = new LocalQueue({
      name: LOCAL_QUEUE_NAMES.publish,
      region,
      account: LOCAL_ACCOUNT,
      // Client publishes reach the queue without the bus: the dashboard lists them too.
      onSend: (body) => {
        const envelope = clientEnvelopeOf(body);
        if (envelope) activity.accepted(envelope, 'publishing');
      },
      deadLetter: { queue: deadLetterQueue, maxReceiveCount: PUBLISH_PIPELINE.maxReceiveCount },
    });
    const publish = fn(TRIGGER_ENTRIES.publish);
    publishSource = new SqsEventSource({
      queue: publishQueue,
      fn: faults ? faults.wrapPublish(publish) : publish,
      batchSize: PUBLISH_PIPELINE.batchSize,
      maxConcurrency: PUBLISH_PIPELINE.reservedConcurrency,
      retryDelayMs: settings.retryDelayMs,
      region,
      onBatch: (records, failed) => {
        for (const record of records) {
          const eventId = eventIdOf(record.body);
          if (!failed.has(record.messageId)) {
            if (eventId) activity.settled(eventId, 'published');
          } else if (record.receiveCount < PUBLISH_PIPELINE.maxReceiveCount) {
            log.warn(
              `publish of event ${eventId ?? record.messageId} failed (receive ${record.receiveCount}); retrying in ${settings.retryDelayMs} ms`,
            );
          }
        }
      },
      log,
    });
    // Big channels and broadcasts: publish queues shard tasks, fan-out workers run them.
    const fanoutQueue = new LocalQueue({
      name: FANOUT_QUEUE_NAME,
      region,
      account: LOCAL_ACCOUNT,
      deadLetter: { queue: deadLetterQueue, maxReceiveCount: FANOUT_PIPELINE.maxReceiveCount },
    });
    fanoutSource = new SqsEventSource({
      queue: fanoutQueue,
      fn: fn(TRIGGER_ENTRIES.fanout),
      batchSize: FANOUT_PIPELINE.batchSize,
      maxConcurrency: FANOUT_PIPELINE.reservedConcurrency,
      retryDelayMs: settings.retryDelayMs,
      region,
      log,
    });
    const sources = [publishSource, fanoutSource];
    eventBus = new EventBridgeEndpoint({
      target: publishQueue,
      busName: settings.eventBusName,
      // The rule the stack deploys, from the same settings the publish handler checks again.
      pattern: switchboardEventPattern(config.publishers),
      region,
      account: LOCAL_ACCOUNT,
      observer: activity,
      log,
    });
    const httpApi = createHttpApi({
      routes: new Map([[`POST ${TOKEN_EXCHANGE_PATH}`, fn(TRIGGER_ENTRIES.auth)]]),
      allowedOrigins: settings.tokenExchangeCorsOrigins,
      account: LOCAL_ACCOUNT,
      log,
    });
    sweep = startSweepSchedule({
      sweep: fn(TRIGGER_ENTRIES.sweep),
      intervalSeconds: settings.sweepIntervalSeconds,
      region,
      account: LOCAL_ACCOUNT,
      log,
    });
    tableClient = new DynamoDBClient({ endpoint: dynamodb.endpoint, ...aws });
    const consoleTable = DynamoDBDocumentClient.from(tableClient, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const { secret, issuer, audience } = config.auth;
    webConsole = createWebConsole({
      assets,
      verifier,
      ...(secret
        ? {
            minting: {
              sign: (identity, ttlSeconds) =>
                signToken({
                  secret,
                  identity,
                  ttlSeconds,
                  ...(issuer ? { issuer } : {}),
                  ...(audience ? { audience } : {}),
                }),
              maxLifetimeSeconds: config.auth.maxTokenLifetimeSeconds,
            },
          }
        : {}),
      connections: () => gateway?.connections ?? new Map(),
      store: new DynamoConnectionStore(consoleTable, settings.tableName),
      presence: {
        store: new DynamoPresenceStore(consoleTable, settings.tableName),
        policy: config.presencePolicy ?? [],
      },
      activity,
      log,
    });
    services = [
      ...(faults ? [createFaultRoute(faults)] : []),
      createMeterRoute(meter),
      createManagementApi({
        gateway,
        ...(quota ? { quota } : {}),
        onPost: (_id, body, delivered) => activity.posted(body, delivered),
        ...(faults ? { faults } : {}),
        log,
      }),
      eventBus.handle,
      createSqsEndpoint({
        queues: [publishQueue, fanoutQueue, deadLetterQueue],
        baseUrl: () => `http://${base}`,
        account: LOCAL_ACCOUNT,
      }),
      httpApi,
      webConsole.handle,
    ];

    const stack: LocalStack = {
      port,
      endpoints: {
        websocket: `ws://${base}/${settings.stage}`,
        auth: `http://${base}${TOKEN_EXCHANGE_PATH}`,
        management: callbackUrl,
        eventBridge: `http://${base}`,
        sqs: `http://${base}`,
        dynamodb: dynamodb.endpoint,
        testPage: `http://${base}/`,
        dashboard: `http://${base}/admin`,
        ...(faults ? { faults: `http://${base}${FAULTS_PATH}` } : {}),
      },
      tableName: settings.tableName,
      eventBusName: settings.eventBusName,
      aws,
      handlerConfig: config,
      gateway,
      eventBus,
      publishQueue,
      deadLetterQueue,
      fanoutQueue,
      callbackQuota: quota,
      // A fan-out task may queue more (a continuation, a retry): drained until both are quiet.
      settled: async () => {
        do await Promise.all(sources.map((source) => source.drained()));
        while (sources.some((source) => !source.idle));
      },
      sweep,
      activity,
      faults,
      meter,
      close,
    };
    if (faults && settings.faultPlan) await faults.set(settings.faultPlan);
    return stack;
  } catch (error) {
    await close();
    throw error;
  }
}
