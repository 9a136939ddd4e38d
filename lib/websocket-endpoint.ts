/**
 * `SwitchboardWebSocket`: the WebSocket API clients connect to. The API (routes chosen by
 * `ROUTE_SELECTION_EXPRESSION`), its stage with the JSON access log and throttling, the optional
 * custom domain and, when asked, the account's API Gateway CloudWatch Logs role. The routes come
 * once the handlers exist (`route`): the handlers need the stage's callback URL first.
 *
 * Built in the `SwitchboardApi`'s scope (see `SwitchboardPart`): the API's id is its endpoint URL.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  DomainName,
  LogGroupLogDestination,
  type ThrottleSettings,
  WebSocketApi,
  type WebSocketRoute,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  WebSocketLambdaIntegration,
  WebSocketMockIntegration,
} from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type Grant, type IGrantable, ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { MOCK_ROUTES, ROUTE_SELECTION_EXPRESSION, WEBSOCKET_ROUTES } from '../lambdas/handlers.js';
import { acknowledge } from './nag.js';
import type { SwitchboardDomainOptions } from './switchboard-api-props.js';
import { pascal, SwitchboardPart } from './switchboard-part.js';

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

/** Why each cdk-nag finding on the WebSocket API is acceptable (test/infra lists them all). */
export const WEBSOCKET_NAG_REASONS = {
  connect:
    'The $connect handler authenticates: the JWT may come in the query string, the Authorization header or Sec-WebSocket-Protocol, and the handshake must answer the chosen subprotocol and tell 401 from 403, which a Lambda authorizer cannot do.',
  message:
    'API Gateway authenticates a WebSocket connection once, at $connect (authorizers attach to $connect only); this route only receives frames from connections the $connect handler admitted.',
  apiGatewayLogsRole:
    'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for the API Gateway account logging role; API Gateway names its log groups itself, so they cannot be listed in advance.',
} as const;

export interface SwitchboardWebSocketProps {
  readonly stageName: string;
  /** The stage's default throttle. */
  readonly throttle: ThrottleSettings;
  /** Throttles of single routes, by route key (route settings of the stage). */
  readonly routeThrottle: Readonly<Record<string, ThrottleSettings>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** A custom domain, mapped under the stage name. */
  readonly domain?: SwitchboardDomainOptions;
  /** Create the account's API Gateway CloudWatch Logs role (WebSocket access logs need one). */
  readonly apiGatewayCloudWatchRole: boolean;
}

export class SwitchboardWebSocket extends SwitchboardPart {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly accessLogs: LogGroup;
  readonly domainName?: DomainName;
  /** The WebSocket routes, by route key (empty until `route`). */
  readonly routes: Readonly<Record<string, WebSocketRoute>>;
  private readonly routesByKey: Record<string, WebSocketRoute> = {};
  private readonly routeThrottle: SwitchboardWebSocketProps['routeThrottle'];

  constructor(scope: Construct, id: string, props: SwitchboardWebSocketProps) {
    super(scope, id);
    this.routeThrottle = props.routeThrottle;
    this.routes = this.routesByKey;
    this.api = this.own(
      new WebSocketApi(this.home, 'WebSocketApi', {
        description: 'Switchboard WebSocket pub/sub',
        routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      }),
    );
    this.accessLogs = this.own(
      new LogGroup(this.home, 'WebSocketAccessLogs', {
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      }),
    );
    if (props.domain) {
      this.domainName = this.own(
        new DomainName(this.home, 'DomainName', {
          domainName: props.domain.domainName,
          certificate: props.domain.certificate,
        }),
      );
    }
    this.stage = this.own(
      new WebSocketStage(this.home, 'Stage', {
        webSocketApi: this.api,
        stageName: props.stageName,
        description: 'Switchboard WebSocket stage',
        autoDeploy: true,
        throttle: props.throttle,
        accessLogSettings: {
          destination: new LogGroupLogDestination(this.accessLogs),
          format: AccessLogFormat.custom(JSON.stringify(WEBSOCKET_ACCESS_LOG_FIELDS)),
        },
        // Mapped under the stage name, so the path is `/ws` on every endpoint, local one included.
        ...(this.domainName
          ? { domainMapping: { domainName: this.domainName, mappingKey: props.stageName } }
          : {}),
      }),
    );
    if (props.apiGatewayCloudWatchRole) this.addAccountLogsRole();
  }

  /**
   * `execute-api:ManageConnections` on this stage's `@connections` (every method: POST sends, GET
   * reads a connection's status, DELETE closes it), for whoever posts to connections directly.
   */
  grantManageConnections(grantee: IGrantable): Grant {
    return this.stage.grantManagementApiAccess(grantee);
  }

  /**
   * Adds every route of `lambdas/handlers.ts`: the Lambda routes to `functionOf(entry)` and the
   * routes API Gateway answers itself; then the route throttles, which name them.
   */
  route(functionOf: (entry: string) => IFunction): void {
    for (const { routeKey, entry, twoWay } of WEBSOCKET_ROUTES) {
      const integration = new WebSocketLambdaIntegration(`${pascal(entry)}Integration`, functionOf(entry));
      const created = this.api.addRoute(routeKey, { integration, returnResponse: twoWay });
      acknowledge(
        created,
        'AwsSolutions-APIG4',
        routeKey === '$connect' ? WEBSOCKET_NAG_REASONS.connect : WEBSOCKET_NAG_REASONS.message,
      );
      this.routesByKey[routeKey] = created;
    }
    // Routes API Gateway answers itself: no function, no table, one-way (no route response).
    for (const { routeKey, requestTemplate } of MOCK_ROUTES) {
      const created = this.api.addRoute(routeKey, {
        integration: new WebSocketMockIntegration(`${pascal(routeKey)}Integration`, {
          // `$default` is the catch-all template key, and `\$default` the static expression that
          // selects it ("WebSocket selection expressions", API Gateway developer guide).
          requestTemplates: { $default: requestTemplate },
          templateSelectionExpression: '\\$default',
        }),
      });
      acknowledge(created, 'AwsSolutions-APIG4', WEBSOCKET_NAG_REASONS.message);
      this.routesByKey[routeKey] = created;
    }
    // Route settings name routes that must exist before the stage refers to them.
    for (const r of Object.values(this.routesByKey)) this.stage.node.addDependency(r);
    const routeSettings = Object.fromEntries(
      Object.entries(this.routeThrottle).map(([routeKey, t]) => [
        routeKey,
        {
          ...(t.rateLimit !== undefined ? { ThrottlingRateLimit: t.rateLimit } : {}),
          ...(t.burstLimit !== undefined ? { ThrottlingBurstLimit: t.burstLimit } : {}),
        },
      ]),
    );
    if (Object.keys(routeSettings).length > 0)
      (this.stage.node.defaultChild as CfnStage).routeSettings = routeSettings;
  }

  /**
   * WebSocket access logging needs the account's API Gateway CloudWatch Logs role (HTTP APIs do
   * not). An account-wide setting other APIs may rely on: kept when the stack is deleted.
   */
  private addAccountLogsRole(): void {
    const logsRole = this.own(
      new Role(this.home, 'ApiGatewayCloudWatchRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        description: 'Lets API Gateway write access logs to CloudWatch Logs (account setting)',
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      }),
    );
    const account = this.own(
      new CfnAccount(this.home, 'ApiGatewayAccount', { cloudWatchRoleArn: logsRole.roleArn }),
    );
    logsRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.stage.node.addDependency(account);
    acknowledge(
      logsRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      WEBSOCKET_NAG_REASONS.apiGatewayLogsRole,
    );
  }
}
