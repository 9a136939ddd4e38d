/**
 * The CDK app: reads the deploy-time values from CDK context (`cdk deploy -c key=value`, or the
 * `context` of cdk.json) and builds the stack. Context is read here and nowhere else; the stack
 * and its constructs take typed props.
 *
 * Every deployment runs the AWS Solutions checks of cdk-nag: a finding that is not acknowledged
 * (with its reason, next to the resource) fails the synth.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Node } from 'constructs';
import type { ChannelRule } from '../core/channel-policy.js';
import { PUBLISH_PIPELINE } from '../lambdas/publish-pipeline.js';
import type { SwitchboardApiProps } from '../lib/switchboard-api-props.js';
import { SwitchboardStack } from '../lib/switchboard-stack.js';

/** Every context key this app reads, with what it sets. */
export const CONTEXT_KEYS = {
  stackName: 'CloudFormation stack name (default Switchboard)',
  authSecretArn:
    'complete ARN of an existing Secrets Manager secret holding the HS256 key (default: generated)',
  authJwksUrl: 'https JWKS URL for RS256/ES256 tokens',
  authIssuer: 'required iss claim',
  authAudience: 'required aud claim',
  authMaxTokenLifetimeSeconds: 'longest accepted token lifetime (default 86400)',
  authShortTokenLifetimeSeconds: 'lifetime of /api/v1/auth tokens (default 60)',
  channelPolicy: 'JSON array of {pattern, allow} rules (default: PROTOCOL §5)',
  presencePolicy:
    'JSON array of {pattern, allow} rules: channels whose members are tracked (default: chat:*, room:*, presence:*; [] turns presence off)',
  allowedOrigins: 'comma-separated Origin allow-list (default: any)',
  tokenExchangeCorsOrigins: 'comma-separated origins whose pages may call /api/v1/auth (CORS; default: none)',
  allowAnonymous: 'true or false (default false)',
  stageName: 'WebSocket stage (default ws)',
  throttleRateLimit: 'stage steady-state requests per second (default 1000)',
  throttleBurstLimit: 'stage burst (default 2000)',
  routeThrottle: 'JSON {"<routeKey>": {"rateLimit": n, "burstLimit": n}} (default $connect 100/200)',
  maxSubscriptions: 'subscriptions per connection (default 100)',
  maxMessageBytes: 'largest client message (default 32768)',
  rateLimitBurst: 'client messages a connection may send at once (default 20)',
  rateLimitPerSecond: 'client messages per second refilled (default 10)',
  rateLimitCloseAfter: 'refusals in a row before the connection is closed (default 50)',
  historySeconds: 'how long events stay replayable with since (default 3600)',
  historyMaxEvents: "how many of a channel's latest events stay replayable (default 1000)",
  sweepMinutes: 'sweep period in minutes (default 1)',
  eventBus:
    'name or ARN of an existing event bus, "default" for the account default bus (default: a bus of its own)',
  eventSources: 'comma-separated source allow-list (default: any)',
  sourceTenants: 'JSON {"<source>": ["<tenant>", ...]}: sources that may publish only to these tenants',
  maxEventAgeSeconds: 'how long EventBridge retries putting an event on the publish queue (default 3600)',
  callbacksPerSecond:
    '@connections calls per second shared by the fan-out workers of big channels and broadcasts (default 4000)',
  fanoutThreshold:
    'subscribers past which a channel is fanned out in shards by the fan-out workers (default 1000)',
  publishReservedConcurrency: `reserved concurrency of the publish function, also the publish queue mapping maximum concurrency (2 to 1000, default ${PUBLISH_PIPELINE.reservedConcurrency})`,
  logRetentionDays: 'log retention in days, one of CloudWatch Logs values (default 30)',
  domainName: 'custom domain for the WebSocket endpoint (needs certificateArn)',
  certificateArn: 'ACM certificate ARN for domainName, in the stack region',
  frontDoor:
    'true: CloudFront + AWS WAF rate limit per client IP in front of the WebSocket API (stack in us-east-1, or frontDoorWebAclArn)',
  frontDoorRateLimitPer5Minutes:
    'front door: handshakes one client IP may make in 5 minutes (default 300; implies frontDoor)',
  frontDoorWebAclArn:
    'front door: an existing CLOUDFRONT web ACL (us-east-1) to attach instead of creating one (implies frontDoor)',
  serviceName: 'Powertools service name and metrics dimension (default switchboard)',
  removalPolicy: 'retain or destroy: table, secret, queue, logs (default retain)',
  alarmTopicArn: 'SNS topic ARN notified by the alarms',
  apiGatewayCloudWatchRole: 'true or false: set the account API Gateway logging role (default true)',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

export class ContextError extends Error {
  override readonly name = 'ContextError';
}

const LOG_RETENTION_DAYS = new Set(
  Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number'),
);

/** Typed access to the context values this app reads; each message names the key and the value. */
export class SwitchboardContext {
  constructor(private readonly node: Node) {}

  private raw(key: ContextKey): unknown {
    const value: unknown = this.node.tryGetContext(key);
    return value === '' ? undefined : value;
  }

  private fail(key: ContextKey, requirement: string, value: unknown): never {
    throw new ContextError(`context ${key}: ${requirement} (received ${JSON.stringify(value)})`);
  }

  string(key: ContextKey): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') this.fail(key, 'must be a string', value);
    return value.trim();
  }

  list(key: ContextKey): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
    if (typeof value !== 'string') this.fail(key, 'must be a comma-separated list', value);
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  boolean(key: ContextKey): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(key, 'must be true or false', value);
  }

  number(key: ContextKey): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const n =
      typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
    if (!Number.isFinite(n)) this.fail(key, 'must be a number', value);
    return n;
  }

  json(key: ContextKey): unknown {
    const value = this.raw(key);
    if (value === undefined || typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      return this.fail(key, 'must be JSON', value);
    }
  }
}

