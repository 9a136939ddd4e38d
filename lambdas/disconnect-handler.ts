/** `$disconnect`: forgets the connection and all its subscriptions (best effort on AWS; the sweep backs it up). */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../adapters/aws-clients.js';
import type { Config } from '../adapters/config.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { createLogger, createMetrics, errorSummary, METRIC } from '../adapters/observability.js';
import { forgetConnection } from '../core/connections.js';

/** `env`: what the logger and metrics read (the Lambda runtime's variables by default). */
export function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const logger = createLogger(env);
  const metrics = createMetrics(env);
  // Keeps presence: the connection's last leave of each presence channel is announced.
  const { store } = createHandlerStores(config, createDocumentClient(config), logger);

  return async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
    try {
      await forgetConnection(event.requestContext.connectionId, store);
      metrics.addMetric(METRIC.disconnections, 'Count', 1);
      return { statusCode: 200 };
    } catch (error) {
      // The sweep removes what this could not; the failure is still worth an alarm.
      logger.error('disconnect cleanup failed', errorSummary(error));
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
