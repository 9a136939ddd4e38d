/**
 * Every Switchboard setting, defined once: its environment variable, its `SwitchboardApi` prop,
 * its CDK context key, its default, its range and what it does. Everything else is derived from
 * this table: the handlers' environment schema (`adapters/config.ts`), the construct's prop checks
 * (`lib/switchboard-api-props.ts`), the context parsing (`bin/app.ts`), the environment the stack
 * gives each handler (`lib/handler-environment.ts`), the local stack's settings
 * (`local/local-stack.ts`, `local/local-env.ts`) and docs/configuration.md (`npm run docs:config`).
 * test/unit/settings-table.test.ts fails when one of them disagrees with it.
 *
 * Pure data: the handlers bundle it, so it imports nothing from the CDK or the AWS SDK.
 */

/**
 * How a value is written in the environment and in context, and what the prop holds:
 * `seconds` and `minutes` are a `Duration` prop given as a whole number in context and the
 * environment; `list` is a comma-separated string (a `string[]` prop); `json` is JSON text (the
 * parsed value as the prop). The last kinds are context-only references the app imports.
 */
export type SettingKind =
  | 'integer'
  | 'number'
  | 'seconds'
  | 'minutes'
  | 'boolean'
  | 'string'
  | 'url'
  | 'list'
  | 'json'
  | 'secretArn'
  | 'eventBus'
  | 'certificateArn'
  | 'topicArn'
  | 'logRetentionDays'
  | 'removalPolicy'
  | 'flag';

/** Who reads a setting's environment variable at run time. */
export type SettingReader =
  /** every handler (through `loadConfig`, or `adapters/observability.ts`) */
  | 'handlers'
  /** only the handlers granted this access (`lambdas/handlers.ts`) */
  | 'publishQueue'
  /** the local stack itself (`npm start`) */
  | 'local';

export interface Setting {
  readonly kind: SettingKind;
  /** The environment variable (see `readBy`). */
  readonly env?: string;
  /** The `SwitchboardApi` prop, as a path: `rateLimit.burst` is `props.rateLimit.burst`. */
  readonly prop?: string;
  /** The CDK context key (`cdk deploy -c key=value`) that sets the prop. */
  readonly context?: string;
  /** The default, as written in the environment or context (seconds for `seconds`). */
  readonly default?: number | string | boolean;
  /** For `json`: the value is an array or an object. */
  readonly json?: 'array' | 'object';
  /** Inclusive range of a number. */
  readonly min?: number;
  readonly max?: number;
  /** Who reads `env`. */
  readonly readBy?: readonly SettingReader[];
  /**
   * Where the stack's value comes from when no prop sets it: one of its own resources (`stack`),
   * or a fixed value (`fixed`: `default`, a limit of API Gateway). Unset: the prop, or the
   * variable is not set on AWS at all (local only).
   */
  readonly onAws?: 'stack' | 'fixed' | 'local only';
}

const HOUR = 3600;
const DAY = 24 * HOUR;
const ALL: readonly SettingReader[] = ['handlers'];
const ALL_AND_LOCAL: readonly SettingReader[] = ['handlers', 'local'];
const LOCAL: readonly SettingReader[] = ['local'];

