/**
 * `SwitchboardApi`: everything one Switchboard deployment needs. A WebSocket API (routes from
 * `lambdas/handlers.ts`), the token-exchange HTTP API, the DynamoDB table (from
 * `adapters/table-schema.ts`), the EventBridge rule (from `adapters/event-pattern.ts`) whose events
 * reach the publish handler through the publish queue (`PublishPipeline`), the sweep schedule,
 * alarms and a dashboard.
 *
 * Every handler is the very file the local stack runs (`lambdas/{entry}.ts`), configured through
 * the environment variables of `adapters/config.ts` and nothing else.
 */
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  WebSocketApi,
  type WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpLambdaIntegration,
  WebSocketLambdaIntegration,
  WebSocketMockIntegration,
} from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type EventPattern, type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant, type IGrantable, ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../adapters/config.js';
import { switchboardEventPattern } from '../adapters/event-pattern.js';
import {
  HANDLER_LIST,
  MOCK_ROUTES,
  ROUTE_SELECTION_EXPRESSION,
  TRIGGER_ENTRIES,
  WEBSOCKET_ROUTES,
} from '../lambdas/handlers.js';
import { missingHandlerEntries, PREBUILT_HANDLERS, PREBUILT_HANDLERS_DIR } from './bundling.js';
import { FanoutPipeline } from './fanout-pipeline.js';
import { CLOUDFRONT_WAF_REGION, SwitchboardFrontDoor } from './front-door.js';
import { handlerEnvironment } from './handler-environment.js';
import { HandlerFunction } from './handler-function.js';
import { acknowledge, acknowledgeGrantWildcards } from './nag.js';
import { PublishPipeline } from './publish-pipeline.js';
import {
  type ResolvedSwitchboardApiProps,
  resolveSwitchboardApiProps,
  type SwitchboardApiProps,
  SwitchboardPropsError,
} from './switchboard-api-props.js';
import { SwitchboardMonitoring } from './switchboard-monitoring.js';
import { tableDefinition } from './table-definition.js';

/** The path of the token exchange on the HTTP API (PROTOCOL §1). */
export const AUTH_ROUTE_PATH = '/api/v1/auth';

/** The JSON access log of the WebSocket stage. No query string: browsers send `?token=` there. */
export const WEBSOCKET_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: AccessLogField.contextRequestId(),
  extendedRequestId: AccessLogField.contextExtendedRequestId(),
  requestTime: AccessLogField.contextRequestTime(),
  eventType: AccessLogField.contextEventType(),
  routeKey: AccessLogField.contextRouteKey(),
  connectionId: AccessLogField.contextConnectionId(),
  status: AccessLogField.contextStatus(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  userAgent: AccessLogField.contextIdentityUserAgent(),
  integrationLatency: AccessLogField.contextIntegrationLatency(),
  error: AccessLogField.contextErrorMessage(),
  integrationError: '$context.integration.error',
};

/** The JSON access log of the token exchange. The route key, never the path or query string. */
export const HTTP_ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: AccessLogField.contextRequestId(),
  requestTime: AccessLogField.contextRequestTime(),
  routeKey: AccessLogField.contextRouteKey(),
  status: AccessLogField.contextStatus(),
  protocol: AccessLogField.contextProtocol(),
  responseLength: AccessLogField.contextResponseLength(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  userAgent: AccessLogField.contextIdentityUserAgent(),
  integrationLatency: AccessLogField.contextIntegrationLatency(),
  integrationError: '$context.integrationErrorMessage',
};

/** Why each cdk-nag finding this construct leaves is acceptable (test/infra lists them all). */
export const NAG_REASONS = {
  tableIndexes:
    'CDK table grants cover the table and its indexes (<table>/index/*); the table has one index, `sweep` (keys only), and no other table is reachable.',
  connections:
    "ManageConnections on this stage's @connections only: connection ids exist only at run time, and the method segment covers POST (send), GET (status) and DELETE (close).",
  runtime:
    'Node.js 22 is pinned on purpose: bundles target node22 and the local stack runs the same handlers; a runtime upgrade is a tested change in lib/bundling.ts, not a drift.',
  connect:
    'The $connect handler authenticates: the JWT may come in the query string, the Authorization header or Sec-WebSocket-Protocol, and the handshake must answer the chosen subprotocol and tell 401 from 403, which a Lambda authorizer cannot do.',
  message:
    'API Gateway authenticates a WebSocket connection once, at $connect (authorizers attach to $connect only); this route only receives frames from connections the $connect handler admitted.',
  tokenExchange:
    'The token exchange is the authentication step: its handler verifies the bearer token (HS256 or JWKS, iss/aud, lifetime cap) and answers 401; an authorizer would only verify the same token twice.',
  rotation:
    'The HS256 key is shared with the services that mint tokens and read once at init by the handlers; automatic rotation would break every issuer at once. Rotation is a coordinated manual procedure (docs/deploy.md).',
  apiGatewayLogsRole:
    'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for the API Gateway account logging role; API Gateway names its log groups itself, so they cannot be listed in advance.',
} as const;

