/**
 * `SwitchboardApi`: everything one Switchboard deployment needs, as a facade over its parts.
 *
 *   SwitchboardApi
 *   ├── State          SwitchboardState          table, HS256 secret, dead-letter queue
 *   ├── WebSocket      SwitchboardWebSocket      WebSocket API, stage, access logs, domain, routes
 *   ├── FanoutPipeline FanoutPipeline            fan-out queue (big channels, broadcasts)
 *   ├── Handlers       SwitchboardHandlers       one function per handler, with its grants
 *   ├── TokenExchange  SwitchboardTokenExchange  HTTP API of POST /api/v1/auth
 *   ├── Publishing     SwitchboardPublishing     event bus, publish rule, PublishPipeline
 *   ├── Sweep          SwitchboardSweep          the sweep schedule
 *   ├── FrontDoor      SwitchboardFrontDoor      CloudFront + WAF (optional)
 *   └── Monitoring     SwitchboardMonitoring     alarms, dashboard
 *
 * The parts other than the three older ones (FanoutPipeline, FrontDoor, Monitoring) build their
 * resources beside themselves, in this construct's scope, where they were before the split: their
 * logical ids, and so the deployed table, queues, APIs and secret, stay (`SwitchboardPart`,
 * test/infra/logical-ids.test.ts).
 *
 * Every handler is the very file the local stack runs (`lambdas/{entry}.ts`), configured through
 * the environment variables of `adapters/config.ts` and nothing else.
 */
