/**
 * `$connect`: admits or refuses the handshake (PROTOCOL §2) and registers the connection.
 * API Gateway turns a non-2xx answer into that HTTP status and opens no WebSocket.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { createVerifierFromConfig } from '../adapters/auth.js';
import { createDocumentClient } from '../adapters/aws-clients.js';
import type { Config } from '../adapters/config.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { createLogger, createMetrics, errorSummary, METRIC } from '../adapters/observability.js';
import { registerConnection } from '../core/connections.js';
import { admitHandshake, HandshakeRefusedError } from '../core/handshake.js';

/** `$connect` carries the handshake's headers and query string (only this route does). */
export type WebSocketConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  multiValueQueryStringParameters?: Record<string, string[] | undefined>;
};

const STATUS_TEXT = { 401: 'Unauthorized', 403: 'Forbidden' } as const;

/** API Gateway sends both forms; the multi-value one holds every copy of a repeated name. */
function allValues(
  multi: Record<string, string[] | undefined> | undefined,
  single: Record<string, string | undefined> | undefined,
): Record<string, string[] | undefined> {
  if (multi) return multi;
  return Object.fromEntries(
    Object.entries(single ?? {}).map(([k, v]) => [k, v === undefined ? undefined : [v]]),
  );
}

/** `env`: what the logger and metrics read (the Lambda runtime's variables by default). */
export async function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const logger = createLogger(env);
  const metrics = createMetrics(env);
  const store = new DynamoConnectionStore(createDocumentClient(config), config.tableName);
  const verifier = await createVerifierFromConfig(config.auth);
  const policy = {
    allowAnonymous: config.allowAnonymous,
    maxConnectionSeconds: config.maxConnectionSeconds,
    ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}),
  };

  return async (event: WebSocketConnectEvent): Promise<APIGatewayProxyResultV2> => {
    const { connectionId } = event.requestContext;
    try {
      const admitted = await admitHandshake(
        {
          connectionId,
          headers: allValues(event.multiValueHeaders, event.headers),
          multiValueQuery: allValues(event.multiValueQueryStringParameters, event.queryStringParameters),
        },
        policy,
        verifier,
      );
      await registerConnection(connectionId, admitted, store, config);
      metrics.addMetric(METRIC.connections, 'Count', 1);
      return {
        statusCode: 200,
        ...(admitted.subprotocol ? { headers: { 'Sec-WebSocket-Protocol': admitted.subprotocol } } : {}),
      };
    } catch (error) {
      if (error instanceof HandshakeRefusedError) {
        // Only the fixed reason word is logged: never the token, its claims or the verifier's error.
        logger.info('handshake refused', { status: error.statusCode, reason: error.reason });
        metrics.addMetric(METRIC.refusedHandshakes, 'Count', 1);
        return { statusCode: error.statusCode, body: STATUS_TEXT[error.statusCode] };
      }
      logger.error('connect failed', errorSummary(error));
      return { statusCode: 500, body: 'Internal server error' };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
