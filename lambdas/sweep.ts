/** Scheduled sweep: closes connections whose token expired and forgets silent ones (see `core/sweep.ts`). */
import { createDocumentClient, createManagementClient } from '../adapters/aws-clients.js';
import { loadConfig } from '../adapters/config.js';
import { DynamoConnectionStore } from '../adapters/dynamo-store.js';
import { ManagementApiGateway } from '../adapters/management-gateway.js';
import { createLogger, createMetrics, METRIC } from '../adapters/observability.js';
import { sweep } from '../core/sweep.js';

const config = loadConfig();
const logger = createLogger();
const metrics = createMetrics();
const deps = {
  store: new DynamoConnectionStore(createDocumentClient(config), config.tableName),
  gateway: new ManagementApiGateway(createManagementClient(config)),
  settings: config,
  log: logger,
};

export const handler = async (): Promise<void> => {
  const report = await sweep(deps);
  metrics.addMetric(METRIC.sweptConnections, 'Count', report.closedExpired + report.removedSilent);
  metrics.publishStoredMetrics();
  if (report.examined > 0) logger.info('sweep done', { ...report });
};