/** The token exchange is called once per connection: throttle it like `$connect`. */
const AUTH_API_THROTTLE = { rateLimit: 100, burstLimit: 200 };

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

const pascal = (entry: string) => entry.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase());

export class SwitchboardApi extends Construct {
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

  constructor(scope: Construct, id: string, props: SwitchboardApiProps = {}) {
    // Validated before anything joins the construct tree: a bad prop leaves no half-built construct.
    const config = resolveSwitchboardApiProps(props);
    checkFrontDoorRegion(scope, config);
    super(scope, id);
    this.config = config;

    const entries = HANDLER_LIST.map((spec) => spec.entry);
    const missing = missingHandlerEntries(entries);
    if (missing.length > 0) {
      throw new SwitchboardPropsError(
        PREBUILT_HANDLERS
          ? `SwitchboardApi: the package ships no handler bundle for ${missing.join(', ')} under ${PREBUILT_HANDLERS_DIR} (rebuild it with npm run packages:build)`
          : `SwitchboardApi: handler files missing under lambdas/ (named in lambdas/handlers.ts): ${missing.map((e) => `${e}.ts`).join(', ')}`,
      );
    }

    // ---- State: table, secret, dead-letter queue --------------------------------------------
    const { timeToLiveAttribute, globalSecondaryIndexes, ...keys } = tableDefinition();
    this.table = new Table(this, 'Table', {
      ...keys,
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: config.removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy: config.removalPolicy,
    });
    for (const index of globalSecondaryIndexes) this.table.addGlobalSecondaryIndex(index);

    if (config.auth.secret) {
      this.authSecret = config.auth.secret;
    } else {
      const generated = new Secret(this, 'AuthSecret', {
        description:
          'Switchboard HS256 key: verifies HS256 tokens and signs the short tokens of /api/v1/auth',
        // 64 alphanumerics: 64 bytes, twice what HS256 needs, and safe to paste into a shell.
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: config.removalPolicy,
      });
      acknowledge(generated, 'AwsSolutions-SMG4', NAG_REASONS.rotation);
      this.authSecret = generated;
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: config.removalPolicy,
    });
    // No AwsSolutions-SQS3 finding: cdk-nag sees this queue as the publish queue's redrive target.

