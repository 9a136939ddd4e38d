/**
 * Every Switchboard setting, defined once: its environment variable, its `SwitchboardApi` prop,
 * its CDK context key, its default, its range and what it does. Everything else is derived from
 * this table: the handlers' environment schema (`adapters/config.ts`), the construct's prop checks
 * (`lib/switchboard-api-props.ts`), the context parsing (`bin/app.ts`), the environment the stack
 * gives each handler (`lib/handler-environment.ts`), the local stack's settings
 * (`local/local-stack.ts`, `local/local-env.ts`) and docs/configuration.md (`npm run docs:config`).
 * test/unit/settings-table.test.ts fails when one of them disagrees with it.
 *
 * The rows the handlers read are the table's first part, kept in `adapters/handler-settings.ts` so
 * that a handler bundles only those; `SETTINGS` here holds every row.
 *
 * Pure data, and no AWS SDK or CDK: the local stack and the docs read it too.
 */
import { DAY, HANDLER_SETTINGS, HOUR, type Setting, type SettingReader } from './handler-settings.js';

export { HANDLER_ENV, type Setting, type SettingKind, type SettingReader } from './handler-settings.js';

const ALL: readonly SettingReader[] = ['handlers'];
const ALL_AND_LOCAL: readonly SettingReader[] = ['handlers', 'local'];
const LOCAL: readonly SettingReader[] = ['local'];
const LOCAL_AND_CLI: readonly SettingReader[] = ['local', 'cli'];
const ALL_AND_CLI: readonly SettingReader[] = ['handlers', 'cli'];
const CLI: readonly SettingReader[] = ['cli'];

type HandlerRowName = keyof typeof HANDLER_SETTINGS;

/**
 * The rest of each row the handlers read (its variable, default and range are in
 * `adapters/handler-settings.ts`, which the handlers bundle): its kind, who reads it, its prop, its
 * context key and where its value comes from on AWS.
 */
const HANDLER_ROWS_REST = {
  tableName: { kind: 'string', readBy: ALL_AND_LOCAL, onAws: 'stack' },
  callbackUrl: { kind: 'url', readBy: ALL, onAws: 'stack' },
  fanoutQueueUrl: { kind: 'url', readBy: ALL, onAws: 'stack' },
  publishQueueUrl: { kind: 'url', readBy: ['publishQueue'], onAws: 'stack' },
  dynamodbEndpoint: { kind: 'url', readBy: ALL_AND_LOCAL, onAws: 'local only' },
  sqsEndpoint: { kind: 'url', readBy: ALL, onAws: 'local only' },
  authSecret: { kind: 'string', readBy: ALL_AND_CLI, onAws: 'local only' },
  authSecretArn: {
    kind: 'secretArn',
    readBy: ALL,
    prop: 'auth.secret',
    context: 'authSecretArn',
    onAws: 'stack',
  },
  authJwksUrl: { kind: 'url', readBy: ALL, prop: 'auth.jwksUrl', context: 'authJwksUrl' },
  authIssuer: { kind: 'string', readBy: ALL_AND_CLI, prop: 'auth.issuer', context: 'authIssuer' },
  authAudience: { kind: 'string', readBy: ALL_AND_CLI, prop: 'auth.audience', context: 'authAudience' },
  authMaxTokenLifetimeSeconds: {
    kind: 'seconds',
    readBy: ALL_AND_CLI,
    prop: 'auth.maxTokenLifetime',
    context: 'authMaxTokenLifetimeSeconds',
  },
  authShortTokenTtlSeconds: {
    kind: 'seconds',
    readBy: ALL,
    prop: 'auth.shortTokenLifetime',
    context: 'authShortTokenLifetimeSeconds',
  },
  allowedOrigins: { kind: 'list', readBy: ALL, prop: 'allowedOrigins', context: 'allowedOrigins' },
  allowAnonymous: { kind: 'boolean', readBy: ALL, prop: 'allowAnonymous', context: 'allowAnonymous' },
  channelPolicy: {
    kind: 'json',
    json: 'array',
    readBy: ALL,
    prop: 'channelPolicy',
    context: 'channelPolicy',
  },
  publishPolicy: {
    kind: 'json',
    json: 'array',
    readBy: ALL,
    prop: 'publishPolicy',
    context: 'publishPolicy',
  },
  presencePolicy: {
    kind: 'json',
    json: 'array',
    readBy: ALL,
    prop: 'presencePolicy',
    context: 'presencePolicy',
  },
  eventSources: { kind: 'list', readBy: ALL, prop: 'eventSources', context: 'eventSources' },
  sourceTenants: {
    kind: 'json',
    json: 'object',
    readBy: ALL,
    prop: 'sourceTenants',
    context: 'sourceTenants',
  },
  maxSubscriptions: { kind: 'integer', readBy: ALL, prop: 'maxSubscriptions', context: 'maxSubscriptions' },
  maxMessageBytes: { kind: 'integer', readBy: ALL, prop: 'maxMessageBytes', context: 'maxMessageBytes' },
  rateLimitBurst: { kind: 'integer', readBy: ALL, prop: 'rateLimit.burst', context: 'rateLimitBurst' },
  rateLimitPerSecond: {
    kind: 'integer',
    readBy: ALL,
    prop: 'rateLimit.perSecond',
    context: 'rateLimitPerSecond',
  },
  rateLimitCloseAfter: {
    kind: 'integer',
    readBy: ALL,
    prop: 'rateLimit.closeAfter',
    context: 'rateLimitCloseAfter',
  },
  historySeconds: { kind: 'seconds', readBy: ALL, prop: 'history.retention', context: 'historySeconds' },
  historyMaxEvents: { kind: 'integer', readBy: ALL, prop: 'history.maxEvents', context: 'historyMaxEvents' },
  idleTimeoutSeconds: { kind: 'integer', readBy: ALL_AND_LOCAL, onAws: 'fixed' },
  maxConnectionSeconds: { kind: 'integer', readBy: ALL_AND_LOCAL, onAws: 'fixed' },
  publishConcurrency: {
    kind: 'integer',
    readBy: ALL,
    prop: 'publishConcurrency',
    context: 'publishConcurrency',
  },
  fanoutThreshold: { kind: 'integer', readBy: ALL, prop: 'fanoutThreshold', context: 'fanoutThreshold' },
  callbacksPerSecond: {
    kind: 'integer',
    readBy: ALL,
    prop: 'callbacksPerSecond',
    context: 'callbacksPerSecond',
  },
  serviceName: { kind: 'string', readBy: ALL, prop: 'serviceName', context: 'serviceName' },
  metricsNamespace: { kind: 'string', readBy: ALL, onAws: 'fixed' },
  logLevel: { kind: 'string', readBy: ALL, onAws: 'local only' },
  metricsDisabled: { kind: 'boolean', readBy: ALL, onAws: 'local only' },
  powertoolsDev: { kind: 'boolean', readBy: ALL, onAws: 'local only' },
} as const satisfies Readonly<
  Record<HandlerRowName, Pick<Setting, 'kind' | 'json' | 'readBy' | 'prop' | 'context' | 'onAws'>>
