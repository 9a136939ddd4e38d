/**
 * `SwitchboardTokenExchange`: the HTTP API of `POST /api/v1/auth` (PROTOCOL §1), which trades a
 * service's bearer token for a short connection token. CORS for the browser origins allowed, a
 * JSON access log without path or query string, a throttle like `$connect`'s.
 *
 * Built in the `SwitchboardApi`'s scope (see `SwitchboardPart`): the API's id is its endpoint URL.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { SwitchboardPart } from './switchboard-part.js';

/** The path of the token exchange on the HTTP API (PROTOCOL §1). */
export const AUTH_ROUTE_PATH = '/api/v1/auth';

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

const TOKEN_EXCHANGE_NAG_REASON =
  'The token exchange is the authentication step: its handler verifies the bearer token (HS256 or JWKS, iss/aud, lifetime cap) and answers 401; an authorizer would only verify the same token twice.';

/** The token exchange is called once per connection: throttle it like `$connect`. */
const AUTH_API_THROTTLE = { rateLimit: 100, burstLimit: 200 };

export interface SwitchboardTokenExchangeProps {
  /** The auth handler (`lambdas/auth.ts`). */
  readonly authFunction: IFunction;
  /** The browser origins CORS allows. */
  readonly corsOrigins: readonly string[];
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class SwitchboardTokenExchange extends SwitchboardPart {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: SwitchboardTokenExchangeProps) {
    super(scope, id);
    this.api = this.own(
      new HttpApi(this.home, 'HttpApi', {
        description: 'Switchboard token exchange',
        createDefaultStage: false,
        corsPreflight: {
          allowOrigins: [...props.corsOrigins],
          allowMethods: [CorsHttpMethod.POST],
          allowHeaders: ['authorization', 'content-type'],
          maxAge: Duration.hours(1),
        },
      }),
    );
    this.accessLogs = this.own(
      new LogGroup(this.home, 'HttpAccessLogs', {
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      }),
    );
    this.stage = this.own(
      new HttpStage(this.home, 'HttpStage', {
        httpApi: this.api,
        autoDeploy: true,
        throttle: AUTH_API_THROTTLE,
        accessLogSettings: {
          destination: new LogGroupLogDestination(this.accessLogs),
          format: AccessLogFormat.custom(JSON.stringify(HTTP_ACCESS_LOG_FIELDS)),
        },
      }),
    );
    for (const authRoute of this.api.addRoutes({
      path: AUTH_ROUTE_PATH,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('AuthIntegration', props.authFunction),
    })) {
      acknowledge(authRoute, 'AwsSolutions-APIG4', TOKEN_EXCHANGE_NAG_REASON);
    }
  }

  /** `https://{http-api}.execute-api.{region}.amazonaws.com/api/v1/auth`. */
  get url(): string {
    return `${this.api.apiEndpoint}${AUTH_ROUTE_PATH}`;
  }
}
