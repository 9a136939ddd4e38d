/**
 * What the handlers that deliver to connections (the message routes, publish, the fan-out workers)
 * build at init, defined once, from the configuration: the logger and metrics, and the table and
 * `@connections` adapters core's delivery needs (`DeliveryDeps` in core/ports.ts). The connection
 * store keeps presence (`createHandlerStores`): a connection a post finds gone (410) leaves its
 * presence channels, whichever of these handlers finds it.
 */
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import type { Config } from '../adapters/config.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import { createHandlerStores } from '../adapters/handler-stores.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics } from '../adapters/observability.js';

/** `env`: what the logger and metrics read (see `createLogger`). */
export function deliveryWiring(config: Config, env?: NodeJS.ProcessEnv) {
  const logger = createLogger(env);
  const db = createDocumentClient(config);
  const stores = createHandlerStores(config, db, logger);
  return {
    logger,
    metrics: createMetrics(env),
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
