/**
 * Configuration of every Switchboard function, read from the environment once, at init, and
 * validated with one clear message. The CDK stack sets these variables on AWS; the local stack
 * sets the same ones. Names, defaults and ranges are the rows of `adapters/settings-table.ts`.
 */
import {
  type ChannelRule,
  channelRuleSchema,
  DEFAULT_CHANNEL_POLICY,
  DEFAULT_PRESENCE_POLICY,
  DEFAULT_PUBLISH_POLICY,
} from '../core/channel-policy.js';
import { CHANNEL_PATTERN } from '../core/protocol.js';
import { EVENT_SOURCE_PATTERN, type PublisherPolicy } from '../core/publishers.js';
import type { Settings } from '../core/settings.js';
import * as z from '../core/validation.js';
import { HANDLER_ENV, HANDLER_SETTINGS as SETTINGS } from './handler-settings.js';

/** The variables the handlers read, by setting name (rows of `adapters/settings-table.ts`). */
export const ENV = HANDLER_ENV;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A whole number in the row's range, its default when unset. */
const integer = (row: { readonly default: number; readonly min: number; readonly max: number }) =>
  z._default(z.coercedNumber().check(z.int(), z.minimum(row.min), z.maximum(row.max)), row.default);

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
    [ENV.authMaxTokenLifetimeSeconds]: integer(SETTINGS.authMaxTokenLifetimeSeconds),
    [ENV.authShortTokenTtlSeconds]: integer(SETTINGS.authShortTokenTtlSeconds),
    [ENV.allowedOrigins]: csv,
    [ENV.allowAnonymous]: z._default(
      z.enum(['true', 'false']),
      SETTINGS.allowAnonymous.default ? 'true' : 'false',
    ),
    [ENV.channelPolicy]: optionalString,
    [ENV.publishPolicy]: optionalString,
    [ENV.presencePolicy]: optionalString,
    [ENV.publishQueueUrl]: z.optional(z.url()),
    [ENV.maxSubscriptions]: integer(SETTINGS.maxSubscriptions),
    [ENV.maxMessageBytes]: integer(SETTINGS.maxMessageBytes),
    [ENV.idleTimeoutSeconds]: integer(SETTINGS.idleTimeoutSeconds),
    [ENV.maxConnectionSeconds]: integer(SETTINGS.maxConnectionSeconds),
    [ENV.publishConcurrency]: integer(SETTINGS.publishConcurrency),
    [ENV.historySeconds]: integer(SETTINGS.historySeconds),
    [ENV.historyMaxEvents]: integer(SETTINGS.historyMaxEvents),
    [ENV.rateLimitBurst]: integer(SETTINGS.rateLimitBurst),
    [ENV.rateLimitPerSecond]: integer(SETTINGS.rateLimitPerSecond),
    [ENV.rateLimitCloseAfter]: integer(SETTINGS.rateLimitCloseAfter),
    [ENV.fanoutThreshold]: integer(SETTINGS.fanoutThreshold),
    [ENV.callbacksPerSecond]: integer(SETTINGS.callbacksPerSecond),
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

export interface AwsClientConfig {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
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
  /**
   * The SDK clients' region and credentials, given by the local stack (`local/local-env.ts`), so
   * that two local stacks can run in one process without writing them into `process.env`. Unset on
   * AWS, and never read from the environment here: there the SDK finds the function's own.
   */
  readonly aws?: AwsClientConfig;
  readonly allowedOrigins?: readonly string[];
  readonly allowAnonymous: boolean;
  /** How long, and how many, of a channel's events stay replayable with `since`. */
  readonly history: { readonly seconds: number; readonly maxEvents: number };
}

/** A `source` as the props accept it: 1-256 characters, no spaces. */
const sourceSchema = z
  .string()
  .check(z.regex(EVENT_SOURCE_PATTERN, 'sources are 1-256 characters without spaces'));

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
