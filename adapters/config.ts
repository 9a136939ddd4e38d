/**
 * Configuration of every Switchboard function, read from the environment once, at init, and
 * validated with one clear message. The CDK stack sets these variables on AWS; the local stack
 * sets the same ones. `ENV` is the single list of names both sides use.
 */
import {
  type ChannelRule,
  channelRuleSchema,
  DEFAULT_CHANNEL_POLICY,
  DEFAULT_PRESENCE_POLICY,
  DEFAULT_PUBLISH_POLICY,
} from '../core/channel-policy.js';
import { CHANNEL_PATTERN, DEFAULT_MAX_MESSAGE_BYTES } from '../core/protocol.js';
import type { PublisherPolicy } from '../core/publishers.js';
import type { Settings } from '../core/settings.js';
import * as z from '../core/validation.js';

export const ENV = {
  tableName: 'SWITCHBOARD_TABLE_NAME',
  callbackUrl: 'SWITCHBOARD_CALLBACK_URL',
  dynamodbEndpoint: 'SWITCHBOARD_DYNAMODB_ENDPOINT',
  authSecret: 'SWITCHBOARD_AUTH_SECRET',
  authSecretArn: 'SWITCHBOARD_AUTH_SECRET_ARN',
  authJwksUrl: 'SWITCHBOARD_AUTH_JWKS_URL',
  authIssuer: 'SWITCHBOARD_AUTH_ISSUER',
  authAudience: 'SWITCHBOARD_AUTH_AUDIENCE',
  authMaxTokenLifetimeSeconds: 'SWITCHBOARD_AUTH_MAX_TOKEN_LIFETIME_SECONDS',
  authShortTokenTtlSeconds: 'SWITCHBOARD_AUTH_SHORT_TOKEN_TTL_SECONDS',
  allowedOrigins: 'SWITCHBOARD_ALLOWED_ORIGINS',
  allowAnonymous: 'SWITCHBOARD_ALLOW_ANONYMOUS',
  channelPolicy: 'SWITCHBOARD_CHANNEL_POLICY',
  maxSubscriptions: 'SWITCHBOARD_MAX_SUBSCRIPTIONS',
  maxMessageBytes: 'SWITCHBOARD_MAX_MESSAGE_BYTES',
  idleTimeoutSeconds: 'SWITCHBOARD_IDLE_TIMEOUT_SECONDS',
  maxConnectionSeconds: 'SWITCHBOARD_MAX_CONNECTION_SECONDS',
  publishConcurrency: 'SWITCHBOARD_PUBLISH_CONCURRENCY',
  historySeconds: 'SWITCHBOARD_HISTORY_SECONDS',
  historyMaxEvents: 'SWITCHBOARD_HISTORY_MAX_EVENTS',
  rateLimitBurst: 'SWITCHBOARD_RATE_LIMIT_BURST',
  rateLimitPerSecond: 'SWITCHBOARD_RATE_LIMIT_PER_SECOND',
  rateLimitCloseAfter: 'SWITCHBOARD_RATE_LIMIT_CLOSE_AFTER',
  fanoutThreshold: 'SWITCHBOARD_FANOUT_THRESHOLD',
  callbacksPerSecond: 'SWITCHBOARD_CALLBACKS_PER_SECOND',
  fanoutQueueUrl: 'SWITCHBOARD_FANOUT_QUEUE_URL',
  publishPolicy: 'SWITCHBOARD_PUBLISH_POLICY',
  /** JSON channel rules: where Switchboard tracks who is subscribed (PROTOCOL §8); `[]`: nowhere. */
  presencePolicy: 'SWITCHBOARD_PRESENCE_POLICY',
  publishQueueUrl: 'SWITCHBOARD_PUBLISH_QUEUE_URL',
  sqsEndpoint: 'SWITCHBOARD_SQS_ENDPOINT',
  /** Comma-separated `source`s the publish rule accepts (PROTOCOL §1); unset: any. */
  eventSources: 'SWITCHBOARD_EVENT_SOURCES',
  /** JSON `{"<source>": ["<tenant>", ...]}`: sources that may publish only to these tenants. */
  sourceTenants: 'SWITCHBOARD_SOURCE_TENANTS',
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const integer = (fallback: number, min: number, max: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), fallback);

const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
);

