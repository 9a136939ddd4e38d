/**
 * What the handlers that deliver to connections (the message routes, publish, the fan-out workers)
 * build at init, defined once: the configuration, the logger and metrics, and the table and
 * `@connections` adapters core's delivery needs (`DeliveryDeps` in core/ports.ts).
 */
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import { loadConfig } from '../adapters/config.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics } from '../adapters/observability.js';

export function deliveryWiring() {
  const config = loadConfig();
  const logger = createLogger();
  const db = createDocumentClient(config);
  return {
    config,
    logger,
    metrics: createMetrics(),
    db,
    deps: {
      store: new DynamoConnectionStore(db, config.tableName),
      history: new DynamoChannelHistory(db, config.tableName, config.history),
      gateway: new ManagementApiGateway(createManagementClient(config)),
      settings: config,
      log: logger,
    },
  };
}