    // ---- WebSocket API and stage -------------------------------------------------------------
    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      description: 'Switchboard WebSocket pub/sub',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    const accessLogGroup = new LogGroup(this, 'WebSocketAccessLogs', {
      retention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    if (config.domain) {
      this.domainName = new DomainName(this, 'DomainName', {
        domainName: config.domain.domainName,
        certificate: config.domain.certificate,
      });
    }
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: config.stageName,
      description: 'Switchboard WebSocket stage',
      autoDeploy: true,
      throttle: config.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(WEBSOCKET_ACCESS_LOG_FIELDS)),
      },
      // Mapped under the stage name, so the path is `/ws` on every endpoint, local one included.
      ...(this.domainName
        ? { domainMapping: { domainName: this.domainName, mappingKey: config.stageName } }
        : {}),
    });

    // WebSocket access logging needs the account's API Gateway CloudWatch Logs role (HTTP APIs do not).
    if (config.apiGatewayCloudWatchRole) {
      const logsRole = new Role(this, 'ApiGatewayCloudWatchRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        description: 'Lets API Gateway write access logs to CloudWatch Logs (account setting)',
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: logsRole.roleArn });
      // An account-wide setting other APIs may rely on: kept when the stack is deleted.
      logsRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
      account.applyRemovalPolicy(RemovalPolicy.RETAIN);
      this.stage.node.addDependency(account);
      acknowledge(
        logsRole,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        NAG_REASONS.apiGatewayLogsRole,
      );
    }

    // ---- Fan-out queue (big channels and broadcasts) -------------------------------------------
    this.fanout = new FanoutPipeline(this, 'FanoutPipeline', { deadLetterQueue: this.deadLetterQueue });

    // ---- Handlers ----------------------------------------------------------------------------
    const environment = handlerEnvironment({
      tableName: this.table.tableName,
      callbackUrl: this.stage.callbackUrl,
      authSecretArn: this.authSecret.secretArn,
      fanoutQueueUrl: this.fanout.queue.queueUrl,
      config,
    });
    this.environment = environment;

    const handlers: Record<string, HandlerFunction> = {};
    for (const { entry, access, timeoutSeconds, memorySize, reservedConcurrency } of HANDLER_LIST) {
      const handler = new HandlerFunction(this, `${pascal(entry)}Handler`, {
        entry,
        environment,
        logRetention: config.logRetention,
        removalPolicy: config.removalPolicy,
        // The local runtime enforces the same timeouts and concurrency (lambdas/handlers.ts).
        timeout: Duration.seconds(timeoutSeconds),
        memorySize,
        ...(entry === TRIGGER_ENTRIES.publish
          ? { reservedConcurrentExecutions: config.publishReservedConcurrency }
          : reservedConcurrency !== undefined
            ? { reservedConcurrentExecutions: reservedConcurrency }
            : {}),
      });
      const fn = handler.function;
      if (access.table !== 'none') {
        const grant =
          access.table === 'write' ? this.table.grantWriteData(fn) : this.table.grantReadWriteData(fn);
        acknowledgeGrantWildcards(grant, handler.role, NAG_REASONS.tableIndexes);
      }
      if (access.secret) this.authSecret.grantRead(fn);
      if (access.fanoutQueue) this.fanout.queue.grantSendMessages(fn);
      if (access.manageConnections) {
        acknowledgeGrantWildcards(
          this.stage.grantManagementApiAccess(fn),
          handler.role,
          NAG_REASONS.connections,
        );
      }
      acknowledge(fn, 'AwsSolutions-L1', NAG_REASONS.runtime);
      handlers[entry] = handler;
    }
    this.handlers = handlers;
    const fn = (entry: string): HandlerFunction['function'] => (handlers[entry] as HandlerFunction).function;

    // ---- Routes ------------------------------------------------------------------------------
    const routes: Record<string, WebSocketRoute> = {};
    for (const { routeKey, entry, twoWay } of WEBSOCKET_ROUTES) {
      const integration = new WebSocketLambdaIntegration(`${pascal(entry)}Integration`, fn(entry));
      const created = this.webSocketApi.addRoute(routeKey, { integration, returnResponse: twoWay });
      acknowledge(
        created,
        'AwsSolutions-APIG4',
        routeKey === '$connect' ? NAG_REASONS.connect : NAG_REASONS.message,
      );
      routes[routeKey] = created;
    }
    // Routes API Gateway answers itself: no function, no table, one-way (no route response).
    for (const { routeKey, requestTemplate } of MOCK_ROUTES) {
      const created = this.webSocketApi.addRoute(routeKey, {
        integration: new WebSocketMockIntegration(`${pascal(routeKey)}Integration`, {
          // `$default` is the catch-all template key, and `\$default` the static expression that
          // selects it ("WebSocket selection expressions", API Gateway developer guide).
          requestTemplates: { $default: requestTemplate },
          templateSelectionExpression: '\\$default',
        }),
      });
      acknowledge(created, 'AwsSolutions-APIG4', NAG_REASONS.message);
      routes[routeKey] = created;
    }
    this.routes = routes;
    // Route settings name routes that must exist before the stage refers to them.
    for (const r of Object.values(routes)) this.stage.node.addDependency(r);
    const routeSettings = Object.fromEntries(
      Object.entries(config.routeThrottle).map(([routeKey, t]) => [
        routeKey,
        {
          ...(t.rateLimit !== undefined ? { ThrottlingRateLimit: t.rateLimit } : {}),
          ...(t.burstLimit !== undefined ? { ThrottlingBurstLimit: t.burstLimit } : {}),
        },
      ]),
    );
    if (Object.keys(routeSettings).length > 0)
      (this.stage.node.defaultChild as CfnStage).routeSettings = routeSettings;

    // ---- Token exchange (HTTP API) -------------------------------------------------------------
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Switchboard token exchange',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [...config.tokenExchangeCorsOrigins],
        allowMethods: [CorsHttpMethod.POST],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.hours(1),
      },
    });
    const httpAccessLogGroup = new LogGroup(this, 'HttpAccessLogs', {
      retention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.httpStage = new HttpStage(this, 'HttpStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: AUTH_API_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(httpAccessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
      },
    });
    for (const authRoute of this.httpApi.addRoutes({
      path: AUTH_ROUTE_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('AuthIntegration', fn(TRIGGER_ENTRIES.auth)),
    })) {
      acknowledge(authRoute, 'AwsSolutions-APIG4', NAG_REASONS.tokenExchange);
    }

    // ---- Publishing: EventBridge rule -> publish queue -> publish handler -----------------------
    // Publishing is explicit: a bus of its own, on which only granted principals can put events.
    this.eventBus =
      config.eventBus ??
      // (A cast: CDK's own types do not follow exactOptionalPropertyTypes.)
      (new EventBus(this, 'EventBus', {
        description: 'Switchboard: PutEvents here to publish',
      }) as IEventBus);
    const publish = fn(TRIGGER_ENTRIES.publish);
    this.publishRule = new Rule(this, 'PublishRule', {
      eventBus: this.eventBus,
      description: 'Switchboard: events with a channel (or channels) go to the publish handler',
      // The local PutEvents endpoint applies the same pattern (adapters/event-pattern.ts).
      eventPattern: switchboardEventPattern({
        ...(config.eventSources ? { sources: config.eventSources } : {}),
        ...(config.sourceTenants ? { sourceTenants: config.sourceTenants } : {}),
      }) as EventPattern,
    });
    const pipeline = new PublishPipeline(this, 'PublishPipeline', {
      rule: this.publishRule,
      publishFunction: publish,
      deadLetterQueue: this.deadLetterQueue,
      maxEventAge: config.maxEventAge,
      maxConcurrency: config.publishReservedConcurrency,
    });
    this.publishQueue = pipeline.queue;
    this.fanout.consumeWith(fn(TRIGGER_ENTRIES.fanout));
    // The message routes put client-published events on the publish queue, and every handler that
    // adds or removes subscriptions puts presence notices there (PROTOCOL §8).
    for (const { entry, access } of HANDLER_LIST) {
      if (!access.publishQueue) continue;
      const handler = handlers[entry] as HandlerFunction;
      handler.function.addEnvironment(ENV.publishQueueUrl, this.publishQueue.queueUrl);
      this.publishQueue.grantSendMessages(handler.function);
    }

    // ---- Sweep schedule ------------------------------------------------------------------------
    const sweep = fn(TRIGGER_ENTRIES.sweep);
    this.sweepRule = new Rule(this, 'SweepSchedule', {
      description: 'Switchboard: close and remove stale connections',
      schedule: Schedule.rate(config.sweepPeriod),
    });
    // A missed sweep is made up by the next one: no retries that could overlap it.
    this.sweepRule.addTarget(
      new LambdaFunction(sweep, { retryAttempts: 0, maxEventAge: config.sweepPeriod }),
    );
    sweep.configureAsyncInvoke({ retryAttempts: 0 });

    // ---- Front door: CloudFront + WAF, a rate limit per client IP before API Gateway -----------
    if (config.frontDoor) {
      this.frontDoor = new SwitchboardFrontDoor(this, 'FrontDoor', {
        webSocketApi: this.webSocketApi,
        stageName: config.stageName,
        ...config.frontDoor,
      });
    }

    // ---- Monitoring ----------------------------------------------------------------------------
    this.monitoring = new SwitchboardMonitoring(this, 'Monitoring', {
      serviceName: config.serviceName,
      functions: Object.fromEntries(entries.map((entry) => [entry, fn(entry)])),
      routeFunctions: Object.fromEntries(WEBSOCKET_ROUTES.map(({ entry }) => [entry, fn(entry)])),
      publishFunction: publish,
      publishQueue: this.publishQueue,
      publishRule: this.publishRule,
      eventBus: this.eventBus,
      deadLetterQueue: this.deadLetterQueue,
      table: this.table,
      tableIndexNames: globalSecondaryIndexes.map((index) => index.indexName),
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
    return `${this.httpApi.apiEndpoint}${AUTH_ROUTE_PATH}`;
  }

  /** The name of the bus to `PutEvents` to. */
  get eventBusName(): string {
    return this.eventBus.eventBusName;
  }

  /**
   * Lets `grantee` publish: `events:PutEvents` on the bus the publish rule listens to, and with
   * `sources`, only entries whose `Source` is one of them (the `events:source` condition key,
   * "Using IAM policy conditions in Amazon EventBridge"), so a service cannot pose as another.
   * (Only entries with a `channel`, `channels` or `broadcast`, from an accepted source and to a
   * tenant it is bound to, reach subscribers.)
   */
  grantPublish(grantee: IGrantable, sources?: readonly string[]): Grant {
    if (sources === undefined) return this.eventBus.grantPutEventsTo(grantee);
    if (sources.length === 0) {
      throw new SwitchboardPropsError('SwitchboardApi.grantPublish: sources must list at least one source');
    }
    return Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.eventBus.eventBusArn],
      conditions: { StringEquals: { 'events:source': [...sources] } },
    });
  }
}
