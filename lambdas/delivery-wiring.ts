/**
 * What the handlers that deliver to connections (the message routes, publish, the fan-out workers)
 * build at init, defined once: the configuration, the logger and metrics, and the table and
 * `@connections` adapters core's delivery needs (`DeliveryDeps` in core/ports.ts). The connection
 * store keeps presence (`createHandlerStores`): a connection a post finds gone (410) leaves its
 * presence channels, whichever of these handlers finds it.
 */
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import { loadConfig } from '../adapters/config.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics } from '../adapters/observability.js';

export function deliveryWiring() {
  const config = loadConfig();
  const logger = createLogger();
  const db = createDocumentClient(config);
  const stores = createHandlerStores(config, db, logger);
  return {
    config,
    logger,
    metrics: createMetrics(),
    db,
    /** The connection store, and the publish queue and presence store where configured. */
    stores,
    deps: {
      store: stores.store,
      history: new DynamoChannelHistory(db, config.tableName, config.history),
      gateway: new ManagementApiGateway(createManagementClient(config)),
      settings: config,
      log: logger,
    },
  };
}
