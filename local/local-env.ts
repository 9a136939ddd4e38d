/**
 * The one place that knows the handlers run locally: it points the same configuration variables
 * the CDK stack sets on AWS at the local services. Handlers never branch on where they run; they
 * read these variables once, at import, which is why this is applied before they are imported.
 */
import { ENV } from '../adapters/config.js';
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

/**
 * The variables to set for the handlers, given the current environment. The endpoints are always
 * ours; everything else keeps a value the user set.
 */
export function localEnvironment(env: NodeJS.ProcessEnv, endpoints: LocalEndpoints): Record<string, string> {
  const keep = (name: string, fallback: () => string) => {
    const value = env[name];
    return value !== undefined && value.trim() !== '' ? value : fallback();
  };
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
    AWS_REGION: keep('AWS_REGION', () => 'local'),
    AWS_ACCESS_KEY_ID: keep('AWS_ACCESS_KEY_ID', () => LOCAL_CREDENTIALS.accessKeyId),
    AWS_SECRET_ACCESS_KEY: keep('AWS_SECRET_ACCESS_KEY', () => LOCAL_CREDENTIALS.secretAccessKey),
    [ENV.serviceName]: SETTINGS.serviceName.default,
    [ENV.metricsNamespace]: SETTINGS.metricsNamespace.default,
    // Handlers log at INFO on AWS; locally that would drown the terminal in one line per message.
    [ENV.logLevel]: keep(ENV.logLevel, () => 'WARN'),
    // Metrics are EMF lines on stdout, for CloudWatch; locally nothing reads them.
    [ENV.metricsDisabled]: keep(ENV.metricsDisabled, () => 'true'),
  };
}

/** Applies `localEnvironment` to `env` (by default `process.env`) and returns what it set. */
export function applyLocalEnvironment(
  endpoints: LocalEndpoints,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const values = localEnvironment(env, endpoints);
  Object.assign(env, values);
  return values;
}