>;

/** The rows the handlers read, whole. */
const HANDLER_ROWS = Object.fromEntries(
  Object.entries(HANDLER_SETTINGS).map(([name, row]) => [
    name,
    { ...row, ...HANDLER_ROWS_REST[name as HandlerRowName] },
  ]),
) as {
  readonly [K in HandlerRowName]: (typeof HANDLER_SETTINGS)[K] & (typeof HANDLER_ROWS_REST)[K];
};

export const SETTINGS = {
  // The rows the handlers read (`adapters/handler-settings.ts`), then the others.
  ...HANDLER_ROWS,

  // ---- Who may connect, subscribe and publish ------------------------------------------------
  tokenExchangeCorsOrigins: {
    kind: 'list',
    env: 'SWITCHBOARD_TOKEN_EXCHANGE_CORS_ORIGINS',
    prop: 'tokenExchangeCorsOrigins',
    context: 'tokenExchangeCorsOrigins',
    readBy: LOCAL,
  },

  // ---- Publishing and fan-out ----------------------------------------------------------------
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
    readBy: LOCAL_AND_CLI,
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
    readBy: LOCAL_AND_CLI,
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

  // ---- The commands of cli/ only -------------------------------------------------------------
  cliToken: {
    kind: 'string',
    env: 'SWITCHBOARD_TOKEN',
    readBy: CLI,
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

/** The variables the local stack itself reads, by setting name. */
export const LOCAL_STACK_ENV = envNames<ReadBy<'local'>>('local');

/** The variables the commands of `cli/` read, by setting name. */
export const CLI_ENV = envNames<ReadBy<'cli'>>('cli');

/** What a stage name may be (API Gateway's rule for a WebSocket stage), for the construct and the local stack. */
export const STAGE_NAME = {
  pattern: /^[A-Za-z0-9_-]{1,128}$/,
  requirement: '1-128 characters of [A-Za-z0-9_-]',
} as const;

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