const csv = z.pipe(
  optionalString,
  z.transform((v) =>
    v === undefined
      ? undefined
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  ),
);

const schema = z
  .object({
    [ENV.tableName]: z.string().check(z.minLength(1)),
    [ENV.callbackUrl]: z.optional(z.url()),
    [ENV.dynamodbEndpoint]: z.optional(z.url()),
    [ENV.authSecret]: optionalString.check(
      z.refine((s) => s === undefined || Buffer.byteLength(s) >= 32, {
        message: 'must be at least 32 bytes (HS256 needs a key as long as its hash)',
      }),
    ),
    [ENV.authSecretArn]: optionalString,
    [ENV.authJwksUrl]: z.optional(z.url()),
    [ENV.authIssuer]: optionalString,
    [ENV.authAudience]: optionalString,
    [ENV.authMaxTokenLifetimeSeconds]: integer(24 * 3600, 60, 30 * 24 * 3600),
    [ENV.authShortTokenTtlSeconds]: integer(60, 5, 3600),
    [ENV.allowedOrigins]: csv,
    [ENV.allowAnonymous]: z._default(z.enum(['true', 'false']), 'false'),
    [ENV.channelPolicy]: optionalString,
    [ENV.publishPolicy]: optionalString,
    [ENV.presencePolicy]: optionalString,
    [ENV.publishQueueUrl]: z.optional(z.url()),
    [ENV.maxSubscriptions]: integer(100, 1, 10_000),
    [ENV.maxMessageBytes]: integer(DEFAULT_MAX_MESSAGE_BYTES, 256, 128 * 1024),
    [ENV.idleTimeoutSeconds]: integer(600, 1, 24 * 3600),
    [ENV.maxConnectionSeconds]: integer(7200, 1, 7 * 24 * 3600),
    [ENV.publishConcurrency]: integer(32, 1, 1000),
    [ENV.historySeconds]: integer(3600, 1, 7 * 24 * 3600),
    [ENV.historyMaxEvents]: integer(1000, 1, 100_000),
    [ENV.rateLimitBurst]: integer(20, 1, 10_000),
    [ENV.rateLimitPerSecond]: integer(10, 1, 10_000),
    [ENV.rateLimitCloseAfter]: integer(50, 1, 100_000),
    [ENV.fanoutThreshold]: integer(1000, 1, 100_000),
    [ENV.callbacksPerSecond]: integer(4000, 1, 1_000_000),
    [ENV.fanoutQueueUrl]: z.optional(z.url()),
    [ENV.sqsEndpoint]: z.optional(z.url()),
    [ENV.eventSources]: csv,
    [ENV.sourceTenants]: optionalString,
  })
  .check(
    z.refine((env) => env[ENV.authSecret] || env[ENV.authSecretArn] || env[ENV.authJwksUrl], {
      message: `set ${ENV.authSecret} (or ${ENV.authSecretArn}) and/or ${ENV.authJwksUrl}`,
    }),
  );

export interface AuthConfig {
  /** HS256 secret; when only an ARN is configured it is resolved at init (see `resolveAuthSecret`). */
  readonly secret?: string;
  readonly secretArn?: string;
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
  readonly maxTokenLifetimeSeconds: number;
  readonly shortTokenTtlSeconds: number;
}

/** Everything a function needs: where things are, auth, and core's behaviour `Settings`. */
export interface Config extends Settings {
  readonly tableName: string;
  readonly callbackUrl?: string;
  readonly dynamodbEndpoint?: string;
  /** The fan-out queue (big channels and broadcast); publish and the fan-out workers send to it. */
  readonly fanoutQueueUrl?: string;
  /** The publish queue; the message routes put client-published events on it. */
  readonly publishQueueUrl?: string;
  /** Locally: the SQS endpoint of the local stack. */
  readonly sqsEndpoint?: string;
  readonly auth: AuthConfig;
  readonly allowedOrigins?: readonly string[];
  readonly allowAnonymous: boolean;
  /** How long, and how many, of a channel's events stay replayable with `since`. */
  readonly history: { readonly seconds: number; readonly maxEvents: number };
}

/** A `source` as the props accept it: 1-256 characters, no spaces. */
const sourceSchema = z.string().check(z.regex(/^\S{1,256}$/, 'sources are 1-256 characters without spaces'));