export const SETTINGS = {
  // ---- Where things are: set by the stack (or the local stack) -------------------------------
  tableName: {
    kind: 'string',
    env: 'SWITCHBOARD_TABLE_NAME',
    readBy: ALL_AND_LOCAL,
    onAws: 'stack',
    default: 'switchboard',
  },
  callbackUrl: {
    kind: 'url',
    env: 'SWITCHBOARD_CALLBACK_URL',
    readBy: ALL,
    onAws: 'stack',
  },
  fanoutQueueUrl: {
    kind: 'url',
    env: 'SWITCHBOARD_FANOUT_QUEUE_URL',
    readBy: ALL,
    onAws: 'stack',
  },
  publishQueueUrl: {
    kind: 'url',
    env: 'SWITCHBOARD_PUBLISH_QUEUE_URL',
    readBy: ['publishQueue'],
    onAws: 'stack',
  },
  dynamodbEndpoint: {
    kind: 'url',
    env: 'SWITCHBOARD_DYNAMODB_ENDPOINT',
    readBy: ALL_AND_LOCAL,
    onAws: 'local only',
  },
  sqsEndpoint: {
    kind: 'url',
    env: 'SWITCHBOARD_SQS_ENDPOINT',
    readBy: ALL,
    onAws: 'local only',
  },

  // ---- Tokens --------------------------------------------------------------------------------
  authSecret: {
    kind: 'string',
    env: 'SWITCHBOARD_AUTH_SECRET',
    readBy: ALL,
    onAws: 'local only',
  },
  authSecretArn: {
    kind: 'secretArn',
    env: 'SWITCHBOARD_AUTH_SECRET_ARN',
    prop: 'auth.secret',
    context: 'authSecretArn',
    readBy: ALL,
    onAws: 'stack',
  },
  authJwksUrl: {
    kind: 'url',
    env: 'SWITCHBOARD_AUTH_JWKS_URL',
    prop: 'auth.jwksUrl',
    context: 'authJwksUrl',
    readBy: ALL,
  },
  authIssuer: {
    kind: 'string',
    env: 'SWITCHBOARD_AUTH_ISSUER',
    prop: 'auth.issuer',
    context: 'authIssuer',
    readBy: ALL,
  },
  authAudience: {
    kind: 'string',
    env: 'SWITCHBOARD_AUTH_AUDIENCE',
    prop: 'auth.audience',
    context: 'authAudience',
    readBy: ALL,
  },
  authMaxTokenLifetimeSeconds: {
    kind: 'seconds',
    env: 'SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS',
    prop: 'auth.maxTokenLifetime',
    context: 'authMaxTokenLifetimeSeconds',
    readBy: ALL,
    default: DAY,
    min: 60,
    max: 30 * DAY,
  },
  authShortTokenTtlSeconds: {
    kind: 'seconds',
    env: 'SWITCHBOARD_AUTH_SHORT_TOKEN_TTL_SECONDS',
    prop: 'auth.shortTokenLifetime',
    context: 'authShortTokenLifetimeSeconds',
    readBy: ALL,
    default: 60,
    min: 5,
    max: HOUR,
  },

  // ---- Who may connect, subscribe and publish ------------------------------------------------
  allowedOrigins: {
    kind: 'list',
    env: 'SWITCHBOARD_ALLOWED_ORIGINS',
    prop: 'allowedOrigins',
    context: 'allowedOrigins',
    readBy: ALL,
  },
  tokenExchangeCorsOrigins: {
    kind: 'list',
    env: 'SWITCHBOARD_TOKEN_EXCHANGE_CORS_ORIGINS',
    prop: 'tokenExchangeCorsOrigins',
    context: 'tokenExchangeCorsOrigins',
    readBy: LOCAL,
  },
  allowAnonymous: {
    kind: 'boolean',
    env: 'SWITCHBOARD_ALLOW_ANONYMOUS',
    prop: 'allowAnonymous',
    context: 'allowAnonymous',
    readBy: ALL,
    default: false,
  },
  channelPolicy: {
    kind: 'json',
    json: 'array',
    env: 'SWITCHBOARD_CHANNEL_POLICY',
    prop: 'channelPolicy',
    context: 'channelPolicy',
    readBy: ALL,
  },
  publishPolicy: {
    kind: 'json',
    json: 'array',
    env: 'SWITCHBOARD_PUBLISH_POLICY',
    prop: 'publishPolicy',
    context: 'publishPolicy',
    readBy: ALL,
  },
  eventSources: {
    kind: 'list',
    env: 'SWITCHBOARD_EVENT_SOURCES',
    prop: 'eventSources',
    context: 'eventSources',
    readBy: ALL,
  },
  sourceTenants: {
    kind: 'json',
    json: 'object',
    env: 'SWITCHBOARD_SOURCE_TENANTS',
    prop: 'sourceTenants',
    context: 'sourceTenants',
    readBy: ALL,
  },

  // ---- Limits --------------------------------------------------------------------------------
  maxSubscriptions: {
    kind: 'integer',
    env: 'SWITCHBOARD_MAX_SUBSCRIPTIONS',
    prop: 'maxSubscriptions',
    context: 'maxSubscriptions',
    readBy: ALL,
    default: 100,
    min: 1,
    max: 10_000,
  },
  maxMessageBytes: {
    kind: 'integer',
    env: 'SWITCHBOARD_MAX_MESSAGE_BYTES',
    prop: 'maxMessageBytes',
    context: 'maxMessageBytes',
    readBy: ALL,
    // DEFAULT_MAX_MESSAGE_BYTES in core/protocol.ts (a test checks they agree).
    default: 32_768,
    min: 256,
    max: 128 * 1024,
  },
  rateLimitBurst: {
    kind: 'integer',
    env: 'SWITCHBOARD_RATE_LIMIT_BURST',
    prop: 'rateLimit.burst',
    context: 'rateLimitBurst',
    readBy: ALL,
    default: 20,
    min: 1,
    max: 10_000,
  },
  rateLimitPerSecond: {
    kind: 'integer',
    env: 'SWITCHBOARD_RATE_LIMIT_PER_SECOND',
    prop: 'rateLimit.perSecond',
    context: 'rateLimitPerSecond',
    readBy: ALL,
    default: 10,
    min: 1,
    max: 10_000,
  },
  rateLimitCloseAfter: {
    kind: 'integer',
    env: 'SWITCHBOARD_RATE_LIMIT_CLOSE_AFTER',
    prop: 'rateLimit.closeAfter',
    context: 'rateLimitCloseAfter',
    readBy: ALL,
    default: 50,
    min: 1,
    max: 100_000,
  },
  historySeconds: {
    kind: 'seconds',
    env: 'SWITCHBOARD_HISTORY_SECONDS',
    prop: 'history.retention',
    context: 'historySeconds',
    readBy: ALL,
    default: HOUR,
    min: 1,
    max: 7 * DAY,
  },
  historyMaxEvents: {
    kind: 'integer',
    env: 'SWITCHBOARD_HISTORY_MAX_EVENTS',
    prop: 'history.maxEvents',
    context: 'historyMaxEvents',
    readBy: ALL,
    default: 1000,
    min: 1,
    max: 100_000,
  },
  idleTimeoutSeconds: {
    kind: 'integer',
    env: 'SWITCHBOARD_IDLE_TIMEOUT_SECONDS',
    readBy: ALL_AND_LOCAL,
    onAws: 'fixed',
    default: 600,
    min: 1,
    max: DAY,
  },
  maxConnectionSeconds: {
    kind: 'integer',
    env: 'SWITCHBOARD_MAX_CONNECTION_SECONDS',
    readBy: ALL_AND_LOCAL,
    onAws: 'fixed',
    default: 7200,
    min: 1,
    max: 7 * DAY,
  },

  // ---- Publishing and fan-out ----------------------------------------------------------------
  publishConcurrency: {
    kind: 'integer',
    env: 'SWITCHBOARD_PUBLISH_CONCURRENCY',
    prop: 'publishConcurrency',
    context: 'publishConcurrency',
    readBy: ALL,
    default: 32,
    min: 1,
    max: 1000,
  },
  fanoutThreshold: {
    kind: 'integer',
    env: 'SWITCHBOARD_FANOUT_THRESHOLD',
    prop: 'fanoutThreshold',
    context: 'fanoutThreshold',
    readBy: ALL,
    default: 1000,
    min: 1,
    max: 100_000,
  },
  callbacksPerSecond: {
    kind: 'integer',
    env: 'SWITCHBOARD_CALLBACKS_PER_SECOND',
    prop: 'callbacksPerSecond',
    context: 'callbacksPerSecond',
    readBy: ALL,
    default: 4000,
    min: 1,
    max: 1_000_000,
  },
  publishReservedConcurrency: {
    kind: 'integer',
    prop: 'publishReservedConcurrency',
    context: 'publishReservedConcurrency',
    // PUBLISH_PIPELINE.reservedConcurrency in lambdas/publish-pipeline.ts (a test checks they agree).
    default: 20,
    // The SQS event source mapping's MaximumConcurrency accepts 2 to 1000 (Lambda API reference,
    // ScalingConfig), and it takes this same value.
    min: 2,
    max: 1000,
  },
  maxEventAgeSeconds: {
    kind: 'seconds',
    prop: 'maxEventAge',
    context: 'maxEventAgeSeconds',
    default: HOUR,
    min: 60,
    max: 6 * HOUR,
  },
  eventBus: {
    kind: 'eventBus',
    prop: 'eventBus',
    context: 'eventBus',
  },
  eventBusName: {
    kind: 'string',
    env: 'SWITCHBOARD_EVENT_BUS_NAME',
    readBy: LOCAL,
    onAws: 'local only',
    default: 'default',
  },

  // ---- The WebSocket API ---------------------------------------------------------------------
  stageName: {
    kind: 'string',
    prop: 'stageName',
    context: 'stageName',
    default: 'ws',
  },
  throttleRateLimit: {
    kind: 'number',
    prop: 'throttle.rateLimit',
    context: 'throttleRateLimit',
    default: 1000,
    min: 0,
  },
  throttleBurstLimit: {
    kind: 'integer',
    prop: 'throttle.burstLimit',
    context: 'throttleBurstLimit',
    default: 2000,
    min: 0,
    max: 1_000_000,
  },
  routeThrottle: {
    kind: 'json',
    json: 'object',
    prop: 'routeThrottle',
    context: 'routeThrottle',
  },
  sweepMinutes: {
    kind: 'minutes',
    prop: 'sweepPeriod',
    context: 'sweepMinutes',
    default: 1,
    min: 1,
    max: 60,
  },
  sweepIntervalSeconds: {
    kind: 'integer',
    env: 'SWITCHBOARD_SWEEP_INTERVAL_SECONDS',
    readBy: LOCAL,
    onAws: 'local only',
    default: 60,
    min: 1,
    max: 7 * DAY,
  },
  domainName: {
    kind: 'string',
    prop: 'domain.domainName',
    context: 'domainName',
  },
  certificateArn: {
    kind: 'certificateArn',
    prop: 'domain.certificate',
    context: 'certificateArn',
  },
  frontDoor: {
    kind: 'flag',
    prop: 'frontDoor',
    context: 'frontDoor',
    default: false,
  },
  frontDoorRateLimitPer5Minutes: {
    kind: 'integer',
    prop: 'frontDoor.rateLimitPer5Minutes',
    context: 'frontDoorRateLimitPer5Minutes',
    default: 300,
    min: 10,
    max: 2_000_000_000,
  },
  frontDoorWebAclArn: {
    kind: 'string',
    prop: 'frontDoor.webAclArn',
    context: 'frontDoorWebAclArn',
  },

  // ---- Operations ----------------------------------------------------------------------------
  stackName: {
    kind: 'string',
    context: 'stackName',
    default: 'Switchboard',
  },
  serviceName: {
    kind: 'string',
    env: 'POWERTOOLS_SERVICE_NAME',
    prop: 'serviceName',
    context: 'serviceName',
    readBy: ALL,
    default: 'switchboard',
  },
  metricsNamespace: {
    kind: 'string',
    env: 'POWERTOOLS_METRICS_NAMESPACE',
    readBy: ALL,
    onAws: 'fixed',
    // METRICS_NAMESPACE in adapters/observability.ts (a test checks they agree).
    default: 'Switchboard',
  },
  logLevel: {
    kind: 'string',
    env: 'POWERTOOLS_LOG_LEVEL',
    readBy: ALL,
    onAws: 'local only',
  },
  metricsDisabled: {
    kind: 'boolean',
    env: 'POWERTOOLS_METRICS_DISABLED',
    readBy: ALL,
    onAws: 'local only',
  },
  powertoolsDev: {
    kind: 'boolean',
    env: 'POWERTOOLS_DEV',
    readBy: ALL,
    onAws: 'local only',
    default: false,
  },
  logRetentionDays: {
    kind: 'logRetentionDays',
    prop: 'logRetention',
    context: 'logRetentionDays',
    default: 30,
  },
  removalPolicy: {
    kind: 'removalPolicy',
    prop: 'removalPolicy',
    context: 'removalPolicy',
    default: 'retain',
  },
  alarmTopicArn: {
    kind: 'topicArn',
    prop: 'alarmTopic',
    context: 'alarmTopicArn',
  },
  dashboard: {
    kind: 'boolean',
    prop: 'dashboard',
    context: 'dashboard',
    default: false,
  },
  apiGatewayCloudWatchRole: {
    kind: 'boolean',
    prop: 'apiGatewayCloudWatchRole',
    context: 'apiGatewayCloudWatchRole',
    default: true,
  },

  // ---- The local stack only ------------------------------------------------------------------
  port: {
    kind: 'integer',
    env: 'SWITCHBOARD_PORT',
    readBy: LOCAL,
    onAws: 'local only',
    default: 8080,
    min: 0,
    max: 65_535,
  },
  dynamodbPort: {
    kind: 'integer',
    env: 'SWITCHBOARD_DYNAMODB_PORT',
    readBy: LOCAL,
    onAws: 'local only',
    default: 8000,
    min: 0,
    max: 65_535,
  },
  localVerbose: {
    kind: 'boolean',
    env: 'SWITCHBOARD_LOCAL_VERBOSE',
    readBy: LOCAL,
    onAws: 'local only',
    default: false,
  },
  localRetrySeconds: {
    kind: 'number',
    env: 'SWITCHBOARD_LOCAL_RETRY_SECONDS',
    readBy: LOCAL,
    onAws: 'local only',
    default: 2,
    min: 0,
    max: 900,
  },
  localCallbackRps: {
    kind: 'integer',
    env: 'SWITCHBOARD_LOCAL_CALLBACK_RPS',
    readBy: LOCAL,
    onAws: 'local only',
    min: 1,
    max: 1_000_000,
  },
  localFaults: {
    kind: 'boolean',
    env: 'SWITCHBOARD_LOCAL_FAULTS',
    readBy: LOCAL,
    onAws: 'local only',
    default: false,
  },
  localFaultPlan: {
    kind: 'json',
    json: 'object',
    env: 'SWITCHBOARD_LOCAL_FAULT_PLAN',
    readBy: LOCAL,
    onAws: 'local only',
  },
} as const satisfies Readonly<Record<string, Setting>>;

