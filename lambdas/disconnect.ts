/** `$disconnect`: forgets the connection and all its subscriptions (best effort on AWS; the sweep backs it up). */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../adapters/aws-clients.js';
import { loadConfig } from '../adapters/config.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { createLogger, createMetrics, errorSummary, METRIC } from '../adapters/observability.js';
import { forgetConnection } from '../core/connections.js';

const config = loadConfig();
const logger = createLogger();
const metrics = createMetrics();
const store = new DynamoConnectionStore(createDocumentClient(config), config.tableName);

export const handler = async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
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