export const sourceTenantsSchema = z.record(
  sourceSchema,
  z
    .array(z.string().check(z.regex(CHANNEL_PATTERN, 'tenants are 1-128 characters of [A-Za-z0-9_.:@-]')))
    .check(z.minLength(1, 'a bound source needs at least one tenant')),
);

function describe(error: z.core.$ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`).join('; ');
}

function parsePolicy(
  raw: string | undefined,
  name: string,
  fallback: readonly ChannelRule[],
  min = 1,
): readonly ChannelRule[] {
  if (raw === undefined) return fallback;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${name} is not valid JSON`);
  }
  const result = z.array(channelRuleSchema).check(z.minLength(min)).safeParse(json);
  if (!result.success) throw new ConfigError(`${name}: ${describe(result.error)}`);
  return result.data;
}

function parsePublishers(sources: string[] | undefined, raw: string | undefined): PublisherPolicy {
  const bad = sources?.find((source) => !sourceSchema.safeParse(source).success);
  if (bad !== undefined) throw new ConfigError(`${ENV.eventSources}: "${bad}" is not a valid source`);
  if (raw === undefined) return sources ? { sources } : {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${ENV.sourceTenants} is not valid JSON`);
  }
  const result = sourceTenantsSchema.safeParse(json);
  if (!result.success) throw new ConfigError(`${ENV.sourceTenants}: ${describe(result.error)}`);
  const unlisted = sources && Object.keys(result.data).find((source) => !sources.includes(source));
  if (unlisted) {
    throw new ConfigError(
      `${ENV.sourceTenants} binds "${unlisted}", which ${ENV.eventSources} does not accept`,
    );
  }
  return { ...(sources ? { sources } : {}), sourceTenants: result.data };
}

/** Reads and validates the configuration; throws one `ConfigError` naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success)
    throw new ConfigError(`Switchboard configuration is invalid: ${describe(result.error)}`);
  const e = result.data;
  const drop = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return drop({
    tableName: e[ENV.tableName],
    callbackUrl: e[ENV.callbackUrl],
    dynamodbEndpoint: e[ENV.dynamodbEndpoint],
    fanoutQueueUrl: e[ENV.fanoutQueueUrl],
    sqsEndpoint: e[ENV.sqsEndpoint],
    auth: drop({
      secret: e[ENV.authSecret],
      secretArn: e[ENV.authSecretArn],
      jwksUrl: e[ENV.authJwksUrl],
      issuer: e[ENV.authIssuer],
      audience: e[ENV.authAudience],
      maxTokenLifetimeSeconds: e[ENV.authMaxTokenLifetimeSeconds],
      shortTokenTtlSeconds: e[ENV.authShortTokenTtlSeconds],
    }),
    allowedOrigins: e[ENV.allowedOrigins],
    allowAnonymous: e[ENV.allowAnonymous] === 'true',
    channelPolicy: parsePolicy(e[ENV.channelPolicy], ENV.channelPolicy, DEFAULT_CHANNEL_POLICY),
    // An empty publish policy turns client publish off.
    publishPolicy: parsePolicy(e[ENV.publishPolicy], ENV.publishPolicy, DEFAULT_PUBLISH_POLICY, 0),
    // An empty presence policy turns presence off (joins, leaves and the `presence` action).
    presencePolicy: parsePolicy(e[ENV.presencePolicy], ENV.presencePolicy, DEFAULT_PRESENCE_POLICY, 0),
    publishQueueUrl: e[ENV.publishQueueUrl],
    maxSubscriptions: e[ENV.maxSubscriptions],
    maxMessageBytes: e[ENV.maxMessageBytes],
    idleTimeoutSeconds: e[ENV.idleTimeoutSeconds],
    maxConnectionSeconds: e[ENV.maxConnectionSeconds],
    publishConcurrency: e[ENV.publishConcurrency],
    history: { seconds: e[ENV.historySeconds], maxEvents: e[ENV.historyMaxEvents] },
    rateLimit: {
      burst: e[ENV.rateLimitBurst],
      perSecond: e[ENV.rateLimitPerSecond],
      closeAfter: e[ENV.rateLimitCloseAfter],
    },
    fanout: { threshold: e[ENV.fanoutThreshold], callbacksPerSecond: e[ENV.callbacksPerSecond] },
    publishers: parsePublishers(e[ENV.eventSources], e[ENV.sourceTenants]),
  }) as Config;
}
