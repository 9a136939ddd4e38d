/**
 * The one place that builds AWS SDK clients. Endpoints come from configuration: unset on AWS
 * (the SDK's defaults), pointed at the local stack by `npm start`, which also gives the region and
 * credentials (`Config.aws`) instead of setting them in `process.env`. Handlers never branch on
 * where they run.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { POST_REQUEST_TIMEOUT_MS } from '../core/delivery.js';
import type { Config } from './config.js';
import { ConfigError, ENV } from './config.js';

export function createDocumentClient(
  config: Pick<Config, 'dynamodbEndpoint' | 'aws'>,
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...config.aws,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
    // A DynamoDB call that hangs fails after 10 s and is retried by the SDK (3 attempts), instead
    // of holding the handler until its Lambda timeout. Every write is idempotent or conditional,
    // so retrying one that did land changes nothing or is refused and handled.
    requestHandler: { requestTimeout: 10_000, throwOnRequestTimeout: true },
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

/** The `@connections` client for the stage's callback URL (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
export function createManagementClient(
  config: Pick<Config, 'callbackUrl' | 'aws'>,
): ApiGatewayManagementApiClient {
  if (!config.callbackUrl) throw new ConfigError(`${ENV.callbackUrl} is required by this function`);
  return new ApiGatewayManagementApiClient({
    ...config.aws,
    endpoint: config.callbackUrl,
    // Core retries throttled and failed posts itself (core/delivery.ts), adapting its concurrency.
    maxAttempts: 1,
    // A hung post must not eat the invocation: it fails and is retried like a 5xx. No
    // connectionTimeout: the SDK's timer also runs while a request waits for a pooled socket, so
    // under load it fails healthy posts that were merely queued.
    requestHandler: { requestTimeout: POST_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
}

/** The SQS client for the fan-out queue (the local stack serves SQS on its own port). */
export function createQueueClient(config: Pick<Config, 'sqsEndpoint' | 'aws'>): SQSClient {
  return new SQSClient({
    ...config.aws,
    ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}),
    requestHandler: { requestTimeout: 10_000, throwOnRequestTimeout: true },
  });
}