export type SettingName = keyof typeof SETTINGS;

type Table = typeof SETTINGS;
type EnvOf<K extends SettingName> = Table[K] extends { readonly env: infer E extends string } ? E : never;
type ReadBy<R extends SettingReader> = {
  [K in SettingName]: Table[K] extends { readonly readBy: readonly (infer X)[] }
    ? R extends X
      ? K
      : never
    : never;
}[SettingName];

/** The rows, with their names. */
export const SETTING_ROWS: readonly (Setting & { readonly name: SettingName })[] = Object.entries(
  SETTINGS,
).map(([name, row]) => ({ name: name as SettingName, ...(row as Setting) }));

function envNames<K extends SettingName>(reader: SettingReader | 'publishQueue'): { [P in K]: EnvOf<P> } {
  return Object.fromEntries(
    SETTING_ROWS.filter((row) => row.env && (row.readBy ?? []).includes(reader)).map((row) => [
      row.name,
      row.env,
    ]),
  ) as { [P in K]: EnvOf<P> };
}

/** The variables the handlers read, by setting name. */
export const HANDLER_ENV = {
  ...envNames<ReadBy<'handlers'>>('handlers'),
  ...envNames<ReadBy<'publishQueue'>>('publishQueue'),
};

/** The variables the local stack itself reads, by setting name. */
export const LOCAL_STACK_ENV = envNames<ReadBy<'local'>>('local');

/** `3600` → `1 hour`, `90` → `90 seconds`: the ranges in messages and docs. */
export function humanSeconds(seconds: number): string {
  const units: readonly [number, string][] = [
    [DAY, 'day'],
    [HOUR, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  const [size, unit] = units.find(([size]) => seconds % size === 0 && seconds >= size) ?? [1, 'second'];
  const n = seconds / size;
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
