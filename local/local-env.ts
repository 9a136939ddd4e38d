/**
 * The one place that knows the handlers run locally: it points the same configuration variables
 * the CDK stack sets on AWS at the local services, and builds from them the configuration each
 * handler's `createHandler` takes (`localHandlerConfig`). Handlers never branch on where they run,
 * and nothing here writes `process.env`: two local stacks with different settings can share one
 * process, each with its own handlers.
 */
import { type AwsClientConfig, type Config, ENV, loadConfig } from '../adapters/config.js';
import { SETTINGS } from '../adapters/settings-table.js';
import { localAuthSecret } from './local-secret.js';

export interface LocalEndpoints {
  /** The local WebSocket API's callback URL, `http://127.0.0.1:{port}/{stage}`. */
  readonly callbackUrl: string;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  /** The local stack's SQS endpoint, and the fan-out queue's URL there. */
  readonly sqsEndpoint: string;
  readonly fanoutQueueUrl: string;
  readonly publishQueueUrl: string;
  /** The gateway's limits, so that the handlers' liveness bookkeeping agrees with it. */
  readonly idleTimeoutSeconds: number;
  readonly maxConnectionSeconds: number;
}

/** Dummy credentials: DynamoDB Local and the local endpoints accept any signature. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** `env[name]` when set (not blank), else the fallback. */
const keeper = (env: NodeJS.ProcessEnv) => (name: string, fallback: () => string) => {
  const value = env[name];
  return value !== undefined && value.trim() !== '' ? value : fallback();
};

/**
 * The region and credentials the local SDK clients use (the handlers', the console's, DynamoDB
 * Local's): what the user set in `env`, else `local` and the dummy credentials.
 */
export function localAws(env: NodeJS.ProcessEnv): AwsClientConfig {
  const keep = keeper(env);
  return {
    region: keep('AWS_REGION', () => 'local'),
    credentials: {
      accessKeyId: keep('AWS_ACCESS_KEY_ID', () => LOCAL_CREDENTIALS.accessKeyId),
      secretAccessKey: keep('AWS_SECRET_ACCESS_KEY', () => LOCAL_CREDENTIALS.secretAccessKey),
    },
  };
}

/**
 * The variables the handlers see locally, given the stack's environment. The endpoints are always
 * ours; everything else keeps a value the user set.
 */
export function localEnvironment(env: NodeJS.ProcessEnv, endpoints: LocalEndpoints): Record<string, string> {
  const keep = keeper(env);
  const aws = localAws(env);
  return {
    [ENV.tableName]: endpoints.tableName,
    [ENV.callbackUrl]: endpoints.callbackUrl,
    [ENV.dynamodbEndpoint]: endpoints.dynamodbEndpoint,
    [ENV.sqsEndpoint]: endpoints.sqsEndpoint,
    [ENV.fanoutQueueUrl]: endpoints.fanoutQueueUrl,
    [ENV.publishQueueUrl]: endpoints.publishQueueUrl,
    [ENV.idleTimeoutSeconds]: String(endpoints.idleTimeoutSeconds),
    [ENV.maxConnectionSeconds]: String(endpoints.maxConnectionSeconds),
    // A JWKS URL alone is a valid configuration; otherwise the kept local secret.
    ...(env[ENV.authJwksUrl] && !env[ENV.authSecret] ? {} : { [ENV.authSecret]: localAuthSecret(env) }),
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    [ENV.serviceName]: keep(ENV.serviceName, () => SETTINGS.serviceName.default),
    [ENV.metricsNamespace]: keep(ENV.metricsNamespace, () => SETTINGS.metricsNamespace.default),
    // Handlers log at INFO on AWS; locally that would drown the terminal in one line per message.
    [ENV.logLevel]: keep(ENV.logLevel, () => 'WARN'),
    // Metrics are EMF lines on stdout, for CloudWatch; locally nothing reads them.
    [ENV.metricsDisabled]: keep(ENV.metricsDisabled, () => 'true'),
  };
}

/** What each handler is built from locally: `createHandler(config, env)`. */
export interface LocalHandlerConfig {
  /** `loadConfig` of `env`, with the local region and credentials for the SDK clients. */
  readonly config: Config;
  /** The stack's environment with `localEnvironment` over it: what the logger and metrics read. */
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

/**
 * The handlers' configuration, read from `env` (the stack's environment, `process.env` unless a
 * test gives its own) with the local endpoints over it, exactly as a function on AWS reads the
 * variables the CDK stack sets; `env` itself is left as it was. Throws `ConfigError` on a bad one.
 */
export function localHandlerConfig(env: NodeJS.ProcessEnv, endpoints: LocalEndpoints): LocalHandlerConfig {
  const handlerEnv = { ...env, ...localEnvironment(env, endpoints) };
  return { config: { ...loadConfig(handlerEnv), aws: localAws(env) }, env: handlerEnv };
}
