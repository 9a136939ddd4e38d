/**
 * What the handlers that deliver to connections (the message routes, publish, the fan-out workers)
 * build at init, defined once, from the configuration: the logger and metrics, and the table and
 * `@connections` adapters core's delivery needs (`DeliveryDeps` in core/ports.ts). The connection
 * store keeps presence (`createHandlerStores`): a connection a post finds gone (410) leaves its
 * presence channels, whichever of these handlers finds it. The message routes build their part of
 * the stores (`createClientHandlerStores`), so their bundle holds none of the rest.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import type { Config } from '../adapters/config.js';
import { DynamoChannelHistory } from '../adapters/dynamo-history.js';
import type { HandlerStores } from '../adapters/handler-stores.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics } from '../adapters/observability.js';
import type { ClientConnectionStore, Log } from '../core/ports.js';

/**
 * `createStores`: `createHandlerStores` or `createClientHandlerStores` (adapters/handler-stores.ts).
 * `env`: what the logger and metrics read (see `createLogger`).
 */
export function deliveryWiring<S extends ClientConnectionStore>(
  config: Config,
  createStores: (config: Config, db: DynamoDBDocumentClient, log: Log) => HandlerStores<S>,
  env?: NodeJS.ProcessEnv,
) {
  const logger = createLogger(env);
  const db = createDocumentClient(config);
  const stores = createStores(config, db, logger);
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
