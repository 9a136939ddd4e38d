/**
 * The rows of the settings table (`adapters/settings-table.ts`) that the handlers read at run time,
 * as much of them as a handler needs: in a file of their own so that a handler bundles only these.
 * The other rows (the stack's resources, the WebSocket API, the local stack) and these rows' props
 * and context keys are of no use to a handler, and every byte of a handler's bundle counts against
 * its budget (`BUNDLE_BUDGET` in lib/bundling.ts; the message routes are close to it). `SETTINGS`
 * there holds every row whole, these included: read the table there.
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
  | 'local'
  /** the commands of `cli/` (`npm run token`, `publish`, `listen`, `redrive`) */
  | 'cli';

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

export const HOUR = 3600;
export const DAY = 24 * HOUR;

/**
 * The rows the handlers read (`readBy` `handlers` or `publishQueue`), with what a handler needs of
 * them: the variable, its default and range. The rest of each row (its kind, readers, prop,
 * context key and `onAws`: what the stack, the local stack and the docs need) is beside it in
 * `adapters/settings-table.ts`, `HANDLER_ROWS_REST`.
 */
export const HANDLER_SETTINGS = {
  // ---- Where things are: set by the stack (or the local stack) -------------------------------
  tableName: {
    env: 'SWITCHBOARD_TABLE_NAME',
    default: 'switchboard',
  },
  callbackUrl: {
    env: 'SWITCHBOARD_CALLBACK_URL',
  },
  fanoutQueueUrl: {
    env: 'SWITCHBOARD_FANOUT_QUEUE_URL',
  },
  publishQueueUrl: {
    env: 'SWITCHBOARD_PUBLISH_QUEUE_URL',
  },
  dynamodbEndpoint: {
    env: 'SWITCHBOARD_DYNAMODB_ENDPOINT',
  },
  sqsEndpoint: {
    env: 'SWITCHBOARD_SQS_ENDPOINT',
  },

  // ---- Tokens --------------------------------------------------------------------------------
  authSecret: {
    env: 'SWITCHBOARD_AUTH_SECRET',
  },
  authSecretArn: {
    env: 'SWITCHBOARD_AUTH_SECRET_ARN',
  },
  authJwksUrl: {
    env: 'SWITCHBOARD_AUTH_JWKS_URL',
  },
  authIssuer: {
    env: 'SWITCHBOARD_AUTH_ISSUER',
  },
  authAudience: {
    env: 'SWITCHBOARD_AUTH_AUDIENCE',
  },
  authMaxTokenLifetimeSeconds: {
    env: 'SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS',
    default: DAY,
    min: 60,
    max: 30 * DAY,
  },
  authShortTokenTtlSeconds: {
    env: 'SWITCHBOARD_AUTH_SHORT_TOKEN_TTL_SECONDS',
    default: 60,
    min: 5,
    max: HOUR,
  },

  // ---- Who may connect, subscribe and publish ------------------------------------------------
  allowedOrigins: {
    env: 'SWITCHBOARD_ALLOWED_ORIGINS',
  },
  allowAnonymous: {
    env: 'SWITCHBOARD_ALLOW_ANONYMOUS',
    default: false,
  },
  channelPolicy: {
    env: 'SWITCHBOARD_CHANNEL_POLICY',
  },
  publishPolicy: {
    env: 'SWITCHBOARD_PUBLISH_POLICY',
  },
  presencePolicy: {
    env: 'SWITCHBOARD_PRESENCE_POLICY',
  },
  eventSources: {
    env: 'SWITCHBOARD_EVENT_SOURCES',
  },
  sourceTenants: {
    env: 'SWITCHBOARD_SOURCE_TENANTS',
  },

  // ---- Limits --------------------------------------------------------------------------------
  maxSubscriptions: {
    env: 'SWITCHBOARD_MAX_SUBSCRIPTIONS',
    default: 100,
    min: 1,
    max: 10_000,
  },
  maxMessageBytes: {
    env: 'SWITCHBOARD_MAX_MESSAGE_BYTES',
    // DEFAULT_MAX_MESSAGE_BYTES in core/protocol.ts (a test checks they agree).
    default: 32_768,
    min: 256,
    max: 128 * 1024,
  },
  rateLimitBurst: {
    env: 'SWITCHBOARD_RATE_LIMIT_BURST',
    default: 20,
    min: 1,
    max: 10_000,
  },
  rateLimitPerSecond: {
    env: 'SWITCHBOARD_RATE_LIMIT_PER_SECOND',
    default: 10,
    min: 1,
    max: 10_000,
  },
  rateLimitCloseAfter: {
    env: 'SWITCHBOARD_RATE_LIMIT_CLOSE_AFTER',
    default: 50,
    min: 1,
    max: 100_000,
  },
  historySeconds: {
    env: 'SWITCHBOARD_HISTORY_SECONDS',
    default: HOUR,
    min: 1,
    max: 7 * DAY,
  },
  historyMaxEvents: {
    env: 'SWITCHBOARD_HISTORY_MAX_EVENTS',
    default: 1000,
    min: 1,
    max: 100_000,
  },
  idleTimeoutSeconds: {
    env: 'SWITCHBOARD_IDLE_TIMEOUT_SECONDS',
    default: 600,
    min: 1,
    max: DAY,
  },
  maxConnectionSeconds: {
    env: 'SWITCHBOARD_MAX_CONNECTION_SECONDS',
    default: 7200,
    min: 1,
    max: 7 * DAY,
  },

  // ---- Publishing and fan-out ----------------------------------------------------------------
  publishConcurrency: {
    env: 'SWITCHBOARD_PUBLISH_CONCURRENCY',
    default: 32,
    min: 1,
    max: 1000,
  },
  fanoutThreshold: {
    env: 'SWITCHBOARD_FANOUT_THRESHOLD',
    default: 1000,
    min: 1,
    max: 100_000,
  },
  callbacksPerSecond: {
    env: 'SWITCHBOARD_CALLBACKS_PER_SECOND',
    default: 4000,
    min: 1,
    max: 1_000_000,
  },

  // ---- Operations ----------------------------------------------------------------------------
  serviceName: {
    env: 'POWERTOOLS_SERVICE_NAME',
    default: 'switchboard',
  },
  metricsNamespace: {
    env: 'POWERTOOLS_METRICS_NAMESPACE',
    default: 'Switchboard',
  },
  logLevel: {
    env: 'POWERTOOLS_LOG_LEVEL',
  },
  metricsDisabled: {
    env: 'POWERTOOLS_METRICS_DISABLED',
  },
  powertoolsDev: {
    env: 'POWERTOOLS_DEV',
    default: false,
  },
} as const satisfies Readonly<Record<string, Pick<Setting, 'env' | 'default' | 'min' | 'max'>>>;

type HandlerSettingName = keyof typeof HANDLER_SETTINGS;

/** The variables the handlers read, by setting name. */
export const HANDLER_ENV = Object.fromEntries(
  Object.entries(HANDLER_SETTINGS).map(([name, row]) => [name, row.env]),
) as { readonly [K in HandlerSettingName]: (typeof HANDLER_SETTINGS)[K]['env'] };