import { Stack, Token } from 'aws-cdk-lib';
import type {
  DomainName,
  HttpApi,
  HttpStage,
  WebSocketApi,
  WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { HANDLER_LIST, TRIGGER_ENTRIES, WEBSOCKET_ROUTES } from '../lambdas/handlers.js';
import { missingHandlerEntries, PREBUILT_HANDLERS, PREBUILT_HANDLERS_DIR } from './bundling.js';
import { FanoutPipeline } from './fanout-pipeline.js';
import { CLOUDFRONT_WAF_REGION, SwitchboardFrontDoor } from './front-door.js';
import { handlerEnvironment } from './handler-environment.js';
import type { HandlerFunction } from './handler-function.js';
import { SwitchboardPublishing } from './publishing.js';
import { SwitchboardSweep } from './sweep-schedule.js';
import {
  type ResolvedSwitchboardApiProps,
  resolveSwitchboardApiProps,
  type SwitchboardApiProps,
  SwitchboardPropsError,
} from './switchboard-api-props.js';
import { SwitchboardHandlers } from './switchboard-handlers.js';
import { SwitchboardMonitoring } from './switchboard-monitoring.js';
import { SwitchboardState } from './switchboard-state.js';
import { SwitchboardTokenExchange } from './token-exchange.js';
import { SwitchboardWebSocket } from './websocket-endpoint.js';

export { AUTH_ROUTE_PATH, HTTP_ACCESS_LOG_FIELDS } from './token-exchange.js';
export { WEBSOCKET_ACCESS_LOG_FIELDS } from './websocket-endpoint.js';

/**
 * A front door that creates its web ACL needs a stack in us-east-1 (CLOUDFRONT web ACLs live
 * there): refused at synth when the region is known and another one.
 */
function checkFrontDoorRegion(scope: Construct, config: ResolvedSwitchboardApiProps): void {
  if (!config.frontDoor || config.frontDoor.webAclArn !== undefined) return;
  const { region } = Stack.of(scope);
  if (!Token.isUnresolved(region) && region !== CLOUDFRONT_WAF_REGION) {
    throw new SwitchboardPropsError(
      `SwitchboardApi: frontDoor creates a CLOUDFRONT web ACL, which exists only in ${CLOUDFRONT_WAF_REGION}: deploy the stack there, or pass frontDoor.webAclArn, a web ACL made in ${CLOUDFRONT_WAF_REGION} (received region ${JSON.stringify(region)})`,
    );
  }
}

/**
 * A Switchboard deployment as other constructs see it: where clients connect, where services
 * publish, and the permissions a service or an operator needs around it. Each `grant*` method
 * adds a statement to the grantee's policy and returns it as an `iam.Grant`, as the `grant*`
 * methods of `aws-cdk-lib` do.
 */
export interface ISwitchboardApi extends IConstruct {
  /** `wss://…/{stage}`: where clients connect. */
  readonly webSocketUrl: string;
  /** The management API (`@connections`) endpoint of the WebSocket stage. */
  readonly callbackUrl: string;
  /** The token exchange, `POST` with `Authorization: Bearer <jwt>` (PROTOCOL §1). */
  readonly authUrl: string;
  /** The name of the bus to `PutEvents` to. */
  readonly eventBusName: string;

  /**
   * Lets `grantee` publish: `events:PutEvents` on the bus the publish rule listens to, and with
   * `sources`, only entries whose `Source` is one of them (the `events:source` condition key,
   * "Using IAM policy conditions in Amazon EventBridge"), so a service cannot pose as another.
   * (Only entries with a `channel`, `channels` or `broadcast`, from an accepted source and to a
   * tenant it is bound to, reach subscribers.)
   *
   * @param sources - the `Source` values allowed; at least one, each among `eventSources` when the
   *   stack lists them (a `SwitchboardPropsError` otherwise: the rule would drop their events)
   * @default sources - any source
   */
  grantPublish(grantee: IGrantable, sources?: readonly string[]): Grant;

  /**
   * Lets `grantee` call the management API of the WebSocket stage: `execute-api:ManageConnections`
   * on `{api-id}/{stage}/{any method}/@connections/{any connection}`, the ARN format of "Control
   * access to WebSocket APIs with IAM authorization" (API Gateway developer guide): POST sends to a
   * connection, GET reads its status, DELETE closes it. For a service that answers a connection
   * directly instead of publishing to a channel; the handlers get this same grant.
   */
  grantManageConnections(grantee: IGrantable): Grant;

  /**
   * Lets `grantee` read the HS256 key (`secretsmanager:GetSecretValue` and `DescribeSecret` on the
   * auth secret): for a service that mints the HS256 tokens clients connect with. A service that
   * only verifies tokens by JWKS needs nothing here.
   */
  grantReadAuthSecret(grantee: IGrantable): Grant;

  /**
   * Lets `grantee` redrive dead letters (`npm run redrive -- --aws`, cli/dead-letters.ts): consume
   * the dead-letter queue (`sqs:ReceiveMessage`, `DeleteMessage`, `ChangeMessageVisibility`,
   * `GetQueueUrl`, `GetQueueAttributes`) and send to the publish queue (`sqs:SendMessage`,
   * `GetQueueUrl`, `GetQueueAttributes`). Both queues use SQS-managed encryption: no KMS grant.
   */
  grantRedrive(grantee: IGrantable): Grant;
}

export class SwitchboardApi extends Construct implements ISwitchboardApi {
  /** The props after defaults, as deployed. */
  readonly config: ResolvedSwitchboardApiProps;
  readonly table: Table;
  readonly webSocketApi: WebSocketApi;
  readonly stage: WebSocketStage;
  /** The WebSocket routes, by route key. */
  readonly routes: Readonly<Record<string, WebSocketRoute>>;
  readonly httpApi: HttpApi;
  readonly httpStage: HttpStage;
  readonly authSecret: ISecret | Secret;
  readonly eventBus: IEventBus;
  readonly publishRule: Rule;
  /** Events the publish rule matched, waiting for the publish handler (batches of 10). */
  readonly publishQueue: Queue;
  /** The fan-out queue and its workers' event source (big channels and broadcasts). */
  readonly fanout: FanoutPipeline;
  readonly sweepRule: Rule;
  /**
   * Events EventBridge could not put on the publish queue, and queued events the publish handler
   * failed `PUBLISH_PIPELINE.maxReceiveCount` times. Redrive them to `publishQueue`.
   */
  readonly deadLetterQueue: Queue;
  /** Every handler, by entry name (`lambdas/handlers.ts`). */
  readonly handlers: Readonly<Record<string, HandlerFunction>>;
  /** The environment every handler gets (the `ENV` names of `adapters/config.ts`). */
  readonly environment: Readonly<Record<string, string>>;
  readonly domainName?: DomainName;
  /** CloudFront and WAF in front of the WebSocket API, when `frontDoor` is set. */
  readonly frontDoor?: SwitchboardFrontDoor;
  readonly monitoring: SwitchboardMonitoring;

  private readonly webSocket: SwitchboardWebSocket;
  private readonly tokenExchange: SwitchboardTokenExchange;
  private readonly publishing: SwitchboardPublishing;

  constructor(scope: Construct, id: string, props: SwitchboardApiProps = {}) {
    // Validated before anything joins the construct tree: a bad prop leaves no half-built construct.
    const config = resolveSwitchboardApiProps(props);
    checkFrontDoorRegion(scope, config);
    checkHandlerFiles();
    super(scope, id);
    this.config = config;
    const { logRetention, removalPolicy } = config;

    const state = new SwitchboardState(this, 'State', {
      removalPolicy,
      ...(config.auth.secret ? { authSecret: config.auth.secret } : {}),
    });
    this.table = state.table;
    this.authSecret = state.authSecret;
    this.deadLetterQueue = state.deadLetterQueue;

    this.webSocket = new SwitchboardWebSocket(this, 'WebSocket', {
      stageName: config.stageName,
      throttle: config.throttle,
      routeThrottle: config.routeThrottle,
      logRetention,
      removalPolicy,
      ...(config.domain ? { domain: config.domain } : {}),
      apiGatewayCloudWatchRole: config.apiGatewayCloudWatchRole,
    });
    this.webSocketApi = this.webSocket.api;
    this.stage = this.webSocket.stage;
    if (this.webSocket.domainName) this.domainName = this.webSocket.domainName;

    this.fanout = new FanoutPipeline(this, 'FanoutPipeline', { deadLetterQueue: this.deadLetterQueue });

    this.environment = handlerEnvironment({
      tableName: this.table.tableName,
      callbackUrl: this.stage.callbackUrl,
      authSecretArn: this.authSecret.secretArn,
      fanoutQueueUrl: this.fanout.queue.queueUrl,
      config,
    });
    const handlers = new SwitchboardHandlers(this, 'Handlers', {
      environment: this.environment,
      logRetention,
      removalPolicy,
      publishReservedConcurrency: config.publishReservedConcurrency,
      table: this.table,
      authSecret: this.authSecret,
      fanoutQueue: this.fanout.queue,
      webSocket: this.webSocket,
    });
    this.handlers = handlers.byEntry;
    const fn = (entry: string) => handlers.functionOf(entry);

    this.webSocket.route(fn);
    this.routes = this.webSocket.routes;

    this.tokenExchange = new SwitchboardTokenExchange(this, 'TokenExchange', {
      authFunction: fn(TRIGGER_ENTRIES.auth),
      corsOrigins: config.tokenExchangeCorsOrigins,
      logRetention,
      removalPolicy,
    });
    this.httpApi = this.tokenExchange.api;
    this.httpStage = this.tokenExchange.stage;

    this.publishing = new SwitchboardPublishing(this, 'Publishing', {
      ...(config.eventBus ? { eventBus: config.eventBus } : {}),
      ...(config.eventSources ? { eventSources: config.eventSources } : {}),
      ...(config.sourceTenants ? { sourceTenants: config.sourceTenants } : {}),
      publishFunction: fn(TRIGGER_ENTRIES.publish),
      deadLetterQueue: this.deadLetterQueue,
      maxEventAge: config.maxEventAge,
      maxConcurrency: config.publishReservedConcurrency,
    });
    this.eventBus = this.publishing.eventBus;
    this.publishRule = this.publishing.rule;
    this.publishQueue = this.publishing.pipeline.queue;
    this.fanout.consumeWith(fn(TRIGGER_ENTRIES.fanout));
    handlers.sendToPublishQueue(this.publishQueue);

    this.sweepRule = new SwitchboardSweep(this, 'Sweep', {
      sweepFunction: fn(TRIGGER_ENTRIES.sweep),
      period: config.sweepPeriod,
    }).rule;

    // CloudFront + WAF: a rate limit per client IP before API Gateway.
    if (config.frontDoor) {
      this.frontDoor = new SwitchboardFrontDoor(this, 'FrontDoor', {
        webSocketApi: this.webSocketApi,
        stageName: config.stageName,
        ...config.frontDoor,
      });
    }

    this.monitoring = new SwitchboardMonitoring(this, 'Monitoring', {
      serviceName: config.serviceName,
      functions: Object.fromEntries(HANDLER_LIST.map(({ entry }) => [entry, fn(entry)])),
      routeFunctions: Object.fromEntries(WEBSOCKET_ROUTES.map(({ entry }) => [entry, fn(entry)])),
      publishFunction: fn(TRIGGER_ENTRIES.publish),
      publishQueue: this.publishQueue,
      publishRule: this.publishRule,
      eventBus: this.eventBus,
      deadLetterQueue: this.deadLetterQueue,
      table: this.table,
      tableIndexNames: state.tableIndexes.map((index) => index.indexName),
      webSocketStage: this.stage,
      httpApi: this.httpApi,
      ...(config.alarmTopic ? { alarmTopic: config.alarmTopic } : {}),
      dashboard: config.dashboard,
    });
  }

  /**
   * `wss://…/{stage}`: the front door's distribution or the custom domain when one is configured,
   * the execute-api endpoint otherwise.
   */
  get webSocketUrl(): string {
    if (this.frontDoor) return this.frontDoor.webSocketUrl(this.config.stageName);
    return this.config.domain
      ? `wss://${this.config.domain.domainName}/${this.config.stageName}`
      : this.stage.url;
  }

  /** The management API (`@connections`) endpoint: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  get callbackUrl(): string {
    return this.stage.callbackUrl;
  }

  /** `https://{http-api}.execute-api.{region}.amazonaws.com/api/v1/auth`. */
  get authUrl(): string {
    return this.tokenExchange.url;
  }

  /** The name of the bus to `PutEvents` to. */
  get eventBusName(): string {
    return this.eventBus.eventBusName;
  }

  /** {@inheritDoc ISwitchboardApi.grantPublish} */
  grantPublish(grantee: IGrantable, sources?: readonly string[]): Grant {
    return this.publishing.grantPublish(grantee, sources);
  }

  /** {@inheritDoc ISwitchboardApi.grantManageConnections} */
  grantManageConnections(grantee: IGrantable): Grant {
    return this.webSocket.grantManageConnections(grantee);
  }

  /** {@inheritDoc ISwitchboardApi.grantReadAuthSecret} */
  grantReadAuthSecret(grantee: IGrantable): Grant {
    return this.authSecret.grantRead(grantee);
  }

  /** {@inheritDoc ISwitchboardApi.grantRedrive} */
  grantRedrive(grantee: IGrantable): Grant {
    return this.deadLetterQueue
      .grantConsumeMessages(grantee)
      .combine(this.publishQueue.grantSendMessages(grantee));
  }
}

/** Every handler file named in `lambdas/handlers.ts` exists (or its bundle, in the package). */
function checkHandlerFiles(): void {
  const missing = missingHandlerEntries(HANDLER_LIST.map((spec) => spec.entry));
  if (missing.length === 0) return;
  throw new SwitchboardPropsError(
    PREBUILT_HANDLERS
      ? `SwitchboardApi: the package ships no handler bundle for ${missing.join(', ')} under ${PREBUILT_HANDLERS_DIR} (rebuild it with npm run packages:build)`
      : `SwitchboardApi: handler files missing under lambdas/ (named in lambdas/handlers.ts): ${missing.map((e) => `${e}.ts`).join(', ')}`,
  );
}