/** Builds the `SwitchboardApi` props from context, importing existing resources into `stack`. */
export function switchboardPropsFromContext(stack: Stack, node: Node): SwitchboardApiProps {
  const ctx = new SwitchboardContext(node);
  const seconds = (key: ContextKey) => {
    const n = ctx.number(key);
    return n === undefined ? undefined : Duration.seconds(n);
  };

  const authSecretArn = ctx.string('authSecretArn');
  // IAM matches the complete ARN (with Secrets Manager's 6-character suffix); a partial one would
  // deploy fine and then fail every GetSecretValue with AccessDenied.
  if (
    authSecretArn !== undefined &&
    !/^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(authSecretArn)
  ) {
    throw new ContextError(
      `context authSecretArn: must be the complete secret ARN, ending in -XXXXXX (aws secretsmanager describe-secret shows it) (received ${JSON.stringify(authSecretArn)})`,
    );
  }
  const maxTokenLifetime = seconds('authMaxTokenLifetimeSeconds');
  const shortTokenLifetime = seconds('authShortTokenLifetimeSeconds');
  const jwksUrl = ctx.string('authJwksUrl');
  const issuer = ctx.string('authIssuer');
  const audience = ctx.string('authAudience');
  const auth: NonNullable<SwitchboardApiProps['auth']> = {
    ...(authSecretArn
      ? { secret: Secret.fromSecretCompleteArn(stack, 'ImportedAuthSecret', authSecretArn) }
      : {}),
    ...(jwksUrl !== undefined ? { jwksUrl } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(audience !== undefined ? { audience } : {}),
    ...(maxTokenLifetime ? { maxTokenLifetime } : {}),
    ...(shortTokenLifetime ? { shortTokenLifetime } : {}),
  };

  const rateLimit = ctx.number('throttleRateLimit');
  const burstLimit = ctx.number('throttleBurstLimit');
  const routeThrottle = ctx.json('routeThrottle');
  if (routeThrottle !== undefined && (typeof routeThrottle !== 'object' || routeThrottle === null)) {
    throw new ContextError(
      `context routeThrottle: must be a JSON object (received ${JSON.stringify(routeThrottle)})`,
    );
  }

  const eventBus = ctx.string('eventBus');
  const sweepMinutes = ctx.number('sweepMinutes');
  const maxEventAge = seconds('maxEventAgeSeconds');
  const publishReservedConcurrency = ctx.number('publishReservedConcurrency');
  const callbacksPerSecond = ctx.number('callbacksPerSecond');
  const fanoutThreshold = ctx.number('fanoutThreshold');

  const logRetentionDays = ctx.number('logRetentionDays');
  if (logRetentionDays !== undefined && !LOG_RETENTION_DAYS.has(logRetentionDays)) {
    throw new ContextError(
      `context logRetentionDays: must be one of ${[...LOG_RETENTION_DAYS].join(', ')} (received ${logRetentionDays})`,
    );
  }

  const domainName = ctx.string('domainName');
  const certificateArn = ctx.string('certificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new ContextError(
      `context domainName and certificateArn: give both or neither (received domainName=${JSON.stringify(domainName)}, certificateArn=${JSON.stringify(certificateArn)})`,
    );
  }

  const removalPolicy = ctx.string('removalPolicy');
  if (removalPolicy !== undefined && !['retain', 'destroy'].includes(removalPolicy)) {
    throw new ContextError(
      `context removalPolicy: must be retain or destroy (received ${JSON.stringify(removalPolicy)})`,
    );
  }

  const alarmTopicArn = ctx.string('alarmTopicArn');
  const frontDoorRateLimitPer5Minutes = ctx.number('frontDoorRateLimitPer5Minutes');
  const frontDoorWebAclArn = ctx.string('frontDoorWebAclArn');
  const frontDoor =
    ctx.boolean('frontDoor') ||
    frontDoorRateLimitPer5Minutes !== undefined ||
    frontDoorWebAclArn !== undefined;
  const channelPolicy = ctx.json('channelPolicy');
  const presencePolicy = ctx.json('presencePolicy');
  const allowedOrigins = ctx.list('allowedOrigins');
  const tokenExchangeCorsOrigins = ctx.list('tokenExchangeCorsOrigins');
  const allowAnonymous = ctx.boolean('allowAnonymous');
  const stageName = ctx.string('stageName');
  const maxSubscriptions = ctx.number('maxSubscriptions');
  const maxMessageBytes = ctx.number('maxMessageBytes');
  const rateLimitProps = {
    burst: ctx.number('rateLimitBurst'),
    perSecond: ctx.number('rateLimitPerSecond'),
    closeAfter: ctx.number('rateLimitCloseAfter'),
  };
  const historySeconds = ctx.number('historySeconds');
  const historyMaxEvents = ctx.number('historyMaxEvents');
  const eventSources = ctx.list('eventSources');
  const sourceTenants = ctx.json('sourceTenants');
  if (sourceTenants !== undefined && (typeof sourceTenants !== 'object' || sourceTenants === null)) {
    throw new ContextError(
      `context sourceTenants: must be a JSON object (received ${JSON.stringify(sourceTenants)})`,
    );
  }
  const serviceName = ctx.string('serviceName');
  const apiGatewayCloudWatchRole = ctx.boolean('apiGatewayCloudWatchRole');

  return {
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
    // Shape and rules are checked by SwitchboardApi against core/channel-policy.ts.
    ...(channelPolicy !== undefined ? { channelPolicy: channelPolicy as ChannelRule[] } : {}),
    ...(presencePolicy !== undefined ? { presencePolicy: presencePolicy as ChannelRule[] } : {}),
    ...(allowedOrigins !== undefined ? { allowedOrigins } : {}),
    ...(tokenExchangeCorsOrigins !== undefined ? { tokenExchangeCorsOrigins } : {}),
    ...(allowAnonymous !== undefined ? { allowAnonymous } : {}),
    ...(stageName !== undefined ? { stageName } : {}),
    ...(rateLimit !== undefined || burstLimit !== undefined
      ? {
          throttle: {
            ...(rateLimit !== undefined ? { rateLimit } : {}),
            ...(burstLimit !== undefined ? { burstLimit } : {}),
          },
        }
      : {}),
    ...(routeThrottle !== undefined
      ? { routeThrottle: routeThrottle as SwitchboardApiProps['routeThrottle'] & {} }
      : {}),
    ...(maxSubscriptions !== undefined ? { maxSubscriptions } : {}),
    ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}),
    ...(Object.values(rateLimitProps).some((v) => v !== undefined)
      ? {
          rateLimit: Object.fromEntries(Object.entries(rateLimitProps).filter(([, v]) => v !== undefined)),
        }
      : {}),
    ...(historySeconds !== undefined || historyMaxEvents !== undefined
      ? {
          history: {
            ...(historySeconds !== undefined ? { retention: Duration.seconds(historySeconds) } : {}),
            ...(historyMaxEvents !== undefined ? { maxEvents: historyMaxEvents } : {}),
          },
        }
      : {}),
    ...(sweepMinutes !== undefined ? { sweepPeriod: Duration.minutes(sweepMinutes) } : {}),
    ...(eventBus !== undefined
      ? {
          eventBus: eventBus.startsWith('arn:')
            ? EventBus.fromEventBusArn(stack, 'ImportedEventBus', eventBus)
            : EventBus.fromEventBusName(stack, 'ImportedEventBus', eventBus),
        }
      : {}),
    ...(eventSources !== undefined ? { eventSources } : {}),
    // Shape and values are checked by SwitchboardApi.
    ...(sourceTenants !== undefined
      ? { sourceTenants: sourceTenants as SwitchboardApiProps['sourceTenants'] & {} }
      : {}),
    ...(maxEventAge ? { maxEventAge } : {}),
    ...(publishReservedConcurrency !== undefined ? { publishReservedConcurrency } : {}),
    ...(callbacksPerSecond !== undefined ? { callbacksPerSecond } : {}),
    ...(fanoutThreshold !== undefined ? { fanoutThreshold } : {}),
    ...(logRetentionDays !== undefined ? { logRetention: logRetentionDays as RetentionDays } : {}),
    ...(domainName !== undefined && certificateArn !== undefined
      ? {
          domain: {
            domainName,
            certificate: Certificate.fromCertificateArn(stack, 'ImportedCertificate', certificateArn),
          },
        }
      : {}),
    ...(frontDoor
      ? {
          frontDoor: {
            ...(frontDoorRateLimitPer5Minutes !== undefined
              ? { rateLimitPer5Minutes: frontDoorRateLimitPer5Minutes }
              : {}),
            ...(frontDoorWebAclArn !== undefined ? { webAclArn: frontDoorWebAclArn } : {}),
          },
        }
      : {}),
    ...(serviceName !== undefined ? { serviceName } : {}),
    ...(removalPolicy !== undefined
      ? { removalPolicy: removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN }
      : {}),
    ...(alarmTopicArn !== undefined
      ? { alarmTopic: Topic.fromTopicArn(stack, 'ImportedAlarmTopic', alarmTopicArn) }
      : {}),
    ...(apiGatewayCloudWatchRole !== undefined ? { apiGatewayCloudWatchRole } : {}),
  };
}

/** Builds the app: the stack from context, with the cdk-nag AWS Solutions checks. */
export function buildApp(app: App = new App()): { app: App; stack: SwitchboardStack } {
  const stackName = new SwitchboardContext(app.node).string('stackName') ?? 'Switchboard';
  const stack = new SwitchboardStack(app, stackName, {
    switchboard: (scope) => switchboardPropsFromContext(scope, app.node),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/** True when this file is the program being run (`npx tsx bin/app.ts`), not a module a test imports. */
function isMainModule(): boolean {
  try {
    return (
      process.argv[1] !== undefined &&
      realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

if (isMainModule()) buildApp().app.synth();
